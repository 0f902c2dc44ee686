"""SAE engine: architectures, the sparse training path, the trainer, metrics and analyses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.errors import TrainingCancelled
from interp_core.families.sae import explain as explain
from interp_core.families.sae.models import SAE_ARCHITECTURES, BatchTopKSAE, MatchingPursuitSAE, TopKSAE, build_sae


def sparse_data(n=2000, d=8, f=16, p=0.1, seed=0):
    """Activations that are sparse sums of f known unit directions in d dimensions."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((f, d))
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)
    codes = (rng.random((n, f)) < p) * rng.random((n, f))
    return (codes @ truth).astype(np.float32), truth


@pytest.mark.parametrize("arch", sorted(SAE_ARCHITECTURES))
def test_every_architecture_encodes_decodes_and_trains(arch):
    acts, _ = sparse_data()
    settings = {"relu": {"l1_coefficient": 0.05}, "jumprelu": {"l0_coefficient": 0.05}}.get(arch, {"k": 3})
    torch.manual_seed(0)
    sae = build_sae(arch, {"d_in": 8, "width": 32, **settings}).fit_input(torch.as_tensor(acts))
    x = torch.as_tensor(acts[:50])
    codes = sae.encode(x)
    assert codes.shape == (50, 32) and (codes >= 0).all()
    assert sae.decode(codes).shape == (50, 8)
    before = explain.reconstruction_metrics(sae, acts)["explained_variance"]
    explain.train_sae(sae, acts, explain.SAETrainConfig(epochs=4, batch_size=128, lr=3e-3, dead_window=50, resample_every=0 if sae.uses_aux_loss else 40), device="cpu")
    after = explain.reconstruction_metrics(sae, acts)
    assert after["explained_variance"] > max(before, 0.3)
    norms = sae.W_dec.detach().norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)  # unit-norm decoder rows
    if arch in ("topk", "mp"):
        assert after["l0"] <= 3 + 1e-9


def dense_topk_loss(sae: TopKSAE, x: torch.Tensor, dead: torch.Tensor) -> torch.Tensor:
    """The same loss written densely with plain autograd: the reference for the sparse path."""
    target = x / sae.input_scale
    pre = (target - sae.b_dec) @ sae.W_enc.t() + sae.b_enc
    idx = pre.detach().topk(sae.k, dim=1).indices
    codes = torch.zeros_like(pre).scatter(1, idx, torch.relu(pre.gather(1, idx)))
    recon = codes @ sae.W_dec + sae.b_dec
    loss = (recon - target).pow(2).sum(1).mean()
    k_aux = min(sae.config.aux_k or sae.d_in // 2, int(dead.sum()))
    scale = min(int(dead.sum()) / (sae.config.aux_k or sae.d_in // 2), 1.0)
    aux_idx = pre.detach().masked_fill(~dead, -float("inf")).topk(k_aux, dim=1).indices
    aux_codes = torch.zeros_like(pre).scatter(1, aux_idx, pre.gather(1, aux_idx))
    residual = (target - recon).detach()
    return loss + sae.config.aux_coefficient * scale * (aux_codes @ sae.W_dec - residual).pow(2).sum(1).mean()


def test_sparse_training_path_has_the_dense_gradient():
    acts, _ = sparse_data(n=64, d=8)
    torch.manual_seed(1)
    sae = TopKSAE(8, 24, k=3).fit_input(torch.as_tensor(acts))
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.1)
        sae.b_dec.normal_(0, 0.1)
        sae.W_enc.add_(0.2 * torch.randn_like(sae.W_enc))
    dead = torch.zeros(24, dtype=torch.bool)
    dead[::3] = True
    x = torch.as_tensor(acts)
    sparse_loss, _ = sae.training_loss(x, dead)
    sparse_grads = torch.autograd.grad(sparse_loss, [sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec])
    dense = dense_topk_loss(sae, x, dead)
    dense_grads = torch.autograd.grad(dense, [sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec])
    assert float(sparse_loss.detach()) == pytest.approx(float(dense.detach()), rel=1e-5)
    for got, want in zip(sparse_grads, dense_grads):
        assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_topk_keeps_exactly_k_and_batchtopk_uses_its_threshold_at_inference():
    acts, _ = sparse_data()
    torch.manual_seed(0)
    sae = TopKSAE(8, 32, k=4).fit_input(torch.as_tensor(acts))
    assert ((sae.encode(torch.as_tensor(acts)) > 0).sum(1) <= 4).all()
    batch = BatchTopKSAE(8, 32, k=4).fit_input(torch.as_tensor(acts))
    explain.train_sae(batch, acts, explain.SAETrainConfig(epochs=3, batch_size=200, lr=3e-3), device="cpu")
    assert float(batch.threshold) > 0
    codes = batch.eval().encode(torch.as_tensor(acts))
    pre = batch.pre_acts(torch.as_tensor(acts))
    assert torch.equal(codes > 0, pre > batch.threshold)
    assert 1 <= float((codes > 0).sum(1).float().mean()) <= 12


def test_matching_pursuit_stops_at_k_and_explains_exact_atoms():
    torch.manual_seed(0)
    mp = MatchingPursuitSAE(6, 6, k=2, tolerance=1e-6)
    with torch.no_grad():
        mp.W_dec.copy_(torch.eye(6))
    x = torch.tensor([[0.0, 2.0, 0.0, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    codes = mp.encode(x)
    assert torch.allclose(codes, x)  # orthonormal atoms: pursuit finds the exact coefficients
    assert ((mp.encode(torch.ones(1, 6)) > 0).sum() == 2)  # never more than k steps


def test_training_reports_progress_and_can_be_cancelled():
    acts, _ = sparse_data()
    events = []
    sae = TopKSAE(8, 16, k=2).fit_input(torch.as_tensor(acts))
    result = explain.train_sae(sae, acts, explain.SAETrainConfig(steps=40, batch_size=64), device="cpu", progress=events.append, log_points=10)
    assert len(events) == 10 and events[-1].step == events[-1].total == 40
    assert result.history["step"][-1] == 40 and len(result.history["explained_variance"]) == 10
    with pytest.raises(TrainingCancelled):
        explain.train_sae(sae, acts, explain.SAETrainConfig(steps=40, batch_size=64), device="cpu", cancel=lambda: True)


def test_explained_variance_is_measured_around_the_mean():
    acts, _ = sparse_data()
    acts = acts + 5.0  # a large mean must not inflate the score
    sae = TopKSAE(8, 16, k=1).fit_input(torch.as_tensor(acts))
    with torch.no_grad():
        sae.W_dec.zero_()  # reconstruction = b_dec = the mean: explains nothing
        sae.b_dec.copy_(torch.as_tensor(acts.mean(0)) / sae.input_scale)
    assert explain.reconstruction_metrics(sae, acts)["explained_variance"] == pytest.approx(0.0, abs=1e-4)


def test_feature_recovery_mmcs_and_hungarian_mcc():
    _, truth = sparse_data(f=10, d=8)
    perfect = explain.feature_recovery(truth[::-1].copy(), truth)
    assert perfect.mmcs == pytest.approx(1.0) and perfect.mcc == pytest.approx(1.0)
    assert (perfect.matched_latent == np.arange(9, -1, -1)).all()
    duplicated = explain.feature_recovery(np.repeat(truth[:1], 10, axis=0), truth)
    assert duplicated.mmcs == pytest.approx(float((truth @ truth[0]).mean()))  # best (signed) cosine, averaged
    assert duplicated.mcc < 0.6  # one direction cannot be matched to ten features
    random = explain.feature_recovery(np.random.default_rng(3).standard_normal((10, 8)), truth)
    assert random.mmcs < 0.9


def test_intervals_histogram_top_examples_and_effects():
    column = np.array([0, 0.1, 0.95, 1.0, 0, 0.5, 0.55, 0.2, 0, 0.05], dtype=np.float32)
    ids, values = explain.top_examples(column, n_top=3)
    assert ids.tolist() == [3, 2, 6] and values.tolist() == pytest.approx([1.0, 0.95, 0.55])
    intervals = explain.activation_intervals(column, per_interval=2)
    assert len(intervals.edges) == 11 and intervals.edges[-1] == pytest.approx(1.0)
    assert intervals.share.sum() == pytest.approx(1.0) and intervals.counts.sum() == 7
    for b, samples in enumerate(intervals.samples):
        assert len(samples) <= 2
        assert all(intervals.edges[b] - 1e-6 <= column[i] <= intervals.edges[b + 1] + 1e-6 for i in samples)
    counts, _ = explain.activation_histogram(column)
    assert counts.sum() == 7
    W_dec = np.array([[1.0, 0.0], [0.0, -1.0]])
    outputs = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    up, up_v, down, down_v = explain.output_effects(W_dec, outputs, n=2)
    assert up.shape == (2, 1) and up[0, 0] == 0 and down[0, 0] == 2 and down[1, 0] == 1 and up_v[0, 0] == pytest.approx(2.0)


def test_codes_round_trip_and_contributions_sum_to_one():
    acts, _ = sparse_data(n=300)
    sae = TopKSAE(8, 16, k=3).fit_input(torch.as_tensor(acts))
    codes = explain.encode_codes(sae, acts)
    again = explain.Codes.from_arrays(codes.to_arrays())
    assert codes.n == again.n == 300 and np.array_equal(codes.indices, again.indices)
    dense = sae.encode(torch.as_tensor(acts)).detach().numpy()
    assert np.allclose(again.to_scipy().toarray(), dense, atol=2e-3 * np.abs(dense).max())
    assert np.allclose(codes.column(5), again.to_scipy().toarray()[:, 5])
    frame = explain.contributions(sae, acts[7])
    assert frame["share"].sum() == pytest.approx(1.0, abs=1e-5)
    stored = explain.contributions_from_codes(*codes.row(7), sae.W_dec.detach().numpy())
    assert stored["feature"].tolist() == frame["feature"].tolist()
    table = explain.feature_table(codes, [""] * 16)
    assert table["density"].tolist() == pytest.approx((dense > 0).mean(0).tolist(), abs=1e-9)


def test_token_highlighting_escapes_markdown_and_html_and_joins_wordpieces():
    from interp_core.families.sae.figures import highlight_tokens_html

    out = highlight_tokens_html(["x", "*", "<b>", "con", "##cat"], np.array([0.0, 1.0, 0.5, 2.0, 0.0]), 2.0, focus=3)
    assert "<b>" not in out and "&lt;b&gt;" in out and "&#42;" in out and "*" not in out.replace("&#42;", "")
    assert ">con</span><span" in out  # '##cat' continues 'con' with no space
    assert "rgba(255,140,0,1.00)" in out and "rgba(255,140,0,0.50)" in out and "border-bottom" in out
