"""``python -m interp_core bench``: the figures the README quotes, measured in one run.

- server start to Home rendered in headless Chromium, and each page's first render
- training time of each recipe (PCA map only, so UMAP is timed on its own)
- UMAP: a fresh process with an empty numba cache, a fresh process with numba's disk cache,
  a second call in the same process, and reading the map stored with an artifact
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

_UMAP_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
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
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "tools" / "bench_app.py").is_file():
        return {"skipped": "the app's browser benchmark (tools/bench_app.py) is only in a checkout of the repository"}
    out = subprocess.run([sys.executable, "-m", "tools.bench_app", str(store_root)], cwd=repo, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        lines = (out.stderr.strip().splitlines() or ["no output"])
        return {"skipped": f"the browser benchmark failed: {lines[-1][:200]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


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
