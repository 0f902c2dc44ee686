"""``python -m interp_core bench``: the figures the README quotes, measured in one run.

- server start to Home rendered in headless Chromium, and each page's first render
- training time of each recipe (PCA map only, so UMAP is timed on its own)
- UMAP: a fresh process with an empty numba cache, a fresh process with numba's disk cache,
  a second call in the same process, and reading the map stored with an artifact

``bench ui``: each page's first and second visit and a set of clicks per page in headless Chromium,
beside a bare Streamlit page with one Plotly chart measured in the same run (the floor); both are
timed by ``python -m tools.bench_app ui`` in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from interp_core.errors import BenchError

_UMAP_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np

from interp_core.errors import BenchError
from interp_core.projection import umap_2d
X = np.load(sys.argv[1])
t1 = time.perf_counter()
umap_2d(X)
t2 = time.perf_counter()
umap_2d(X)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}))
"""


def _umap_in_fresh_process(X: np.ndarray, numba_cache: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "X.npy"
        np.save(path, X)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache)}
        out = subprocess.run([sys.executable, "-c", _UMAP_CHILD, str(path)], capture_output=True, text=True, env=env, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def bench_umap(store_root: Path, device: str) -> dict:
    from interp_core import recipes
    from interp_core.projection import cached_projection
    from interp_core.store import Store

    store = Store(store_root)
    trained = recipes.train("digits-mlp", store=store, device=device, umap=False)
    X = trained.embed(trained.dataset.X_test)
    with tempfile.TemporaryDirectory() as numba_cache:
        cold = _umap_in_fresh_process(X, Path(numba_cache))
        warm = _umap_in_fresh_process(X, Path(numba_cache))
    _, artifact = cached_projection(store, trained.artifact, "bench", X, "umap")
    start = time.perf_counter()
    cached_projection(store, store.open(artifact.name), "bench", X, "umap")
    stored = time.perf_counter() - start
    cold_total = cold["import_s"] + cold["first_s"]
    return {
        "points": int(len(X)),
        "cold_process_s": round(cold_total, 3),
        "numba_disk_cache_process_s": round(warm["import_s"] + warm["first_s"], 3),
        "same_process_second_call_s": round(cold["second_s"], 3),
        "stored_map_read_s": round(stored, 4),
        "cold_over_stored": round(cold_total / max(stored, 1e-6), 1),
    }


def bench_training(store_root: Path, device: str, names: list[str]) -> dict:
    from interp_core import recipes
    from interp_core.store import Store

    rows = {}
    for name in names:
        start = time.perf_counter()
        trained = recipes.train(name, store=Store(store_root), device=device, umap=False)
        rows[name] = {"seconds": round(time.perf_counter() - start, 3), "epochs_run": trained.metrics["epochs_run"], "test_accuracy": trained.metrics["test_accuracy"]}
    return rows


def bench_browser(store_root: Path) -> dict:
    """Server start and page renders in headless Chromium, timed by ``python -m tools.bench_app`` in its own
    process: the engine never imports the app, it starts it (the tools package sits beside interp_core in the repo)."""
    try:
        return _run_bench_app([str(store_root)])
    except BenchError as exc:
        return {"skipped": str(exc)}


def _run_bench_app(argv: list[str], bar=None) -> dict:
    """Run ``python -m tools.bench_app ARGV`` from the checkout and return the JSON of its last stdout line;
    its ``progress DONE TOTAL LABEL`` lines on stderr move ``bar`` (a tqdm bar). Raises BenchError."""
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "tools" / "bench_app.py").is_file():
        raise BenchError("The app's browser benchmark (tools/bench_app.py) is only in a checkout of the repository; run it from there.")
    tail: list[str] = []
    with tempfile.TemporaryFile("w+") as stdout:
        process = subprocess.Popen([sys.executable, "-m", "tools.bench_app", *argv], cwd=repo, stdout=stdout, stderr=subprocess.PIPE, text=True)
        for line in process.stderr:
            parts = line.split(maxsplit=3)
            if bar is not None and len(parts) >= 3 and parts[0] == "progress" and parts[1].isdigit() and parts[2].isdigit():
                bar.total = int(parts[2])
                bar.set_postfix_str(parts[3].strip() if len(parts) > 3 else "", refresh=False)
                bar.update(int(parts[1]) - bar.n)
            elif line.startswith("bench ui:"):  # a measurement that could not be made: said, not fatal
                (bar.write if bar is not None else print)(line.rstrip(), file=sys.stderr)
            elif line.strip():
                tail = (tail + [line.strip()])[-20:]
        process.wait()
        stdout.seek(0)
        lines = stdout.read().strip().splitlines()
    if process.returncode != 0 or not lines:
        raise BenchError(f"The browser benchmark failed: {(tail or ['no output'])[-1][:200]}")
    result = json.loads(lines[-1])
    if "skipped" in result:
        raise BenchError(f"The browser benchmark cannot run here: {result['skipped']}.")
    return result


def run_ui(args) -> dict:
    """``bench ui``: pages and clicks against the floor (``--quick``: the floor and Home only)."""
    from tqdm import tqdm

    with tempfile.TemporaryDirectory(prefix="interp-bench-ui-") as tmp:
        with tqdm(total=1, desc="bench ui", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
            result = _run_bench_app(["ui", str(Path(tmp) / "store"), *(["--quick"] if args.quick else [])], bar)
    if not args.json:
        print_ui(result)
    return result


def _times(seconds: float | None, floor: float | None) -> str:
    if seconds is None:
        return "no rerun"
    return f"{seconds:.2f} s ({seconds / floor:.1f}x)" if floor else f"{seconds:.2f} s"


def print_ui(result: dict) -> None:
    """The table of ``bench ui``: seconds and the ratio to the floor (a visit to the floor's visit, a click
    to the floor's click on its number box), with a * where a goal is missed."""
    floor = result["floor"]
    goals = result["goals"]
    load = " / ".join(f"{x:.1f}" for x in result["load_avg"])
    print(f"bench ui: {result['cpu_count']} CPU cores, load average {load} (1, 5, 15 min) at the end")
    print(f"server start to healthy {result['server_healthy_s']:.2f} s, to the first page rendered {result['start_to_first_page_s']:.2f} s"
          f"{' *' if result['start_to_first_page_s'] > goals['start_to_first_page_s'] else ''} (goal {goals['start_to_first_page_s']:g} s)")
    print(f"floor: a bare Streamlit page with one Plotly chart: first visit {floor['first_s']:.2f} s, second visit {result['floor_s']:.2f} s, "
          + ", ".join(f"{name} {_times(s, None)}" for name, s in floor["clicks"].items()))
    print(f"goals: second visit <= {goals['second_visit_s']:g} s, a click <= {goals['click_s']:g} s (* missed); (Nx) = times the floor\n")
    print(f"{'page':<16} {'first visit':>18} {'second visit':>18}  clicks")
    for name, row in result["pages"].items():
        second = _times(row["second_s"], result["floor_s"]) + ("*" if row["second_s"] > goals["second_visit_s"] else " ")
        clicks = ", ".join(f"{click} {_times(s, result['floor_click_s'])}{'*' if s is None or s > goals['click_s'] else ''}" for click, s in row["clicks"].items())
        broken = f"  ({row['exceptions']} exception boxes on the page)" if row.get("exceptions") else ""
        server = f"  [server's script run {row['script_s']:.2f} s, {row['charts']} charts]" if "script_s" in row else ""
        print(f"{name:<16} {_times(row['first_s'], floor['first_s']):>18} {second:>19} {clicks}{broken}{server}")


def run(args) -> dict:
    from interp_core import recipes
    from interp_core.device import device_name, resolve_device

    device = resolve_device(args.device)
    names = [r.name for r in recipes.list_recipes()]
    if args.quick:
        names = names[:2]
    result = {"device": device_name(device), "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"bench: training {len(names)} recipes on {result['device']}...", file=sys.stderr)
        result["training"] = bench_training(root / "train", str(device), names)
        print("bench: UMAP cold / numba cache / stored...", file=sys.stderr)
        result["umap"] = bench_umap(root / "umap", str(device))
        if args.quick or args.no_browser:
            result["browser"] = None
        else:
            print("bench: server start and page renders in headless Chromium...", file=sys.stderr)
            result["browser"] = bench_browser(root / "browser")
    if not args.json:
        _print(result)
    return result


def _print(result: dict) -> None:
    print(f"device: {result['device']} ({result['cpu_count']} CPU cores)")
    print("\ntraining (PCA map only)")
    for name, row in result["training"].items():
        print(f"  {name:<22} {row['seconds']:>7.2f} s  {row['epochs_run']:>4} epochs  test accuracy {row['test_accuracy']:.3f}")
    u = result["umap"]
    print(f"\nUMAP of {u['points']} points")
    print(f"  fresh process, empty numba cache   {u['cold_process_s']:>8.2f} s")
    print(f"  fresh process, numba disk cache    {u['numba_disk_cache_process_s']:>8.2f} s")
    print(f"  same process, second call          {u['same_process_second_call_s']:>8.2f} s")
    print(f"  map stored with the artifact       {u['stored_map_read_s']:>8.4f} s  ({u['cold_over_stored']}x faster than cold)")
    b = result.get("browser")
    if b and "skipped" not in b:
        print("\nbrowser (headless Chromium)")
        print(f"  server start to healthy            {b['server_healthy_s']:>8.2f} s")
        print(f"  server start to Home rendered      {b['start_to_home_rendered_s']:>8.2f} s")
        for page, seconds in b["page_first_render_s"].items():
            print(f"  {page + ' rendered':<34} {seconds:>8.2f} s")
    elif b:
        print(f"\nbrowser: skipped ({b['skipped']})")
