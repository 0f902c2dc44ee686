"""``python -m interp_core``: exit codes, one-sentence errors, and the --json last line (interp_core.cli)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interp_core import cli
from interp_core import family as family_registry
from interp_core.recipes import list_recipes
from interp_core.store import Store
from tests.artifacts import setting, tampered

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli(tmp_path):
    """Run the CLI in a fresh interpreter against a temporary INTERP_STORE; returns (CompletedProcess, store root)."""
    store_root = tmp_path / "cli-store"
    env = {**os.environ, "INTERP_STORE": str(store_root), "PYTHONPATH": str(REPO_ROOT)}

    def run(*args: str, timeout: float = 120):
        return subprocess.run([sys.executable, "-m", "interp_core", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    run.store_root = store_root
    return run


def write_csv(path: Path, n: int = 60, nan: bool = False) -> Path:
    rng = np.random.default_rng(0)
    label = np.arange(n) % 2
    frame = pd.DataFrame({"x1": rng.normal(size=n) + 3 * label, "x2": rng.normal(size=n), "label": label})
    if nan:
        frame.loc[5, "x2"] = np.nan
    frame.to_csv(path, index=False)
    return path


def assert_one_error_line(stderr: str, phrase: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    assert phrase in lines[0], lines[0]
    assert lines[0].endswith((".", "?")), lines[0]
    return lines[0]


# -- in a subprocess: what a user or pipeline actually runs ---------------------------------------


def test_recipes_table_lists_every_recipe(run_cli):
    proc = run_cli("recipes")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["recipe", "family", "dataset", "status"]
    names = {line.split()[0] for line in lines[2:] if line.strip()}
    assert {r.name for r in list_recipes()} <= names
    for line in lines[2:]:
        assert "not trained" in line or "shipped" in line  # the temporary user store is empty


def test_train_recipe_json_last_line(run_cli):
    proc = run_cli("train", "wine-mlp", "--json", "--no-umap", "--epochs", "5", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"recipe", "test_accuracy", "device", "seconds"} <= set(result)
    assert result["recipe"] == "wine-mlp" and result["device"] == "cpu"
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["seconds"] > 0
    assert result["epochs_run"] <= 5
    assert Path(result["artifact"]) == run_cli.store_root / "wine-mlp"
    artifact = Store(run_cli.store_root).open("wine-mlp")
    assert artifact.metrics["test_accuracy"] == result["test_accuracy"]
    assert "Traceback" not in proc.stderr


def test_train_unknown_recipe_exits_2_with_one_sentence(run_cli):
    proc = run_cli("train", "nosuch")
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "Unknown recipe 'nosuch'")
    assert proc.stdout.strip() == ""


def test_train_bad_csv_exits_2_with_one_sentence(run_cli, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", nan=True)
    proc = run_cli("train", "--data", str(bad), "--target", "label", "--json")
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "NaN")
    assert "NaN" in json.loads(proc.stdout.strip().splitlines()[-1])["error"]
    assert not run_cli.store_root.exists() or Store(run_cli.store_root).names() == []


# -- in-process: same entry point, without the interpreter start-up --------------------------------


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_recipes_json_in_process(tmp_path, capsys):
    assert cli.main(["recipes", "--json", "--store", str(tmp_path / "s")]) == 0
    rows = last_json(capsys.readouterr().out)["recipes"]
    assert {row["recipe"] for row in rows} >= {r.name for r in list_recipes()}
    assert all(row["status"] in ("not trained", "shipped", "shipped (outdated)") for row in rows)


def test_recipes_family_filter(tmp_path, capsys):
    assert cli.main(["recipes", "--json", "--family", "timeseries", "--store", str(tmp_path / "s")]) == 0
    rows = last_json(capsys.readouterr().out)["recipes"]
    assert {row["recipe"] for row in rows} == {r.name for r in list_recipes("timeseries")}


def test_train_user_csv_in_process(tmp_path, capsys):
    good = write_csv(tmp_path / "good.csv")
    store_root = tmp_path / "s"
    code = cli.main(["train", "--data", str(good), "--target", "label", "--json", "--no-umap", "--epochs", "3", "--device", "cpu", "--store", str(store_root)])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = last_json(out.out)
    assert result["recipe"] == "user-good-mlp"
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert result["epochs_run"] <= 3
    manifest = Store(store_root).open("user-good-mlp").manifest
    assert manifest["dataset"]["name"] == "good" and manifest["dataset"]["n_train"] + manifest["dataset"]["n_test"] == 60
    assert manifest["arch"] == "mlp"


def test_train_user_csv_without_target(tmp_path, capsys):
    good = write_csv(tmp_path / "good.csv")
    assert cli.main(["train", "--data", str(good), "--store", str(tmp_path / "s")]) == 2
    assert_one_error_line(capsys.readouterr().err, "needs a target column")


def test_train_recipe_and_data_together(tmp_path, capsys):
    good = write_csv(tmp_path / "good.csv")
    assert cli.main(["train", "wine-mlp", "--data", str(good), "--store", str(tmp_path / "s")]) == 2
    assert_one_error_line(capsys.readouterr().err, "not both")


def test_train_without_recipe_or_data(tmp_path, capsys):
    assert cli.main(["train", "--store", str(tmp_path / "s")]) == 2
    assert_one_error_line(capsys.readouterr().err, "needs a RECIPE")


def test_train_unknown_device(tmp_path, capsys):
    assert cli.main(["train", "wine-mlp", "--device", "gpu", "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    # The progress bar is already open when the device is checked, so only the last line is the error.
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: Unknown device 'gpu'") and "Traceback" not in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("kind", ["sae", "rules"])
def test_explain_not_built_yet(tmp_path, capsys, kind, monkeypatch):
    spec = family_registry.get_family(kind)
    monkeypatch.setitem(family_registry._FAMILIES, kind, dataclasses.replace(spec, explain=None))
    assert cli.main(["explain", kind, "--json", "--store", str(tmp_path / "s")]) == 2
    out = capsys.readouterr()
    assert_one_error_line(out.err, f"'explain {kind}' is not available yet")
    assert "error" in last_json(out.out)


def test_explain_unknown_kind_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["explain", "astrology"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_explain_dispatches_to_a_registered_explainer(tmp_path, capsys, monkeypatch):
    spec = family_registry.get_family("rules")
    monkeypatch.setitem(family_registry._FAMILIES, "rules", dataclasses.replace(spec, explain=lambda args: {"fidelity": 0.9, "recipe": args.recipe}))
    assert cli.main(["explain", "rules", "wine-mlp", "--json", "--store", str(tmp_path / "s")]) == 0
    assert last_json(capsys.readouterr().out) == {"fidelity": 0.9, "recipe": "wine-mlp"}


def test_default_store_comes_from_interp_store(interp_store_env, capsys, tmp_path):
    good = write_csv(tmp_path / "good.csv")
    assert cli.main(["train", "--data", str(good), "--target", "label", "--json", "--no-umap", "--epochs", "1", "--device", "cpu"]) == 0
    assert Path(last_json(capsys.readouterr().out)["artifact"]) == interp_store_env / "user-good-mlp"
    assert Store(interp_store_env).names() == ["user-good-mlp"]


def test_recipes_lists_a_corrupted_manifest_with_its_sentence_and_the_rest(tmp_path, capsys):
    tampered(tmp_path / "s", "wine-mlp", setting("metrics", "oops"))
    assert cli.main(["recipes", "--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split()[:1] == ["wine-mlp"] and "corrupted" in line for line in lines), out
    sentence = f"wine-mlp: Artifact 'wine-mlp' is corrupted: its manifest's metrics holds the text 'oops', expected an object of metric names to values; retrain it or delete {tmp_path / 's' / 'wine-mlp'}."
    assert sentence in lines
    listed = {line.split()[0] for line in lines[2:] if line and not line.startswith("wine-mlp:")}
    assert listed == {r.name for r in list_recipes()}
    assert cli.main(["recipes", "--json", "--store", str(tmp_path / "s")]) == 0
    rows = {row["recipe"]: row for row in last_json(capsys.readouterr().out)["recipes"]}
    assert rows["wine-mlp"]["status"] == "corrupted" and rows["digits-mlp"]["status"] == "shipped"


def test_report_of_a_corrupted_manifest_exits_2_with_its_sentence(tmp_path, capsys):
    tampered(tmp_path / "s", "wine-mlp", setting("seed", "zero"))
    assert cli.main(["report", "wine-mlp", "--store", str(tmp_path / "s"), "--out", str(tmp_path / "r.html"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"error: Artifact 'wine-mlp' is corrupted: its manifest's seed holds the text 'zero', expected a whole number; retrain it or delete {tmp_path / 's' / 'wine-mlp'}." in err
    assert "Traceback" not in err and not (tmp_path / "r.html").exists()


def test_ship_writes_plain_verified_folders(tmp_path, capsys, no_umap):
    """ship trains in a scratch store and writes the shipped layout: a plain folder per recipe, no versions or locks."""
    target = tmp_path / "assets-store"
    assert cli.main(["ship", "wine-mlp", "--store", str(target), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["shipped"]) == {"wine-mlp"} and result["store"] == str(target)
    assert sorted(p.name for p in target.iterdir()) == ["wine-mlp"]
    folder = target / "wine-mlp"
    assert folder.is_dir() and not folder.is_symlink()
    artifact = Store(target, readonly=True).open("wine-mlp")
    assert artifact.path == folder and artifact.metrics["test_accuracy"] == result["shipped"]["wine-mlp"]


@pytest.mark.parametrize("alias, name", [("attributions", "timeseries"), ("groups", "mechanisms")])
def test_older_explain_and_bench_names_stay_aliases(alias, name, tmp_path, capsys, monkeypatch):
    """The CLI is a contract: 'explain attributions' and 'explain groups' reach the renamed families."""
    spec = family_registry.get_family(name)
    assert alias in spec.aliases and family_registry.get_family(alias) is spec
    monkeypatch.setitem(family_registry._FAMILIES, name, dataclasses.replace(spec, explain=lambda args: {"family": name, "kind": args.kind}))
    assert cli.main(["explain", alias, "--json", "--store", str(tmp_path / "s")]) == 0
    assert last_json(capsys.readouterr().out) == {"family": name, "kind": alias}
    from interp_core.cli.commands import bench_targets

    assert bench_targets()[alias] is spec.benches[name]
