"""Prototype networks: loss terms, push and metrics on cases whose answer is known (interp_core.models/explain.prototypes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from interp_core.families.prototypes import explain as ex
from interp_core.families.prototypes.models import (
    Conv1dPrototypeNet,
    ConvPrototypeNet,
    MLPPrototypeNet,
    gaussian_kl,
    log_similarity,
    r1_loss,
    r2_loss,
    squared_distances,
)


def tiny_mlp(probabilistic: bool = False, **kwargs) -> MLPPrototypeNet:
    torch.manual_seed(0)
    return MLPPrototypeNet([3], 2, prototypes_per_class=2, hidden=[8], latent_dim=2, probabilistic=probabilistic, **kwargs)


def blobs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = (rng.normal(size=(n, 3)) + 3.0 * y[:, None]).astype(np.float32)
    return X, y.astype(np.int64)


# -- loss terms ------------------------------------------------------------------------------------
def test_squared_distances_r1_and_r2_on_a_known_case():
    z = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    p = torch.tensor([[0.0, 0.0], [6.0, 8.0], [3.0, 5.0]])
    d = squared_distances(z, p)
    assert d.tolist() == [[0.0, 100.0, 34.0], [25.0, 25.0, 1.0]]
    # R1: each prototype's nearest input: 0, 25, 1 -> mean 26/3; R2: each input's nearest prototype: 0, 1 -> 0.5
    assert float(r1_loss(d)) == pytest.approx(26 / 3)
    assert float(r2_loss(d)) == pytest.approx(0.5)


def test_log_similarity_is_protopnets_and_falls_with_distance():
    d = torch.tensor([0.0, 1.0, 10.0])
    s = log_similarity(d)
    assert float(s[0]) == pytest.approx(math.log(1 / 1e-4))
    assert float(s[1]) == pytest.approx(math.log(2 / 1.0001))
    assert s[0] > s[1] > s[2] > 0


def test_gaussian_kl_is_zero_at_the_prior_and_known_elsewhere():
    assert float(gaussian_kl(torch.full((3, 2), 2 * math.log(0.5)), 0.5)) == pytest.approx(0.0, abs=1e-7)
    # variance 4 against a unit prior: 0.5 * (4 - 1 - log 4)
    assert float(gaussian_kl(torch.full((1, 1), math.log(4.0)), 1.0)) == pytest.approx(0.5 * (3 - math.log(4)))


def test_loss_terms_match_their_definitions_and_the_weighted_sum():
    weights = {"ce": 20.0, "recon": 2.0, "r1": 3.0, "r2": 5.0, "l1": 0.1}
    model = tiny_mlp(loss_weights=weights)
    X, y = blobs(12)
    model.fit_input_scale(X)
    x, target = torch.as_tensor(X), torch.as_tensor(y)
    with torch.no_grad():
        terms = model.loss_terms(x, target)
        z = model.embed(x)
        d = squared_distances(z, model.prototype_vectors)
        logits, decoded, total = model(x), model.decode_scaled(z), model.training_loss(x, target)
    assert float(terms["ce"]) == pytest.approx(float(F.cross_entropy(logits, target)), rel=1e-6)
    u = (x - model.input_scale.shift) / model.input_scale.scale
    assert float(terms["recon"]) == pytest.approx(float(((decoded - u) ** 2).mean()), rel=1e-6)
    assert float(terms["r1"]) == pytest.approx(float(d.min(0).values.mean()), rel=1e-6)
    assert float(terms["r2"]) == pytest.approx(float(d.min(1).values.mean()), rel=1e-6)
    # ProtoPNet's start: -0.5 from each of the 4 prototypes to the one class it does not belong to
    assert float(terms["l1"]) == pytest.approx(4 * 0.5)
    expected = sum(weights[k] * float(v) for k, v in terms.items())
    assert float(total) == pytest.approx(expected, rel=1e-6)


def test_logits_are_minus_distances_times_the_last_layer_li_et_al():
    model = tiny_mlp()
    X, _ = blobs(6)
    model.fit_input_scale(X)
    x = torch.as_tensor(X)
    d = squared_distances(model.embed(x), model.prototype_vectors)
    assert torch.allclose(model(x), -d @ model.last_layer.weight.T, atol=1e-6)
    assert model.last_layer.weight.tolist() == [[1.0, 1.0, -0.5, -0.5], [-0.5, -0.5, 1.0, 1.0]]
    assert model.prototype_class.tolist() == [0, 0, 1, 1]


def test_a_probabilistic_model_samples_in_training_only():
    model = tiny_mlp(probabilistic=True, init_log_var=0.0)
    X, y = blobs(10)
    model.fit_input_scale(X)
    x, target = torch.as_tensor(X), torch.as_tensor(y)
    with torch.no_grad():
        model.train()
        assert float(model.loss_terms(x, target)["ce"]) != float(model.loss_terms(x, target)["ce"])
        assert "kl" in model.loss_terms(x, target)
        model.eval()
        assert float(model.loss_terms(x, target)["ce"]) == float(model.loss_terms(x, target)["ce"])
    before = model(x)
    with torch.no_grad():
        model.prototype_log_var.fill_(5.0)
    assert torch.equal(model(x), before)  # predictions use the means
    assert model.sample_prototypes(3).shape == (3, 4, 2)


@pytest.mark.parametrize("cls,shape", [
    (ConvPrototypeNet, (1, 8, 8)),
    (ConvPrototypeNet, (1, 28, 28)),
    (ConvPrototypeNet, (3, 7, 9)),
    (Conv1dPrototypeNet, (1, 150)),
    (Conv1dPrototypeNet, (2, 37)),
    (MLPPrototypeNet, (30,)),
])
def test_each_architecture_decodes_back_to_the_input_shape(cls, shape):
    model = cls(list(shape), 3).eval()
    x = torch.rand(4, *shape)
    model.fit_input_scale(x.numpy())
    z = model.embed(x)
    assert z.shape == (4, model.latent_dim)
    assert model.decode(z).shape == (4, *shape)
    assert model(x).shape == (4, 3)
    assert torch.isfinite(model.training_loss(x, torch.tensor([0, 1, 2, 0]))).item()


def test_conv_depth_follows_li_et_al_on_28x28():
    assert ConvPrototypeNet([1, 28, 28], 10).channels == [32, 32, 32, 10]
    assert ConvPrototypeNet([1, 8, 8], 10).channels == [32, 10]


def test_a_min_max_scaled_image_model_decodes_in_the_data_units():
    model = ConvPrototypeNet([1, 4, 4], 2).eval()
    model.fit_input_scale(np.full((2, 1, 4, 4), 10.0) + np.arange(2)[:, None, None, None] * 20)
    with torch.no_grad():
        decoded = model.decode(torch.zeros(1, model.latent_dim))
    assert float(decoded.min()) >= 10.0 and float(decoded.max()) <= 30.0  # sigmoid output mapped back to [10, 30]


# -- push --------------------------------------------------------------------------------------------
def test_nearest_of_class_takes_the_prototypes_own_class_even_when_another_is_closer():
    latent = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    y = np.array([1, 0, 0])
    index, distance = ex.nearest_of_class(latent, y, np.array([[0.1, 0.0], [4.0, 4.0]]), np.array([0, 1]))
    assert index.tolist() == [1, 0]
    assert distance.tolist() == pytest.approx([0.81, 32.0])
    missing, gap = ex.nearest_of_class(latent, y, np.array([[0.0, 0.0]]), np.array([2]))
    assert missing.tolist() == [-1] and np.isinf(gap[0])


def test_push_moves_each_prototype_onto_an_encoded_training_example_of_its_class():
    model = tiny_mlp().eval()
    X, y = blobs(30)
    model.fit_input_scale(X)
    original = model.prototype_vectors.detach().clone()
    with torch.no_grad():  # put prototype 2 exactly on an encoded class-1 example: it must not move
        model.prototype_vectors[2] = model.embed(torch.as_tensor(X[1:2]))[0]
    push = ex.push_prototypes(model, X, y, X, y)
    latent = model.embed(torch.as_tensor(X)).detach().numpy()
    assert np.allclose(push.prototypes, latent[push.train_index])
    assert (y[push.train_index] == model.prototype_class.numpy()).all()
    assert push.moved[2] == pytest.approx(0.0, abs=1e-9) and push.train_index[2] in np.flatnonzero((latent == latent[1]).all(1))
    assert torch.equal(model.prototype_vectors[[0, 1, 3]], original[[0, 1, 3]])  # push_prototypes changes nothing
    pushed = ex.pushed_copy(model, push.prototypes)
    accuracy_after = float((pushed(torch.as_tensor(X)).argmax(1).numpy() == y).mean())
    assert push.accuracy_after == pytest.approx(accuracy_after)
    assert push.accuracy_before == pytest.approx(float((model(torch.as_tensor(X)).argmax(1).numpy() == y).mean()))


# -- metrics -----------------------------------------------------------------------------------------
def test_purity_counts_a_prototypes_neighbours_of_its_class():
    latent = np.concatenate([np.arange(10), 100 + np.arange(10)]).astype(float)[:, None]
    y = np.array([0] * 10 + [1] * 10)
    purity = ex.prototype_purity(latent, y, np.array([[0.0], [100.0], [5.0], [55.0]]), np.array([0, 1, 1, 0]), k=10)
    # the fourth sits between the classes: its 10 nearest are 5 of each (ties broken by index)
    assert purity.purity.tolist() == [1.0, 1.0, 0.0, 0.5]
    assert purity.neighbours[0].tolist() == list(range(10))
    assert purity.distances[1, 0] == 0.0
    assert ex.prototype_purity(latent, y, np.array([[0.0]]), np.array([0]), k=15).purity[0] == pytest.approx(10 / 15)


def test_nearest_example_distances_are_rms_per_value():
    examples = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]])
    index, distance = ex.nearest_examples(np.array([[3.0, 4.0], [0.0, 2.0]]), examples)
    assert index.tolist() == [1, 0]
    assert distance.tolist() == pytest.approx([0.0, math.sqrt(4 / 2)])
    # nearest other examples: 25, 1, 1 (squared) -> RMS sqrt(12.5), sqrt(0.5), sqrt(0.5); median sqrt(0.5)
    assert ex.typical_neighbour_distance(examples) == pytest.approx(math.sqrt(0.5))


def test_stability_is_the_share_of_unchanged_top_prototypes():
    rate, per_example = ex.top_prototype_stability(np.array([0, 1, 2, 3]), np.array([[0, 1, 2, 0], [0, 1, 0, 0]]))
    assert rate == pytest.approx(5 / 8)
    assert per_example.tolist() == [1.0, 1.0, 0.5, 0.0]


def test_stability_is_perfect_without_noise_and_drops_with_a_lot_of_it():
    model = tiny_mlp().eval()
    X, _ = blobs(40)
    model.fit_input_scale(X)
    clean = ex.forward_details(model, X).top_prototype
    assert ex.top_prototype_stability(clean, ex.noisy_top_prototypes(model, X, noise_level=0.0))[0] == 1.0
    assert ex.top_prototype_stability(clean, ex.noisy_top_prototypes(model, X, noise_level=5.0))[0] < 1.0


def test_auroc_on_known_cases_and_against_scikit_learn():
    from sklearn.metrics import roc_auc_score

    assert ex.auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert ex.auroc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert ex.auroc(np.ones(4), np.array([0, 1, 0, 1])) == 0.5
    assert math.isnan(ex.auroc(np.ones(3), np.zeros(3)))
    rng = np.random.default_rng(1)
    score, positive = rng.normal(size=200).round(1), rng.random(200) < 0.3
    assert ex.auroc(score, positive) == pytest.approx(roc_auc_score(positive, score))


def test_entropy_of_known_distributions():
    assert ex.entropy(np.array([[0.5, 0.5], [1.0, 0.0]])).tolist() == pytest.approx([math.log(2), 0.0], abs=1e-9)


def test_sampling_a_near_point_distribution_changes_nothing_and_a_wide_one_does():
    model = tiny_mlp(probabilistic=True, init_log_var=-40.0).eval()
    X, y = blobs(40)
    model.fit_input_scale(X)
    base = ex.forward_details(model, X)
    narrow = ex.sample_predictions(model, X, n_samples=16)
    assert narrow.top_change_rate.max() == 0.0 and narrow.class_flip_rate.max() == 0.0
    assert np.allclose(narrow.probabilities, base.probabilities, atol=1e-5)
    assert np.allclose(narrow.similarity_std, 0.0, atol=1e-5) and not narrow.flagged.any()
    with torch.no_grad():
        model.prototype_log_var.fill_(math.log(25.0))
    wide = ex.sample_predictions(model, X, n_samples=16)
    assert wide.top_change_rate.mean() > 0.2 and wide.similarity_std.mean() > 0
    assert wide.flagged.sum() >= wide.explanation_uncertain.sum() > 0
    assert wide.probabilities.shape == (40, 2) and wide.similarity_mean.shape == (40, 4)


def test_local_contributions_add_up_to_the_logit_minus_its_training_average():
    similarities = np.array([-1.0, -4.0, -2.0])
    weights = np.array([[1.0, -0.5], [-0.5, 1.0], [1.0, -0.5]])
    baseline = np.array([-3.0, -3.0, -3.0])
    local = ex.local_explanation(similarities, -similarities, weights, baseline)
    logits = similarities @ weights
    assert local.predicted == int(logits.argmax()) == 0
    assert local.contributions.sum() == pytest.approx(local.logit - local.baseline_logit)
    assert local.baseline_logit == pytest.approx(baseline @ weights[:, 0])
    assert local.order.tolist() == [0, 2, 1]
    assert local.probabilities.sum() == pytest.approx(1.0)
    plain = ex.local_explanation(similarities, -similarities, weights)
    assert plain.contributions.sum() == pytest.approx(plain.logit)


def test_analyse_reports_every_metric_of_the_issue():
    from interp_core.data import Dataset

    X, y = blobs(60)
    dataset = Dataset("blobs", "tabular", X[:40], y[:40], X[40:], y[40:], ["a", "b"])
    model = tiny_mlp(probabilistic=True, init_log_var=-2.0)
    model.fit_input_scale(dataset.X_train)
    report = ex.analyse(model, dataset, n_samples=8)
    for key in ("test_accuracy", "prototype_purity", "stability", "n_prototypes", "uncertainty_auroc", "decoded_distance"):
        assert key in report.metrics
    assert report.metrics["n_prototypes"] == 4
    assert report.decoded.shape == (4, 3) and report.latent_train.shape == (40, 2)
    assert report.metrics["test_accuracy"] == pytest.approx(float((model(torch.as_tensor(dataset.X_test)).argmax(1).numpy() == dataset.y_test).mean()))
    assert report.similarity_baseline == pytest.approx(report_train_mean(model, dataset.X_train))
    local = report.local(3)
    assert local.similarity_std is not None and local.contributions.shape == (4,)


def report_train_mean(model, X) -> np.ndarray:
    return ex.forward_details(model, X).similarities.mean(axis=0)


def test_metric_readings_say_what_each_number_means():
    readings = ex.metric_readings({"test_accuracy": 0.9, "prototype_purity": 0.5, "stability": 0.95, "noise_level": 0.05, "decoded_distance_ratio": 3.0,
                                   "push_accuracy_before": 0.9, "push_accuracy_after": 0.88, "uncertainty_auroc": None})
    assert "90.0%" in readings["test_accuracy"]
    assert "5.0 of a prototype's 10" in readings["prototype_purity"] and "between classes" in readings["prototype_purity"]
    assert "robust" in readings["stability"]
    assert "may not look like any real case" in readings["decoded_distance"]
    assert "down 2.0 percentage points" in readings["push"]
    assert "No wrong test predictions" in readings["uncertainty_auroc"]
    assert "useful warning" in ex.metric_readings({"uncertainty_auroc": 0.9})["uncertainty_auroc"]


# -- figures -----------------------------------------------------------------------------------------
def test_every_figure_has_a_title_and_a_how_to_read_line():
    from interp_core.figures import HOW_TO_READ
    from interp_core.families.prototypes import figures as figs

    classes, names = np.array([0, 0, 1, 1]), ["a", "b"]
    rng = np.random.default_rng(0)
    built = {
        "prototype_gallery": figs.picture_grid(rng.random((4, 1, 8, 8)), ["P0", "P1", "P2", "P3"], "image", "Prototype gallery", notes=["w"] * 4),
        "nearest_training_examples": figs.picture_grid(rng.random((3, 1, 20)), ["x", "y", "z"], "series", "Neighbours", overlay=rng.random((1, 20)), references=rng.random((3, 1, 20))),
        "prototype_profiles": figs.profile_heatmap(rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), ["P0", "P1", "P2", "P3"], list("abcde"), "Profiles"),
        "prototype_weights": figs.weight_heatmap(rng.normal(size=(4, 2)), classes, names),
        "latent_map": figs.latent_map(rng.normal(size=(3 + 2 + 4, 2)), 3, np.array([0, 1, 0]), np.array([0, 1]), np.array([1, 1]), classes, names, 1, 2),
        "looks_like_that": figs.looks_like_that(rng.normal(size=5), rng.normal(size=(2, 5)), ["P0", "P1<br>sim"], "tabular", "example", ["red", "blue"], list("abcde"), rng.normal(size=5), rng.normal(size=(2, 5))),
        "prototype_contributions": figs.prototype_contributions(np.array([1.0, -0.5, 0.2, 0.0]), np.zeros(4), classes, names, 0, 3.0, [0], 2.3),
        "similarity_spread": figs.similarity_spread(np.array([-1.0, -2.0]), np.array([0.1, 0.3]), ["P0", "P1"], ["red", "blue"]),
        "predictive_distribution": figs.predictive_distribution(np.array([0.7, 0.3]), np.array([0.1, 0.1]), names, 0),
        "uncertainty_by_correctness": figs.uncertainty_by_correctness(rng.random(10), np.arange(10) < 3),
    }
    for key, fig in built.items():
        assert key in HOW_TO_READ, key
        assert fig.layout.title.text, key
    latent = built["latent_map"]
    kinds = {int(p[0]) for trace in latent.data for p in np.atleast_2d(trace.customdata)}
    assert kinds == {0, 1, 2}  # test, training and prototype points are told apart by their customdata
    assert "+0.70" in built["prototype_contributions"].layout.title.text  # 3.0 - 2.3
