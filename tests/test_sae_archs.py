"""The six SAE architectures (issue 18 item 3): each recovers a flat toy's features; JumpReLU's
straight-through estimator and Matryoshka's nested losses do what their papers say; the
hierarchical toy and feature absorption."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from interp_core.families.sae import explain, synth
from interp_core.families.sae.models import SAE_ARCHITECTURES, JumpReLUSAE, MatryoshkaSAE, build_sae

SMALL_FLAT = synth.ToyConfig(n_features=12, d=10, p=0.1, n_train=2000, n_test=500)
# Settings at which every architecture fires about as many latents as the toy has features on (2).
SETTINGS = {"relu": {"l1_coefficient": 0.1}, "jumprelu": {"l0_coefficient": 0.1}}


@pytest.fixture(scope="module")
def flat_toy():
    return synth.make_toy(SMALL_FLAT)


@pytest.mark.parametrize("arch", sorted(SAE_ARCHITECTURES))
def test_every_architecture_recovers_the_flat_toy_s_features(flat_toy, arch):
    acts, truth, _, _ = flat_toy
    train = acts[: SMALL_FLAT.n_train]
    torch.manual_seed(0)
    sae = build_sae(arch, {"d_in": SMALL_FLAT.d, "width": 24, **SETTINGS.get(arch, {"k": 2})}).fit_input(torch.as_tensor(train))
    config = explain.SAETrainConfig(epochs=20, batch_size=256, lr=1e-2, dead_window=50, resample_every=0 if sae.uses_aux_loss else 40)
    explain.train_sae(sae, train, config, device="cpu")
    recovery = explain.feature_recovery(sae.W_dec.detach().numpy(), truth)
    assert recovery.mmcs >= 0.9, (arch, recovery.mmcs)
    assert explain.reconstruction_metrics(sae, acts[SMALL_FLAT.n_train :])["l0"] < 6  # sparse, not a dense copy of the input


def _trained_on_flat_toy(flat_toy, arch: str, settings: dict, epochs: int):
    """(sae, held-out L0) of a 24-latent SAE trained briefly on SMALL_FLAT (lr 1e-2, batches of 256)."""
    acts = flat_toy[0]
    train = acts[: SMALL_FLAT.n_train]
    torch.manual_seed(0)
    sae = build_sae(arch, {"d_in": SMALL_FLAT.d, "width": 24, **settings}).fit_input(torch.as_tensor(train))
    config = explain.SAETrainConfig(epochs=epochs, batch_size=256, lr=1e-2, dead_window=50, resample_every=0 if sae.uses_aux_loss else 40)
    explain.train_sae(sae, train, config, device="cpu")
    return sae, explain.reconstruction_metrics(sae, acts[SMALL_FLAT.n_train :])["l0"]


def test_l0_threshold_by_hand():
    from interp_core.families.sae.models import l0_threshold

    pre = torch.tensor([[3.0, 1.0, 0.0], [2.0, 5.0, -1.0]])
    # l0 1.5 over 2 rows: the 3rd and 4th largest of 5, 3, 2, 1, 0, -1 are 2 and 1; above 1.5 fire 5, 3, 2 (1.5 a row)
    assert l0_threshold(lambda rows: rows, pre, 1.5) == pytest.approx(1.5)
    assert l0_threshold(lambda rows: rows, pre, 1.5, chunk=1) == pytest.approx(1.5)  # chunked: the same
    assert l0_threshold(lambda rows: rows, pre, 3.0) == -math.inf  # all 6 must fire: no value lies below them


@pytest.mark.parametrize("arch", ["batchtopk", "matryoshka"])
def test_batchtopk_s_calibrated_threshold_fires_k_on_held_out_data(flat_toy, arch):
    # after 2 epochs the running threshold lags (held-out L0 0.9 for k = 2); calibrated on training rows it fires k
    running, running_l0 = _trained_on_flat_toy(flat_toy, arch, {"k": 2, "calibration_samples": 0}, epochs=2)
    calibrated, l0 = _trained_on_flat_toy(flat_toy, arch, {"k": 2}, epochs=2)
    assert abs(running_l0 - 2) > 0.5 and running.config.calibrated_threshold is None
    assert l0 == pytest.approx(2, rel=0.1)
    assert calibrated.config.calibrated_threshold == pytest.approx(float(calibrated.threshold)) and float(calibrated.threshold) > 0
    stored = build_sae(arch, calibrated.config.to_dict())  # a stored SAE's config rebuilds the same threshold
    assert float(stored.threshold) == float(calibrated.threshold)
    old = {k: v for k, v in calibrated.config.to_dict().items() if k not in ("calibration_samples", "calibrated_threshold")}
    assert build_sae(arch, old).config.calibrated_threshold is None  # a config from before: its stored running threshold loads as it was


@pytest.mark.parametrize("arch, start", [("relu", "l1_coefficient"), ("jumprelu", "l0_coefficient")])
def test_target_l0_reaches_the_asked_l0_where_a_fixed_penalty_misses_it(flat_toy, arch, start):
    fixed, fixed_l0 = _trained_on_flat_toy(flat_toy, arch, {start: 0.1}, epochs=5)
    targeted, l0 = _trained_on_flat_toy(flat_toy, arch, {start: 0.1, "target_l0": 2.0}, epochs=5)
    assert abs(fixed_l0 - 2) > 0.5 * 2 and fixed.sparsity_coefficient == 0.1  # ReLU 6.1, JumpReLU 3.0 at a fixed 0.1
    assert l0 == pytest.approx(2, rel=0.25)
    assert targeted.sparsity_coefficient != 0.1 and targeted.config.to_dict()[start] == 0.1  # the controller moved it; the config keeps its start


def test_jumprelu_s_straight_through_estimator_by_hand():
    from interp_core.families.sae.models import _JumpReLU, _Step

    pre = torch.tensor([[0.52, 0.1], [0.9, 0.7]], requires_grad=True)
    threshold = torch.tensor([0.5, 0.5], requires_grad=True)
    out = _JumpReLU.apply(pre, threshold, 0.1)
    assert torch.allclose(out, torch.tensor([[0.52, 0.0], [0.9, 0.7]]))
    out.sum().backward()
    # only pre = 0.52 is within half a bandwidth (0.05) of its threshold: d/dtheta = -(theta / bandwidth) * 1
    assert threshold.grad.tolist() == pytest.approx([-5.0, 0.0]) and pre.grad.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    threshold.grad = None
    _Step.apply(pre, threshold, 0.1).sum().backward()
    assert threshold.grad.tolist() == pytest.approx([-10.0, 0.0])  # -(1 / bandwidth): the L0 penalty raises the threshold
    sae = JumpReLUSAE(2, 2, initial_threshold=0.5)
    assert sae.threshold.tolist() == pytest.approx([0.5, 0.5])


def test_matryoshka_sums_the_losses_of_its_nested_prefixes():
    acts, _, _, _ = synth.make_toy(synth.ToyConfig(n_features=6, d=5, n_train=64, n_test=0))
    torch.manual_seed(0)
    sae = MatryoshkaSAE(5, 8, k=2, groups=3).fit_input(torch.as_tensor(acts)).train()
    assert sae.prefixes == [2, 4, 8]
    x = torch.as_tensor(acts)
    loss, _ = sae.training_loss(x)
    target = x / sae.input_scale
    pre = sae.pre_acts(x).detach()
    rows, cols = sae.select(pre)
    codes = torch.zeros_like(pre)
    codes[rows, cols] = torch.relu(pre[rows, cols])
    want = sum(((codes[:, :m] @ sae.W_dec[:m] + sae.b_dec) - target).pow(2).sum(1).mean() for m in (2, 4, 8))
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_explain_sae_trains_the_architecture_named_by_arch(tmp_path, capsys, interp_store_env):
    from tests.test_sae_recipes import run_cli

    acts, truth, _, _ = synth.make_toy(synth.ToyConfig(n_features=8, d=6, n_train=300, n_test=100))
    path = tmp_path / "acts.npz"
    np.savez(path, acts=acts, true_features=truth)
    code, result, _ = run_cli(capsys, "--data", str(path), "--arch", "JumpReLU")
    assert code == 0 and result["arch"] == "jumprelu" and "l0_coefficient" in result and result["explained_variance"] > 0.3
    assert result["absorption"] is None and result["mmcs"] > 0.5  # a flat toy: nothing to absorb
    code, result, err = run_cli(capsys, "--data", str(path), "--arch", "gated")
    assert code == 2 and "Unknown SAE architecture 'gated'" in result["error"] and "matryoshka" in result["error"] and "Traceback" not in err
    code, result, _ = run_cli(capsys, "toy-sae", "--arch", "relu")
    assert code == 2 and "names its own (topk)" in result["error"]


def test_the_hierarchical_toy_keeps_its_rules():
    cfg = synth.ToyConfig(n_parents=4, n_children=3, d=8, p=0.3, n_train=1500, n_test=500)
    acts, truth, true_acts, parents = synth.make_toy(cfg)
    assert parents.tolist() == [-1] * 4 + [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert np.allclose(acts, true_acts @ truth, atol=1e-5) and np.allclose(np.linalg.norm(truth, axis=1), 1.0)
    for p in range(4):
        kids = true_acts[:, parents == p]
        assert ((kids > 0).sum(1) <= 1).all()  # mutually exclusive
        child_on = (kids > 0).any(1)
        assert (true_acts[child_on, p] > 0).all()  # never without the parent
        ratio = kids.max(1)[child_on] / true_acts[child_on, p]
        assert ratio.min() >= 0.5 - 1e-6 and ratio.max() <= 1.0 + 1e-6  # scaled by the parent
        share = child_on.sum() / (true_acts[:, p] > 0).sum()
        assert 0.7 < share < 0.9  # p_child = 0.8


def test_absorption_by_hand():
    # true features: parent 0 = e0, its children 1 = e1 and 2 = e2 (in 3 dimensions)
    truth = np.eye(3)
    parents = np.array([-1, 0, 0])
    absorbed_row = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)  # a latent writing parent and child 1 together
    W_dec = np.stack([np.array([1.0, 0, 0]), absorbed_row, np.array([0, 0, 1.0])])  # latent 0 tracks the parent
    true_acts = np.array([
        [1.0, 0.6, 0.0],  # parent + child 1: the parent's latent silent, latent 1 fires -> absorbed
        [1.0, 0.6, 0.0],  # the same, but the parent's latent fires -> not absorbed
        [1.0, 0.0, 0.7],  # parent + child 2: parent's latent silent, latent 2 (child only) fires -> silent, not absorbed
        [1.0, 0.0, 0.0],  # parent alone: not counted
    ])
    codes = np.array([[0.0, 1.2, 0.0], [0.8, 0.5, 0.0], [0.0, 0.0, 0.7], [1.0, 0.0, 0.0]])
    found = synth.absorption(codes, W_dec, truth, true_acts, parents, parent_latent=np.array([0, 1, 2]))
    assert found["examples"] == 3
    assert found["absorption"] == pytest.approx(1 / 3) and found["parent_silent"] == pytest.approx(2 / 3)
    flat = synth.absorption(codes, W_dec, truth, true_acts, np.array([-1, -1, -1]), np.array([0, 1, 2]))
    assert flat["absorption"] is None and flat["examples"] == 0


def test_the_comparison_scores_every_architecture_and_draws_them_on_one_chart():
    from interp_core.families.sae import figures
    from interp_core.families.sae.models import ARCH_TITLES

    cfg = synth.ToyConfig(n_parents=3, n_children=2, d=8, p=0.3, n_train=300, n_test=200)
    acts, truth, true_acts, parents = synth.make_toy(cfg)
    rows = synth.compare_architectures(acts, cfg.n_train, truth, true_acts, parents, width=18, k=2, archs=["topk", "matryoshka"], epochs=1)
    assert [row["arch"] for row in rows] == ["topk", "matryoshka"]
    for row in rows:
        assert 0 <= row["mmcs"] <= 1 and 0 <= row["absorption"] <= row["parent_silent"] <= 1 and row["l0"] > 0
    flat = [{**row, "toy": "flat", "absorption": None} for row in rows]
    fig = figures.arch_comparison(flat + [{**row, "toy": "hierarchical"} for row in rows], ARCH_TITLES)
    assert [trace.name.split(",")[0] for trace in fig.data] == ["MMCS", "MMCS", "absorption"]
    assert list(fig.data[0].x) == ["TopK", "Matryoshka"] and fig.data[2].y[1] == pytest.approx(rows[1]["absorption"])
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert len(figures.arch_comparison(flat, ARCH_TITLES).data) == 1  # nothing to draw for absorption on a flat toy alone


def test_the_hierarchical_recipe_is_listed_and_its_dataset_carries_the_truth():
    from interp_core import recipes
    from interp_core.data import load_dataset

    recipe = recipes.get_recipe("toy-sae-hier")
    assert recipe.family == "sae" and recipe.arch == "sae-matryoshka" and recipe.train_config["compare_archs"]
    dataset = load_dataset("toy_hierarchy")
    assert dataset.extras["true_features"].shape == (32, 16) and dataset.extras["true_acts"].shape == (len(dataset.X_train) + len(dataset.X_test), 32)
    assert (dataset.extras["parents"] >= 0).sum() == 24


def test_explain_sae_reports_absorption_for_the_hierarchical_toy(capsys, interp_store_env):
    from tests.test_sae_recipes import run_cli

    code, result, _ = run_cli(capsys, "toy-sae-hier")  # the shipped checkpoint, measured again from scratch
    assert code == 0 and result["arch"] == "matryoshka"
    assert 0 <= result["absorption"] <= result["parent_silent"] <= 1 and result["mmcs"] > 0.5
    assert "accuracy_sae" not in result  # a generated toy has no model to splice into


@pytest.mark.parametrize("kind", ["gaussian", "ties", "dead"])
def test_row_topk_picks_the_same_values_as_torchs_topk(kind):
    from interp_core.families.sae.sparse_step import row_topk

    g = torch.Generator().manual_seed(3)
    pre = torch.randn(64, 1024, generator=g)
    if kind == "ties":  # few distinct values: many equal candidates at the boundary
        pre = torch.randint(0, 6, (64, 1024), generator=g).float()
    if kind == "dead":  # -inf everywhere but a few columns, as AuxK's masked rows are
        pre = pre.masked_fill(torch.rand(64, 1024, generator=g) > 0.05, -math.inf)
    values, indices = row_topk(pre, 16)
    want = pre.topk(16, dim=1).values
    assert indices.shape == (64, 16) and torch.equal(pre.gather(1, indices), values)  # each value is its index's
    assert torch.equal(values.sort(1, descending=True).values, want)  # the k largest of every row
    assert all(len(set(row.tolist())) == 16 for row in indices)  # no index twice
    assert torch.equal(row_topk(pre[:, :100], 16)[0].sort(1).values, pre[:, :100].topk(16, dim=1).values.sort(1).values)  # the short-row path
