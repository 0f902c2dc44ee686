"""torchrun: one SAE trained by 2 CPU processes (gloo, DistributedDataParallel) matches the one-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interp_core.cli.main import main
from interp_core.families.sae.models import build_sae

# The CLI's train command on a small toy recipe (no k sweep, a shorter toy model fit), so both runs take seconds.
SCRIPT = """
import sys
from interp_core import recipes
from interp_core.cli.main import main
recipes.register(recipes.Recipe("toy-sae-ddp-test", "sae", "toy_superposition", "sae-topk", {"source": "toy", "width": 96, "k": 3, "toy_steps": 300},
                                {"epochs": 4, "batch_size": 512, "lr": 3e-3, "dead_window": 200}, "test recipe", trainer="sae"))
code = main(["train", "toy-sae-ddp-test", "--no-umap", "--device", "cpu", "--json", "--store", sys.argv[1]])
# then one SAE streamed from shards, each rank reading its own: the replicas must stay identical
import numpy as np, torch
from pathlib import Path
from interp_core.families.sae import distributed, explain
from interp_core.families.sae.models import build_sae
from interp_core.families.sae.shards import ShardSet, StreamedActivations, write_shards
world = distributed.from_environment(torch.device("cpu"))
folder = Path(sys.argv[1]).parent / "shards"
if world is None or world.rank == 0:
    write_shards(folder, 4096, 8, lambda a, b: np.random.default_rng(a).standard_normal((b - a, 8)).astype(np.float32), shard_size=512)
if world is not None:
    world.barrier()
shards = ShardSet(folder)
torch.manual_seed(0)
sae = build_sae("topk", {"d_in": 8, "width": 16, "k": 2}).fit_input(shards.fit_sample(1024))
explain.train_sae(sae, StreamedActivations(shards), explain.SAETrainConfig(epochs=1, batch_size=256, lr=1e-2), device="cpu", world=world)
rank = 0 if world is None else world.rank
torch.save(sae.state_dict(), Path(sys.argv[1]).parent / f"streamed-rank{rank}.pt")
# and the CLI's train --data SHARD_FOLDER: each rank streams its own shards, rank 0 writes the artifact and the JSON
code = code or main(["train", "--data", str(folder), "--no-umap", "--device", "cpu", "--json", "--store", sys.argv[1]])
sys.exit(code)
"""


def _run(prefix: list[str], store: Path) -> tuple[dict, dict]:
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    script = store.parent / "train_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([*prefix, str(script), str(store)], capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["recipe"] for line in lines] == ["toy-sae-ddp-test", "shards-sae"], done.stdout  # rank 0 alone prints the JSON
    manifests = [json.loads(path.read_text()) for path in store.rglob("manifest.json")]
    return lines, {manifest["name"]: manifest["metrics"] for manifest in manifests}


def test_two_gloo_processes_train_the_same_sae_as_one(tmp_path):
    (one, one_shards), one_all = _run([sys.executable], tmp_path / "one")
    single = torch.load(tmp_path / "streamed-rank0.pt")
    (two, two_shards), two_all = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], tmp_path / "two")
    one_metrics, two_metrics = one_all["toy-sae-ddp-test"], two_all["toy-sae-ddp-test"]
    assert (one["world_size"], two["world_size"], one_shards["world_size"], two_shards["world_size"]) == (1, 2, 1, 2)
    assert (one_metrics["world_size"], two_metrics["world_size"]) == (1, 2)
    # train --data SHARD_FOLDER: one artifact (rank 0's), trained on the 7 shards before the held-out one, both ways
    assert (one_all["shards-sae"]["world_size"], two_all["shards-sae"]["world_size"]) == (1, 2)
    assert one_all["shards-sae"]["n_train"] == two_all["shards-sae"]["n_train"] == 7 * 512
    assert 0 < two_shards["l0"] <= 3 and 0 < two_shards["explained_variance"] < 1  # k = round(sqrt(8)) latents at most
    for key in ("explained_variance", "l0", "mse", "mmcs", "mcc", "test_accuracy"):
        assert two_metrics[key] == pytest.approx(one_metrics[key], abs=1e-4), key
    assert one_metrics["explained_variance"] > 0.3  # it did learn something to agree on
    # streamed from shards: each rank read its own shards, yet DDP kept one SAE (the replicas are equal),
    # which trained (it moved from its start) on other batches than the one process's (it differs from it)
    ranks = [torch.load(tmp_path / f"streamed-rank{r}.pt") for r in range(2)]
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0])
    torch.manual_seed(0)
    start = build_sae("topk", {"d_in": 8, "width": 16, "k": 2}).W_dec.detach()
    assert not torch.allclose(ranks[0]["W_dec"], start) and not torch.allclose(ranks[0]["W_dec"], single["W_dec"])


def test_torchrun_refuses_a_recipe_that_is_not_an_sae(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "digits-mlp", "--store", str(tmp_path), "--device", "cpu"]) == 2
    assert "trains SAE recipes across processes" in capsys.readouterr().err
