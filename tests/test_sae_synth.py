"""SynthSAEBench-style ground truth (our generator), its SAELens-style scores, and bench sae's rounds."""

from __future__ import annotations

from argparse import Namespace

import numpy as np
import pytest
import torch

from interp_core.families.sae import bench
from interp_core.families.sae.synth import SynthConfig, SynthModel, score_sae

SMALL = SynthConfig(n_features=256, d=64, seed=3, roots=4, branching=3, depth=2, correlation_rank=5)


@pytest.fixture(scope="module")
def small():
    model = SynthModel(SMALL)
    acts, hidden = model.sample(4000)
    return model, acts, hidden


def test_children_fire_only_with_their_parent_and_one_at_a_time(small):
    model, acts, _ = small
    on = acts > 0
    children = model.parent >= 0
    assert int(children.sum()) == 4 * 3 + 4 * 3 * 3  # two levels below 4 roots, 3 children each
    assert not (on[:, children] & ~on[:, model.parent[children]]).any()
    for parents, kids in model.levels:
        assert int(on[:, kids].sum(-1).max()) <= 1  # mutual exclusion among siblings
        assert on[:, kids].any()  # and children do fire


def test_firing_follows_the_zipfian_probabilities(small):
    model, acts, hidden = small
    p = model.p.float()
    assert float(p.max()) == pytest.approx(SMALL.p_max) and float(p.min()) >= SMALL.p_min
    free = (model.parent < 0) & ~torch.isin(torch.arange(SMALL.n_features), torch.cat([parents for parents, _ in model.levels]))
    rates = (acts[:, free] > 0).float().mean(0)
    assert torch.corrcoef(torch.stack([rates, p[free]]))[0, 1] > 0.95
    assert torch.allclose(hidden, acts @ model.features + model.bias, atol=1e-5)


class Oracle(torch.nn.Module):
    """Reads orthogonal true features back exactly: codes = (x - bias) @ F^T."""

    def __init__(self, model: SynthModel, drop: int = 0):
        super().__init__()
        self.model, self.W_dec = model, model.features.clone()
        self.drop = drop

    def encode(self, x):
        codes = (x - self.model.bias) @ self.model.features.t()
        codes = torch.where(codes > 1e-4, codes, torch.zeros(()))  # float error reads as tiny codes, not firing
        codes[:, : self.drop] = 0  # a latent that never fires
        return codes

    def decode(self, codes):
        return codes @ self.model.features + self.model.bias


def test_scores_are_perfect_for_the_true_dictionary_and_drop_for_a_random_one():
    model = SynthModel(SynthConfig(n_features=32, d=64, seed=0, roots=0, depth=0, p_max=0.3))
    q, _ = torch.linalg.qr(torch.randn(64, 32, generator=torch.Generator().manual_seed(0)))
    model.features = q.t().contiguous()  # orthogonal: exactly recoverable
    perfect = score_sae(Oracle(model), model, n_samples=2000)
    assert perfect["mcc"] == pytest.approx(1.0, abs=1e-4) and perfect["uniqueness"] == 1.0
    assert perfect["f1"] == pytest.approx(1.0, abs=1e-4) and perfect["explained_variance"] == pytest.approx(1.0, abs=1e-4)
    assert perfect["l0"] == pytest.approx(perfect["true_l0"], abs=1e-6)
    missing = score_sae(Oracle(model, drop=8), model, n_samples=2000)
    assert missing["f1"] == pytest.approx(24 / 32, abs=1e-3) and missing["explained_variance"] < 0.95
    random = Oracle(model)
    random.W_dec = torch.randn(32, 64)
    assert score_sae(random, model, n_samples=500)["mcc"] < 0.6


def test_bench_sae_reports_medians_of_its_rounds(monkeypatch):
    monkeypatch.setattr(bench, "QUICK_CONFIG", {**bench.QUICK_CONFIG, "width": 128, "k": 4, "batch_size": 256, "steps": 2, "repeats": 3})
    real = bench.matmul_gflops
    monkeypatch.setattr(bench, "matmul_gflops", lambda device: real(device, n=256, repeats=2))
    result = bench.bench_sae(Namespace(quick=True, device="cpu", seed=0, json=True))
    rounds = result["rounds"]
    assert len(rounds) == 3 and len(result["ours_seconds"]) == 3
    assert result["ours_matmul_share"] == pytest.approx(float(np.median([r["ours_matmul_share"] for r in rounds])), abs=1e-4)
    assert result["matmul_gflops"] == pytest.approx(float(np.median([r["matmul_gflops"] for r in rounds])), abs=1e-2)
    spread = result["ours_matmul_share_spread"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    # the ceiling (encoder product + torch's top-k alone) is measured in every round and bounds our share
    assert all(0 < r["ours_matmul_share"] < r["ceiling_matmul_share"] and r["ours_of_ceiling"] < 1 for r in rounds)
    assert result["ceiling_matmul_share"] == pytest.approx(float(np.median([r["ceiling_matmul_share"] for r in rounds])), abs=1e-4)
    assert "bf16_vs_fp32" not in result and result["config"]["precision"] == "fp32"  # bf16 only where asked (or on CUDA)


def test_bench_sae_times_bf16_beside_fp32_when_asked(monkeypatch):
    monkeypatch.setattr(bench, "QUICK_CONFIG", {**bench.QUICK_CONFIG, "width": 128, "k": 4, "batch_size": 256, "steps": 2, "repeats": 1})
    real = bench.matmul_gflops
    monkeypatch.setattr(bench, "matmul_gflops", lambda device: real(device, n=256, repeats=2))
    result = bench.bench_sae(Namespace(quick=True, device="cpu", seed=0, json=True, precision="both"))
    row = result["rounds"][0]
    assert row["bf16_vs_fp32"] == pytest.approx(row["ours_seconds"] / row["ours_bf16_seconds"], rel=0.01)
    assert 0 < row["ours_bf16_explained_variance"] <= 1 and result["ours_bf16_explained_variance"] == row["ours_bf16_explained_variance"]
    assert row["ours_bf16_explained_variance"] == pytest.approx(row["ours_explained_variance"], abs=0.05)  # two steps from the same start


TINY = SynthConfig(n_features=128, d=32, seed=1, roots=2, branching=2, depth=2, correlation_rank=4)
TINY_BUDGET = {"samples": 1024, "batch_size": 256, "lr": 1e-3, "eval_samples": 512, "width_share": 0.25}


def test_synth_rows_train_and_score_every_architecture_of_ours():
    from interp_core.families.sae.models import SAE_ARCHITECTURES
    from interp_core.families.sae.synth import SYNTH_ARCHS, OurSynth, benchmark_l0, synth_rows

    assert set(SYNTH_ARCHS) == set(SAE_ARCHITECTURES)  # every architecture of the registry is benchmarked
    world = OurSynth(TINY)
    k, true_l0 = benchmark_l0(world, width=32)
    assert 1 <= k <= min(25, round(true_l0) + 1)
    rows = synth_rows(world, d=TINY.d, width=32, k=k, budget=TINY_BUDGET, device="cpu", seed=0)
    assert [r["arch"] for r in rows] == list(SYNTH_ARCHS)
    for r in rows:
        assert set(r) == {"arch", "trainer", "f1", "mcc", "uniqueness", "explained_variance", "l0", "samples", "true_l0", "seconds"} and r["trainer"] == "ours"
        assert r["samples"] == 4 * 256 and 0 <= r["f1"] <= 1 and 0 < r["mcc"] <= 1 and 0 < r["uniqueness"] <= 1 and r["l0"] > 0
        if r["arch"] in ("topk", "mp"):
            assert r["l0"] <= k + 1e-6  # at most k latents per example


def test_benchmark_l0_counts_the_most_frequent_features_only():
    from interp_core.families.sae.synth import benchmark_l0

    class Fixed:  # feature 0 always on, 1 half the time, 2 a quarter, 3 never
        def sample(self, n):
            acts = torch.zeros(n, 4)
            acts[:, 0] = 1
            acts[::2, 1] = 1
            acts[::4, 2] = 1
            return acts, acts

    assert benchmark_l0(Fixed(), width=2, n=8) == (2, 1.75)  # 1 + 0.5 over the top two rounds to 2; all features: 1.75
    assert benchmark_l0(Fixed(), width=1, n=8)[0] == 1


def test_saelens_scores_our_sae_and_trains_its_own_on_the_same_samples():
    synth_saelens = pytest.importorskip("interp_core.families.sae.synth_saelens", reason="SAELens is benchmark-only (.venv-bench)")
    from interp_core.families.sae.synth import synth_rows

    world = synth_saelens.SAELensSynth(TINY, "cpu")
    feature_acts, hidden = world.sample(64)
    assert feature_acts.shape == (64, TINY.n_features) and hidden.shape == (64, TINY.d)
    rows = synth_rows(world, d=TINY.d, width=32, k=4, budget=TINY_BUDGET, device="cpu", archs=["topk"], saelens=synth_saelens)
    assert [(r["arch"], r["trainer"]) for r in rows] == [("topk", "ours")] + [(arch, "saelens") for arch in synth_saelens.SAELENS_ARCHS]
    assert rows[0]["l0"] <= 4 + 1e-6 and all(0 < r["mcc"] <= 1 for r in rows)
