"""Time-series engine: generators with ground truth, attribution methods, TimeX scores,
deletion/insertion, the stored report, the masked FCN and the transformer."""

import numpy as np
import pytest
import torch
from torch import nn

from interp_core.families.timeseries import data as tsdata
from interp_core.errors import InterpError
from interp_core.families.timeseries import explain as tsx
from interp_core.models.classifiers import FCN1d
from interp_core.families.timeseries.models import MaskedFCN1d, SeriesTransformer


# -- generators ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(tsdata.GENERATORS))
def test_generators_are_seeded_balanced_and_carry_masks(name):
    ds = tsdata.synthetic(name, n_train=40, n_test=20)
    again = tsdata.synthetic(name, n_train=40, n_test=20)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    np.testing.assert_array_equal(ds.mask_test, again.mask_test)
    assert ds.mask_train.shape == ds.X_train.shape and ds.mask_test.shape == ds.X_test.shape
    assert set(np.unique(ds.mask_train)) <= {0.0, 1.0}
    assert np.bincount(ds.y_train).tolist() == [10, 10, 10, 10]
    assert not np.array_equal(ds.X_train[:20], ds.X_test)  # train and test come from different seeds


def test_freqshapes_spikes_are_the_mask_and_their_direction_is_the_class():
    X, y, mask = tsdata.freq_shapes(200, seed=3)
    for i in range(200):
        on = mask[i, 0] > 0
        assert on.sum() % 3 == 0 and on.sum() >= 3  # whole spikes of three steps (spacing 17 may leave room for one)
        spike_mean = X[i, 0, on].mean()
        assert (spike_mean > 1.0) if y[i] % 2 == 1 else (spike_mean < -1.0)
        assert abs(X[i, 0, ~on].mean()) < 0.3  # the rest is noise around zero


def test_seqcomb_null_class_has_no_ground_truth_and_others_have_two_ramps():
    X, y, mask = tsdata.seq_comb(80, seed=1, channels=4, seq_lengths=(15, 30))
    per_series = mask.reshape(80, -1).sum(1)
    assert (per_series[y == 0] == 0).all()
    assert (per_series[y != 0] >= 30).all()
    for i in np.flatnonzero(y != 0):
        assert (mask[i].sum(axis=1) > 0).sum() == 2  # two different channels


def test_lowvar_channel_and_sign_decide_the_class():
    X, y, mask = tsdata.low_var(80, seed=2)
    for i in range(80):
        channel = int(np.flatnonzero(mask[i].sum(axis=1))[0])
        assert channel == (0 if y[i] in (0, 1) else 1)
        segment = X[i, channel, mask[i, channel] > 0]
        assert segment.std() < 0.3
        assert np.sign(segment.mean()) == (-1 if y[i] in (0, 2) else 1)


def test_pad_and_mask_adds_an_observed_channel():
    series = [np.ones((2, 3)), 2 * np.ones((2, 5))]
    out = tsdata.pad_and_mask(series, 5)
    assert out.shape == (2, 3, 5)
    assert out[0, 2].tolist() == [1, 1, 1, 0, 0] and out[0, 0, 3:].tolist() == [0, 0]
    assert out[1, 2].tolist() == [1] * 5


# -- ground-truth scores ------------------------------------------------------------------------
def _masks(n=6, c=2, t=40, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, c, t), np.float32)
    for i in range(n):
        start = rng.integers(0, t - 8)
        masks[i, rng.integers(c), start : start + 8] = 1
    return masks


def test_a_perfect_attribution_scores_one():
    masks = _masks()
    scores = tsx.ground_truth_scores(masks * 3.0, masks)
    assert scores.mean()["auprc"] == pytest.approx(1.0)
    assert scores.mean()["aur"] == pytest.approx(1.0)
    # a graded attribution that ranks every true step first is still perfect
    graded = masks * 5 + np.random.default_rng(1).uniform(0, 1, masks.shape)
    assert tsx.ground_truth_scores(graded, masks).mean()["auprc"] == pytest.approx(1.0)


def test_a_reversed_attribution_scores_low():
    masks = _masks()
    base_rate = masks.reshape(len(masks), -1).mean(1).mean()
    reversed_scores = tsx.ground_truth_scores(1.0 - masks, masks).mean()
    assert reversed_scores["auprc"] == pytest.approx(base_rate, abs=1e-6)  # what ranking every true step last gives
    assert reversed_scores["auprc"] <= 0.1 + 1e-9  # 8 true steps of 80
    random = tsx.ground_truth_scores(np.random.default_rng(0).uniform(size=masks.shape), masks).mean()
    assert reversed_scores["auprc"] < random["auprc"] < 0.5


def test_empty_masks_are_skipped_and_shapes_must_match():
    masks = _masks(n=4)
    masks[0] = 0
    scores = tsx.ground_truth_scores(masks, masks)
    assert np.isnan(scores.auprc[0]) and scores.scored.sum() == 3
    assert scores.mean()["auprc"] == pytest.approx(1.0)
    assert tsx.ground_truth_scores(masks[:1], masks[:1]).mean()["auprc"] is None
    with pytest.raises(InterpError, match="same shape"):
        tsx.ground_truth_scores(masks, masks[:, :1])


def test_signed_scoring_penalises_negative_evidence():
    masks = _masks(n=3, c=1)
    attribution = -masks + 0.01  # strong but negative on the true steps
    assert tsx.ground_truth_scores(attribution, masks, absolute=True).mean()["auprc"] == pytest.approx(1.0)
    assert tsx.ground_truth_scores(attribution, masks, absolute=False).mean()["auprc"] < 0.3


# -- attribution methods ------------------------------------------------------------------------
class LinearSeries(nn.Module):
    """Logit k = sum(w_k * x): every additive method's exact answer for target k is w_k * (x - baseline)."""

    def __init__(self, weights: np.ndarray):
        super().__init__()
        self.weights = nn.Parameter(torch.as_tensor(weights, dtype=torch.float32))

    def forward(self, x):
        return torch.einsum("nct,kct->nk", x, self.weights)


@pytest.fixture
def linear():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 2, 12)).astype(np.float32)
    X = rng.normal(size=(5, 2, 12)).astype(np.float32)
    return LinearSeries(weights), weights, X


@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift", "feature_ablation"])
def test_additive_methods_recover_a_linear_model_exactly(linear, method):
    model, weights, X = linear
    target = np.array([0, 1, 2, 1, 0])
    baseline = np.full((2, 1), 0.5, np.float32)
    got = tsx.make_attribution(model, method, baseline=baseline, window=1).attribute(X, target)
    expected = weights[target] * (X - baseline)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_saliency_is_the_absolute_gradient_and_gradient_shap_matches_in_expectation(linear):
    model, weights, X = linear
    target = np.zeros(5, dtype=int)
    np.testing.assert_allclose(tsx.attribute(model, X, target, "saliency"), np.abs(np.broadcast_to(weights[0], X.shape)), rtol=1e-5)
    # for a linear model GradientSHAP is w * (x + noise - mean baseline): close to w * (x - mean(background))
    background = np.random.default_rng(1).normal(size=(64, 2, 12)).astype(np.float32)
    method = tsx.GradientShap(model, background=background)
    method.n_samples = 400
    got = method.attribute(X, target)
    np.testing.assert_allclose(got, weights[0] * (X - background.mean(0)), atol=0.35)


@pytest.mark.parametrize("method", list(tsx.METHODS) + ["random", "deeplift+tsr", "occlusion+tsr"])
def test_every_method_keeps_the_input_shape_on_a_cnn(method):
    torch.manual_seed(0)
    model = FCN1d([3, 30], 4, channels=[8, 8, 8]).eval()
    X = np.random.default_rng(0).normal(size=(5, 3, 30)).astype(np.float32)
    options = {"tsr_window": 10} if method.endswith("+tsr") else {}  # 3 windows keep TSR quick here
    out = tsx.make_attribution(model, method, batch_size=2, **options).attribute(X, [0, 1, 2, 3, 0])
    assert out.shape == X.shape and np.isfinite(out).all()
    single = tsx.make_attribution(model, method, **options).attribute(X[1], 1)  # one (channels, time) series
    assert single.shape == (1, 3, 30)
    if not method.startswith(("random",)):
        np.testing.assert_allclose(single[0], out[1], rtol=1e-4, atol=1e-6)  # batching does not change a series' map


def test_tsr_is_non_negative_and_zero_outside_the_selected_windows():
    torch.manual_seed(0)
    model = FCN1d([2, 50], 2, channels=[8, 8, 8]).eval()
    X = np.random.default_rng(0).normal(size=(3, 2, 50)).astype(np.float32)
    out = tsx.attribute(model, X, [0, 1, 0], "saliency+tsr", tsr_window=5)
    assert (out >= 0).all()
    per_window = out.reshape(3, 2, 10, 5).max(axis=(1, 3))
    assert ((per_window == 0).sum(axis=1) >= 5).all()  # the 55 % least time-relevant windows are zero


def test_method_names_and_targets_are_checked():
    assert tsx.resolve_methods("ig, Occlusion+TSR,fa") == ["integrated_gradients", "occlusion+tsr", "feature_ablation"]
    assert tsx.resolve_methods(None) == list(tsx.METHODS)
    with pytest.raises(InterpError, match="Unknown attribution method 'lime'"):
        tsx.resolve_methods("ig,lime")
    model = FCN1d([1, 10], 2, channels=[4, 4, 4])
    with pytest.raises(InterpError, match="3 targets were given for 2 series"):
        tsx.attribute(model, np.zeros((2, 1, 10)), [0, 1, 0])
    with pytest.raises(InterpError, match="expected \\(n, channels, time\\)"):
        tsx.attribute(model, np.zeros((2, 1, 1, 10)), 0)


# -- deletion / insertion, profiles, report -----------------------------------------------------
class OneStep(nn.Module):
    """Class 1's logit is 4 * x[0, 7], class 0's is 3: only step 7 matters (p = 0.99 with it, 0.05 without)."""

    def forward(self, x):
        return torch.stack([torch.full((len(x),), 3.0), 4 * x[:, 0, 7]], dim=1)


def test_deletion_and_insertion_reward_the_attribution_that_finds_the_decisive_step():
    X = np.zeros((4, 1, 20), np.float32)
    X[:, 0, 7] = 2.0
    good = np.zeros_like(X)
    good[:, 0, 7] = 1.0
    bad = np.zeros_like(X)
    bad[:, 0, 15] = 1.0
    model = OneStep()
    right = tsx.deletion_insertion(model, X, good, 1)
    wrong = tsx.deletion_insertion(model, X, bad, 1)
    assert right.deletion.shape == (4, 21)
    assert right.deletion[:, 0] == pytest.approx(right.insertion[:, -1])  # both ends are the original series
    assert right.deletion_auc.mean() < 0.1 < wrong.deletion_auc.mean()
    assert right.insertion_auc.mean() > 0.9 > wrong.insertion_auc.mean()


def test_class_profiles_and_explanation_map_shapes():
    a = np.random.default_rng(0).normal(size=(12, 2, 15))
    labels = np.array([0, 1, 2] * 4)
    profiles = tsx.class_profiles(a, labels, 4)
    assert profiles.shape == (4, 2, 15) and np.isnan(profiles[3]).all()
    assert ((profiles[:3] >= 0) & (profiles[:3] <= 1)).all()
    assert tsx.explanation_map(a, "pca").shape == (12, 2)


def test_report_round_trips_through_the_store(tmp_store):
    ds = tsdata.synthetic("freqshapes", n_train=40, n_test=24)
    torch.manual_seed(0)
    model = FCN1d(list(ds.input_shape), 4, channels=[8, 8, 8]).eval()
    report = tsx.build_report(model, ds, methods=["saliency", "random"], n_examples=16, map_method="pca")
    assert len(report.example_index) == 16 and np.bincount(report.labels).tolist() == [4, 4, 4, 4]
    table = report.table()
    assert list(table["method"]) == ["saliency", "random"] and {"auprc", "aup", "aur", "deletion_auc", "insertion_auc", "series_per_s"} <= set(table)
    artifact = tmp_store.save("toy", {"model.safetensors": model.state_dict()}, {"recipe": "toy"})
    for file, payload in report.to_files().items():
        artifact = tmp_store.add_file("toy", file, payload)
    loaded = tsx.stored_report(tmp_store, tmp_store.open("toy"))
    assert loaded.methods == report.methods and loaded.map_method == "pca"
    np.testing.assert_allclose(loaded.arrays["saliency"]["auprc"], report.arrays["saliency"]["auprc"], rtol=1e-6)
    assert loaded.metrics() == report.metrics()


# -- models -------------------------------------------------------------------------------------
def test_masked_fcn_ignores_padded_values_and_gives_them_zero_attribution():
    torch.manual_seed(0)
    model = MaskedFCN1d([3, 10], 2, channels=[8, 8, 8]).eval()
    X = np.random.default_rng(0).normal(size=(2, 3, 10)).astype(np.float32)
    X[:, 2] = 1.0
    X[0, 2, 6:] = 0.0  # series 0 has 6 real steps
    model.fit_input_scale(X)
    changed = X.copy()
    changed[0, :2, 6:] = 100.0  # garbage in the padding
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.as_tensor(X)).numpy(), model(torch.as_tensor(changed)).numpy(), rtol=1e-5, atol=1e-6)
    a = tsx.attribute(model, X, [0, 1], "integrated_gradients")
    assert np.abs(a[0, :2, 6:]).max() == 0.0 and np.abs(a[0, :2, :6]).max() > 0


def test_series_transformer_shapes_and_captum_methods():
    torch.manual_seed(0)
    model = SeriesTransformer([2, 23], 3, d_model=16, n_heads=2, n_layers=1, patch=5).eval()
    X = np.random.default_rng(0).normal(size=(4, 2, 23)).astype(np.float32)
    model.fit_input_scale(X)
    with torch.no_grad():
        assert model(torch.as_tensor(X)).shape == (4, 3)
        assert model.embed(torch.as_tensor(X)).shape == (4, 16)
    for method in ("integrated_gradients", "deeplift"):
        a = tsx.attribute(model, X, 0, method)
        assert a.shape == X.shape and np.isfinite(a).all() and np.abs(a).sum() > 0
