"""Issue 23: TCAV checked against the concept's causal effect (CaCE from the shapes generator's
counterfactual pairs), Holm-adjusted p-values, and the agreement between the two."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interp_core.errors import DataError
from interp_core.families.concepts import explain
from interp_core.families.concepts.data import SHAPES_CLASSES, SHAPES_CONCEPTS, make_shapes, shapes_counterfactuals
from interp_core.families.concepts.explain.causal import MIN_EFFECT, ConceptEffect, agreement, causal_effects, holm, observed_effects

SIZE = 14


def test_holm_against_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # sorted: 0.005 (x4) = 0.02, 0.01 (x3) = 0.03, 0.03 (x2) = 0.06, 0.04 (x1) = 0.04 -> monotone 0.06
    assert np.allclose(holm(p)[:4], [0.03, 0.06, 0.06, 0.02]) and np.isnan(holm(p)[4])
    assert holm(np.array([[0.5, 0.6], [0.9, 0.001]])).tolist() == [[1.0, 1.0], [1.0, 0.004]]
    assert holm(np.full(3, np.nan)).shape == (3,)


def test_counterfactual_pairs_differ_only_in_the_switched_concept():
    for concept in SHAPES_CONCEPTS:
        X0, X1 = shapes_counterfactuals(concept, n=6, size=SIZE, seed=2)
        assert X0.shape == X1.shape == (6, 3, SIZE, SIZE)
        assert (np.abs(X0 - X1).reshape(6, -1).max(axis=1) > 0.05).all(), concept  # the concept changes the picture
    X0, X1 = shapes_counterfactuals("red", n=50, size=SIZE, seed=2)
    red_minus_blue = lambda X: (X[:, 0] - X[:, 2]).mean(axis=(1, 2))  # noqa: E731
    assert (red_minus_blue(X1) > red_minus_blue(X0)).all()
    X0, X1 = shapes_counterfactuals("left", n=50, size=SIZE, seed=2)
    columns = np.arange(SIZE)
    centre = lambda X: (X.mean(axis=(1, 2)) * columns).sum(1) / X.mean(axis=(1, 2)).sum(1)  # noqa: E731
    assert (centre(X1) < centre(X0)).mean() > 0.9  # the same shape, moved to the left half
    with pytest.raises(DataError, match="not a shapes concept"):
        shapes_counterfactuals("green")


class ColourModel(nn.Module):
    """Three readouts of the picture: h0 = mean red minus mean blue, h1 = how far left its light
    lies, h2 = its green channel's pixel noise seen through a checkerboard (zero on average). Class "striped round" scores
    s = 20 h0 + 40 h1 h2 ("solid" scores -s): the colour raises it, while the position only enters
    through a product with a zero-mean term, so switching a shape from right to left moves the score
    up for some pictures and down for others and not at all on average."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 3)  # the layer TCAV reads (an identity)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.eye(3))
            self.hidden.bias.zero_()

    def forward(self, x):
        light = x.mean(dim=1)
        columns = torch.linspace(1.0, -1.0, x.shape[-1])
        checker = (torch.arange(x.shape[-1])[:, None] + torch.arange(x.shape[-1])[None, :]) % 2 * 2.0 - 1.0
        readouts = torch.stack([(x[:, 0] - x[:, 2]).mean(dim=(1, 2)), (light * columns).mean(dim=(1, 2)) * 10, (x[:, 1] * checker).mean(dim=(1, 2)) * 50], dim=1)
        h = self.hidden(readouts)
        s = 20 * h[:, 0] + 40 * h[:, 1] * h[:, 2]
        return torch.stack([-s, s, torch.zeros_like(s)], dim=1)


@pytest.fixture(scope="module")
def colour_model_checks():
    X, y, concepts = make_shapes(n=600, size=SIZE, seed=3)
    model = ColourModel()
    names = ["red", "left"]
    columns = [SHAPES_CONCEPTS.index(n) for n in names]
    counterfactuals = lambda concept, n, seed=0: shapes_counterfactuals(concept, n, size=SIZE, seed=seed)  # noqa: E731
    effect = causal_effects(model, counterfactuals, names, SHAPES_CLASSES, n_pairs=120)
    sets = explain.concept_example_sets(concepts[:, columns], names, 60, seed=0)
    exclude = {name: np.flatnonzero(concepts[:, j] > 0.5) for name, j in zip(names, columns)}
    inputs = explain.class_inputs(X, y, 3, 60, seed=0)
    result = explain.tcav(model, {"hidden": "hidden"}, {n: X[i] for n, i in sets.items()}, X, inputs, SHAPES_CLASSES,
                          exclude=exclude, n_random=20, random_set_size=60)
    return effect, result


def test_a_concept_the_model_uses_has_a_causal_effect_and_a_significant_adjusted_tcav(colour_model_checks):
    effect, result = colour_model_checks
    adjusted = holm(result.p_values) < result.alpha
    red, striped_round = 0, SHAPES_CLASSES.index("striped round")
    low, high = effect.ci[red, striped_round]
    assert effect.effect[red, striped_round] > 1.0 and low > 0  # switching blue to red raises the class
    assert effect.effect[red, 0] < -1.0 and effect.ci[red, 0, 1] < 0
    assert effect.material()[red, striped_round] == 1
    assert adjusted[red, striped_round, 0] and result.scores[red, striped_round, 0] > 0.9
    assert agreement(result.scores, adjusted, effect)[red, striped_round, 0]


def test_a_concept_the_model_ignores_has_no_effect_and_no_adjusted_significance(colour_model_checks):
    effect, result = colour_model_checks
    adjusted = holm(result.p_values) < result.alpha
    left = 1
    assert (np.abs(effect.effect[left]) <= MIN_EFFECT * effect.logit_std).all()  # not a tenth of the logit's spread
    assert (effect.material()[left] == 0).all()
    assert not adjusted[left].any()
    assert agreement(result.scores, adjusted, effect)[left].all()


def test_observed_effects_match_a_known_difference_and_say_they_are_not_causal():
    rng = np.random.default_rng(0)
    concepts = rng.integers(0, 2, size=(4000, 3)).astype(np.float32)

    class Linear(nn.Module):
        def forward(self, x):
            return torch.stack([2.0 * x[:, 0] - 1.0 * x[:, 1], torch.zeros(len(x))], dim=1)

    X = concepts + rng.normal(0, 0.1, size=concepts.shape).astype(np.float32)
    effect = observed_effects(Linear(), X, concepts, ["a", "b", "c"], ["one", "two"])
    assert not effect.causal and "not causal" in effect.method
    assert effect.effect[:, 0] == pytest.approx([2.0, -1.0, 0.0], abs=0.05)
    assert effect.ci[0, 0, 0] < 2.0 < effect.ci[0, 0, 1]
    assert effect.material()[:, 0].tolist() == [1, -1, 0]
    again = ConceptEffect.from_json(effect.to_json())
    assert np.array_equal(again.effect, effect.effect) and again.causal is False
