"""The shipped Rules checkpoints: the trained black box on the generated table is explained by
rules that find the true features and thresholds; every recipe reports fidelity and rules.

Loaded from assets/store (never retrained here): the shipped checkpoints carry the real figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from interp_core import recipes
from interp_core.families.rules import explain as rx
from interp_core.store import SHIPPED_ROOT, Catalog, Store

RULES_RECIPES = [r.name for r in recipes.list_recipes("rules")]


@pytest.fixture(scope="module")
def shipped():
    import tempfile

    with tempfile.TemporaryDirectory() as empty:
        yield Catalog(Store(empty), Store(SHIPPED_ROOT, readonly=True))


def _analysis(catalog, name):
    trained = recipes.load(name, catalog, device="cpu")
    assert trained.status == "shipped" and rx.RANKING_FILE in trained.artifact.manifest["files"]
    return trained, rx.model_data(trained), rx.stored_ranker(trained, catalog.store_for(trained.artifact))


@pytest.fixture(scope="module")
def synthetic(shipped):
    return _analysis(shipped, "synthetic-rules")


def test_the_four_recipes_exist():
    assert {"breast-cancer-rules", "wine-rules", "digits-rules", "synthetic-rules"} <= set(RULES_RECIPES)


@pytest.mark.parametrize("method", ["combined", *rx.RANKING_METHODS])
def test_true_features_rank_in_the_top_k_on_the_generated_table(synthetic, method):
    trained, _, ranker = synthetic
    truth = trained.dataset.extras["rule_truth"]
    k, _ = rx.default_setting("synthetic-rules", trained.dataset.n_features)
    assert trained.dataset.n_features >= 200 and k == 5
    assert set(truth["features"].values()) <= set(ranker.importance(method).top(k))


@pytest.mark.parametrize("kind", ["tree"])
def test_rules_name_the_true_features_with_thresholds_near_the_true_ones(synthetic, kind):
    trained, data, ranker = synthetic
    truth = trained.dataset.extras["rule_truth"]
    report = rx.report_for(data, ranker, 5, 3, kind)
    assert report.fidelity > 0.9 and report.surrogate_accuracy > 0.9
    rules_text = " ".join(report.rule_strings())
    for name, threshold in truth["thresholds"].items():
        assert name in rules_text
        index = data.feature_names.index(name)
        splits = [n.threshold for n in report.surrogate.nodes_ if n.feature == index]
        nearest = min(abs(s - threshold) for s in splits)
        assert nearest < 0.1 * truth["scales"][name], f"{name}: threshold off by {nearest / truth['scales'][name]:.2f} SD"
    # and nothing else: at depth 3 the rules use exactly the three true features
    assert set(report.surrogate.used_features()) == set(truth["features"].values())


def test_the_rule_list_finds_the_true_features_too(synthetic):
    trained, data, ranker = synthetic
    truth = trained.dataset.extras["rule_truth"]
    report = rx.report_for(data, ranker, 5, 4, "rulelist")
    assert report.fidelity > 0.8
    assert set(report.surrogate.used_features()) <= set(truth["features"].values())


@pytest.mark.parametrize("name", RULES_RECIPES)
def test_every_recipe_reports_fidelity_and_rules(shipped, name):
    trained, data, ranker = _analysis(shipped, name)
    k, depth = rx.default_setting(name, data.X_train.shape[1])
    for kind in rx.SURROGATE_KINDS:
        report = rx.report_for(data, ranker, k, depth, kind)
        summary = report.summary()
        assert 0 < summary["fidelity"] <= 1 and summary["n_rules"] == len(summary["rules"]) >= 1
        assert summary["blackbox_accuracy"] == pytest.approx(float((data.blackbox_test == data.y_test).mean())) or kind == "rulelist"
        assert len(summary["top_features"]) == k
    tree = rx.report_for(data, ranker, k, depth, "tree")
    # the default setting is never worse than the shallowest surrogate
    assert tree.fidelity >= rx.report_for(data, ranker, k, 1, "tree").fidelity


def test_stored_ranking_matches_a_fresh_computation(shipped):
    trained, _, stored = _analysis(shipped, "wine-rules")
    fresh = rx.rank_features(trained, trained.manifest["seed"])
    for method in rx.RANKING_METHODS:
        np.testing.assert_allclose(stored.importances_[method].scores, fresh.importances_[method].scores, rtol=1e-4, atol=1e-6)
