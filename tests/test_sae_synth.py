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
