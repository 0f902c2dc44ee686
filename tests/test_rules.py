"""Rules engine: rankings, surrogates, rules tables, paths, counterfactuals and trade-offs.

Fast tests use a hand-written black box that obeys the generated table's rule exactly, so they
check the engine, not training; the shipped synthetic-rules checkpoint carries the real test
(the trained MLP's top features and the extracted thresholds against the known rule).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interp_core.families.rules.data import load_rule_table, make_rule_table
from interp_core.errors import RecipeError
from interp_core.families.rules import explain as rx


class RuleNet(nn.Module):
    """A black box that computes the generated table's rule with soft (sigmoid) thresholds."""

    def __init__(self, truth, width: float = 0.05):
        super().__init__()
        self.index = {r: truth.indices[r] for r in "ABC"}
        self.threshold = {r: truth.thresholds[truth.features[r]] for r in "ABC"}
        self.scale = {r: truth.scales[truth.features[r]] * width for r in "ABC"}

    def forward(self, x):
        s = {r: torch.sigmoid((x[:, self.index[r]] - self.threshold[r]) / self.scale[r]) for r in "ABC"}
        positive = torch.maximum(torch.minimum(s["A"], 1 - s["B"]), s["C"])
        return torch.stack([torch.zeros_like(positive), 12 * (positive - 0.5)], dim=1)


@pytest.fixture(scope="module")
def table():
    X, y, names, truth = make_rule_table(n_samples=2000, n_features=60, seed=3)
    return X[:1500], y[:1500], X[1500:], y[1500:], names, truth


@pytest.fixture(scope="module")
def rule_box(table):
    return rx.BlackBox(RuleNet(table[5]), (table[0].shape[1],))


def test_generated_table_follows_its_rule_and_is_seeded():
    X, y, names, truth = make_rule_table(n_samples=500, n_features=40, seed=1)
    a, b, c = (X[:, truth.indices[r]] for r in "ABC")
    t = [truth.thresholds[truth.features[r]] for r in "ABC"]
    assert np.array_equal(y, (((a > t[0]) & (b <= t[1])) | (c > t[2])).astype(int))
    assert 0.35 < y.mean() < 0.65
    X2, y2, _, truth2 = make_rule_table(n_samples=500, n_features=40, seed=1)
    assert np.array_equal(X, X2) and truth == truth2
    assert make_rule_table(n_samples=500, n_features=40, seed=2)[3].features != truth.features
    dataset = load_rule_table(n_samples=400, n_features=30)
    assert dataset.n_features == 30 and dataset.extras["rule_truth"]["text"].startswith("positive if")


def test_the_hand_written_black_box_obeys_the_rule(table, rule_box):
    _, _, X_test, y_test, _, _ = table
    assert (rule_box.predict(X_test) == y_test).mean() > 0.97


@pytest.mark.parametrize("method", ["combined", *rx.RANKING_METHODS])
def test_every_ranking_puts_the_true_features_first(table, rule_box, method):
    X_train, _, _, _, names, truth = table
    ranker = rx.FeatureRanker(n_repeats=4, max_samples=600, n_steps=16).fit(rule_box, X_train, names)
    importance = ranker.importance(method)
    assert set(importance.top(3)) == set(truth.features.values())
    assert importance.scores.shape == (4, len(names))
    assert (importance.std >= 0).all()
    table_ = importance.table()
    assert list(table_["feature"][:3]) == importance.top(3) and table_["importance"].is_monotonic_decreasing


def test_ranking_round_trips_through_arrays(table, rule_box):
    X_train, _, _, _, names, _ = table
    ranker = rx.FeatureRanker(methods=("permutation",), n_repeats=3, max_samples=300).fit(rule_box, X_train, names)
    again = rx.FeatureRanker.from_arrays(ranker.to_arrays(), names)
    np.testing.assert_allclose(again.importance("permutation").mean, ranker.importance("permutation").mean, rtol=1e-6)
    with pytest.raises(RecipeError, match="ranking"):
        again.importance("integrated_gradients")
    with pytest.raises(RecipeError, match="Unknown ranking"):
        rx.FeatureRanker(methods=("shap",)).fit(rule_box, X_train, names)


@pytest.fixture(scope="module")
def ranked(table, rule_box):
    X_train, _, _, _, names, _ = table
    return rx.FeatureRanker(methods=("permutation",), n_repeats=3, max_samples=800).fit(rule_box, X_train, names).importance("permutation")


@pytest.fixture(scope="module")
def report(table, rule_box, ranked):
    X_train, _, X_test, y_test, _, _ = table
    return rx.surrogate_report(ranked, X_train, rule_box.predict(X_train), X_test, rule_box.predict(X_test), y_test, ["negative", "positive"], k=5, depth=3)


def test_surrogate_recovers_the_rule_with_thresholds_near_the_true_ones(report, table):
    truth = table[5]
    assert report.fidelity > 0.95
    nodes = report.surrogate.nodes_
    for name, threshold in truth.thresholds.items():
        index = report.surrogate.feature_names_.index(name)
        splits = [n.threshold for n in nodes if n.feature == index]
        assert splits, f"{name} is not used by the rules"
        assert min(abs(s - threshold) for s in splits) < 0.1 * truth.scales[name]
        assert any(name in rule for rule in report.rule_strings())


def test_tree_surrogate_agrees_with_scikit_learn_and_merging_keeps_predictions(table, rule_box, ranked):
    X_train, _, X_test, _, names, _ = table
    labels = rule_box.predict(X_train)
    for merge in (True, False):
        surrogate = rx.RuleSurrogate("tree", 4, features=ranked.order[:6], merge_leaves=merge).fit(X_train, labels, names)
        assert np.array_equal(surrogate.predict(X_test), surrogate.estimator_.predict(X_test[:, surrogate.features_]))
    merged = rx.RuleSurrogate("tree", 4, features=ranked.order[:6]).fit(X_train, labels, names)
    unmerged = rx.RuleSurrogate("tree", 4, features=ranked.order[:6], merge_leaves=False).fit(X_train, labels, names)
    assert merged.n_rules <= unmerged.n_rules
    # no two sibling leaves of one class survive the merge
    for node in merged.nodes_:
        if node.feature >= 0:
            a, b = merged.nodes_[node.left], merged.nodes_[node.right]
            assert not (a.feature < 0 and b.feature < 0 and a.prediction == b.prediction)


def test_rule_list_matches_imodels_and_answers_one_class_vs_rest(table, rule_box, ranked):
    X_train, _, X_test, _, names, _ = table
    labels = rule_box.predict(X_train)
    rule_list = rx.RuleSurrogate("rulelist", 4, features=ranked.order[:5], merge_leaves=False).fit(X_train, labels, names, ["negative", "positive"])
    ours = rule_list.predict(X_test)
    theirs = rule_list.estimator_.predict(X_test[:, rule_list.features_])
    assert (ours == theirs).mean() > 0.99  # they differ only on a value exactly at a cut-off
    # three classes: the list answers "class 2 or not"
    three = np.where(labels == 1, 2, np.where(X_train[:, 0] > np.median(X_train[:, 0]), 1, 0))
    multi = rx.RuleSurrogate("rulelist", 3, features=ranked.order[:5]).fit(X_train, three, names, ["a", "b", "c"])
    assert multi.class_names_ == ["not c", "c"]
    assert set(multi.encode(three)) == {0, 1} and np.array_equal(multi.encode(three), (three == 2).astype(int))


def test_rules_table_counts_add_up(report, table, rule_box):
    _, _, X_test, y_test, _, _ = table
    rules = report.rules
    assert rules["support"].sum() == len(y_test)
    assert rules["coverage"].sum() == pytest.approx(1.0)
    assert rules["coverage"].is_monotonic_decreasing
    assert set(rules.columns) >= {"rule", "prediction", "coverage", "support", "precision", "accuracy"}
    # precision = share of covered rows where the black box gives the rule's class
    leaf_of = report.surrogate.apply(X_test)
    blackbox = rule_box.predict(X_test)
    for row in rules.itertuples():
        covered = leaf_of == row.leaf
        expected = (blackbox[covered] == report.class_names.index(row.prediction)).mean()
        assert row.precision == pytest.approx(expected)
    # weighted precision over rules is the fidelity
    assert (rules["precision"].fillna(0) * rules["support"]).sum() / len(y_test) == pytest.approx(report.fidelity)
    assert report.summary()["n_rules"] == len(rules) == report.n_rules
    assert all("→" in rule for rule in report.rule_strings())


def test_decision_path_ends_in_the_leaf_the_example_lands_in(report, table):
    X_test = table[2]
    for i in range(0, 200, 37):
        path = rx.decision_path(report.surrogate, X_test[i])
        assert path.leaf == report.surrogate.apply(X_test[i : i + 1])[0] == path.nodes[-1]
        assert path.nodes[0] == 0 and len(path.steps) == len(path.nodes) - 1
        for step in path.steps.itertuples():
            assert (step.value <= step.threshold) == (step.went == rx.LE)


def test_counterfactual_is_the_cheapest_flip_and_asks_the_black_box(report, table, rule_box):
    X_train, _, X_test, _, names, _ = table
    scale = X_train.std(axis=0)
    surrogate = report.surrogate
    for i in range(0, 120, 17):
        cf = rx.nearest_counterfactual(surrogate, X_test[i], scale, rule_box)
        assert cf.found
        before, after = surrogate.predict(X_test[i : i + 1])[0], surrogate.predict(cf.x_after[None])[0]
        assert before != after and surrogate.class_names_[after] == cf.surrogate_after
        changed = set(np.flatnonzero(cf.x_after != X_test[i]))
        assert changed and changed <= set(report.top_indices.tolist())
        assert list(cf.changes["feature"]) == [names[j] for j in sorted(changed)]
        assert cf.distance == pytest.approx(float((np.abs(cf.x_after - X_test[i]) / scale).sum()), rel=1e-4)
        # no leaf of another class is reachable more cheaply (clip x into each box)
        for leaf in surrogate.leaves_:
            if surrogate.nodes_[leaf].prediction == before:
                continue
            box = surrogate.bounds(leaf)
            cost = sum(max(lo - X_test[i, f], X_test[i, f] - hi, 0) / scale[f] for f, (lo, hi) in box.items())
            assert cf.distance <= cost + 0.05 * len(box) + 1e-6  # each moved value lands at most 0.05 SD inside
        flips = rule_box.predict(cf.x_after[None])[0] != rule_box.predict(X_test[i : i + 1])[0]
        assert cf.blackbox_flips == flips
        if not flips and cf.blackbox_flip_scale is not None:  # the scaled change does flip it
            scaled = X_test[i] + np.float32(cf.blackbox_flip_scale) * (cf.x_after - X_test[i])
            assert rule_box.predict(scaled[None])[0] != rule_box.predict(X_test[i : i + 1])[0]
        table_ = cf.before_after(names, report.top_indices)
        assert table_["changed"].sum() == len(changed)


def test_a_one_rule_surrogate_has_no_counterfactual(table, rule_box):
    X_train, _, X_test, _, names, _ = table
    labels = np.zeros(len(X_train), dtype=int)
    labels[:3] = 1  # too few to split on with the default leaf size
    single = rx.RuleSurrogate("tree", 2, min_samples_leaf=50).fit(X_train, labels, names)
    assert single.n_rules == 1 and single.rule_text(single.leaves_[0]) == "always"
    cf = rx.nearest_counterfactual(single, X_test[0], X_train.std(axis=0), rule_box)
    assert not cf.found and cf.changes.empty


def test_tradeoffs_refit_at_each_setting(table, rule_box, ranked):
    X_train, _, X_test, y_test, _, _ = table
    bb_train, bb_test = rule_box.predict(X_train), rule_box.predict(X_test)
    depth = rx.fidelity_tradeoff("depth", ranked, X_train, bb_train, X_test, bb_test, y_test, k=5, depth=3, values=[1, 2, 3, 5])
    assert list(depth.values) == [1, 2, 3, 5] and depth.chosen == 3
    assert depth.fidelity[0] < depth.fidelity[2] and ((0 <= depth.fidelity) & (depth.fidelity <= 1)).all()
    ks = rx.fidelity_tradeoff("k", ranked, X_train, bb_train, X_test, bb_test, y_test, k=5, depth=3)
    assert ks.values[-1] == X_train.shape[1] and ks.chosen == 5
    assert ks.fidelity[list(ks.values).index(3)] > ks.fidelity[0]  # the three true features matter
    with pytest.raises(RecipeError, match="trade-off"):
        rx.fidelity_tradeoff("width", ranked, X_train, bb_train, X_test, bb_test, y_test, k=5, depth=3)


def test_bad_settings_are_one_sentence(table, rule_box, ranked):
    X_train, _, X_test, y_test, _, _ = table
    bb_train, bb_test = rule_box.predict(X_train), rule_box.predict(X_test)
    with pytest.raises(RecipeError, match="k must be between 1 and 60"):
        rx.surrogate_report(ranked, X_train, bb_train, X_test, bb_test, y_test, ["n", "p"], k=0)
    with pytest.raises(RecipeError, match="depth must be between"):
        rx.surrogate_report(ranked, X_train, bb_train, X_test, bb_test, y_test, ["n", "p"], depth=40)
    with pytest.raises(RecipeError, match="Unknown surrogate"):
        rx.RuleSurrogate("forest").fit(X_train, bb_train)
    with pytest.raises(RecipeError, match="both classes"):
        rx.RuleSurrogate("rulelist").fit(X_train, np.zeros(len(X_train), dtype=int))


def test_comparison_with_the_known_rule(report, ranked, table):
    truth = table[5]
    frame = rx.compare_with_truth(report, truth.to_dict(), ranked)
    assert set(frame["feature"]) == set(truth.features.values())
    assert frame["in top k"].all() and frame["used by the rules"].all() and (frame["rank"] <= 3).all()
    assert (frame["gap (SD)"] < 0.1).all()


def test_trust_summary_compares_with_always_giving_one_answer(report):
    trust = rx.trust_summary(report)
    assert trust.level == rx.trust_level(report.fidelity, report.baseline_fidelity)
    assert f"{report.fidelity:.1%}" in trust.text and f"{report.baseline_fidelity:.1%}" in trust.text
    assert rx.trust_level(0.97) == "high" and rx.trust_level(0.9) == "moderate" and rx.trust_level(0.5) == "low"
    assert rx.trust_level(0.91, baseline=0.9) == "low"  # barely better than a constant answer


def test_thresholds_read_like_numbers():
    assert rx.format_value(14.2049) == "14.2" and rx.format_value(0.13579) == "0.1358" and rx.format_value(1234.5) == "1234"
    assert rx.condition_text("age", -np.inf, 40.0) == "age ≤ 40"
    assert rx.condition_text("age", 18.0, np.inf) == "age > 18"
    assert rx.condition_text("age", 18.0, 40.0) == "18 < age ≤ 40"
