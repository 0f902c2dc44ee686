"""torchrun: one SAE trained by 2 CPU processes (gloo, DistributedDataParallel) matches the one-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interp_core.cli.main import main

# The CLI's train command on a small toy recipe (no k sweep, a shorter toy model fit), so both runs take seconds.
SCRIPT = """
import sys
from interp_core import recipes
from interp_core.cli.main import main
recipes.register(recipes.Recipe("toy-sae-ddp-test", "sae", "toy_superposition", "sae-topk", {"source": "toy", "width": 96, "k": 3, "toy_steps": 300},
                                {"epochs": 4, "batch_size": 512, "lr": 3e-3, "dead_window": 200}, "test recipe", trainer="sae"))
sys.exit(main(["train", "toy-sae-ddp-test", "--no-umap", "--device", "cpu", "--json", "--store", sys.argv[1]]))
"""


def _run(prefix: list[str], store: Path) -> tuple[dict, dict]:
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    script = store.parent / "train_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([*prefix, str(script), str(store)], capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # rank 0 alone prints the JSON
    manifest = json.loads(next(store.rglob("manifest.json")).read_text())
    return json.loads(lines[0]), manifest["metrics"]


def test_two_gloo_processes_train_the_same_sae_as_one(tmp_path):
    one, one_metrics = _run([sys.executable], tmp_path / "one")
    two, two_metrics = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], tmp_path / "two")
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert (one_metrics["world_size"], two_metrics["world_size"]) == (1, 2)
    for key in ("explained_variance", "l0", "mse", "mmcs", "mcc", "test_accuracy"):
        assert two_metrics[key] == pytest.approx(one_metrics[key], abs=1e-4), key
    assert one_metrics["explained_variance"] > 0.3  # it did learn something to agree on


def test_torchrun_refuses_a_recipe_that_is_not_an_sae(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "digits-mlp", "--store", str(tmp_path), "--device", "cpu"]) == 2
    assert "trains SAE recipes across processes" in capsys.readouterr().err
