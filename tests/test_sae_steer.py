"""Steering and ablating SAE features (issue 18 item 1): the intervention on a hand-built SAE and
model checked against a hand computation, "no change" reproduces the output exactly, ablating a
feature that does not fire changes nothing, the causal effect, and the CLI's contract."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from interp_core import cli, recipes
from interp_core.errors import DataError
from interp_core.families.sae import steer as S
from interp_core.families.sae.models import ReLUSAE, SplicedModel
from interp_core.store import SHIPPED_ROOT, Catalog, Store

W_DEC = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
HEAD = torch.tensor([[0.0, -1.0], [2.0, 1.0], [0.0, 0.0]])  # 3 classes read from the 2-d layer


class _Host(nn.Module):
    """layer = x (2-d), logits = HEAD @ layer: the simplest host with ``forward_with``."""

    def activations(self, x):
        return x

    def forward_with(self, x, transform):
        return transform(x) @ HEAD.t()


def _hand_built(X_test: np.ndarray):
    """A ReLU SAE with an identity encoder (codes = relu(x)) and the decoder W_DEC, on _Host."""
    sae = ReLUSAE(2, 2)
    with torch.no_grad():
        sae.W_enc.copy_(torch.eye(2))
        sae.W_dec.copy_(W_DEC)
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    dataset = SimpleNamespace(class_names=["a", "b", "c"], X_test=X_test, modality="tabular")
    return SimpleNamespace(model=SplicedModel(sae, _Host()).eval(), extras={"sae": sae}, dataset=dataset)


def test_zeroing_a_firing_feature_matches_the_hand_computation():
    x = np.array([2.0, -1.0], dtype=np.float32)  # codes (2, 0): feature 0 fires with 2, feature 1 does not
    result = S.steer(_hand_built(x[None]), x, [0], "zero")
    # layer' = x - 2 * W_DEC[0] (the error term x - decode(codes) is kept) = (0.8, -2.6)
    layer = torch.tensor([2.0, -1.0]) - 2 * W_DEC[0]
    expected_after = torch.softmax(HEAD @ layer, 0).numpy()
    expected_before = torch.softmax(HEAD @ torch.tensor([2.0, -1.0]), 0).numpy()
    np.testing.assert_allclose(result.before, expected_before, rtol=1e-6)
    np.testing.assert_allclose(result.after, expected_after, rtol=1e-6)
    assert result.activations == [pytest.approx(2.0)]
    assert np.abs(result.after - result.before).max() > 0.1
    kl = float(np.sum(expected_after * np.log(expected_after / expected_before)))
    assert result.kl == pytest.approx(kl, rel=1e-5)
    out = result.to_json()
    assert [row["p"] for row in out["after"]] == sorted((row["p"] for row in out["after"]), reverse=True)
    assert out["top_before"] == "b" and out["top_after"] == "a" and out["changed"] is True  # logits (1, 3, 0) -> (2.6, -1, 0)

def test_no_change_and_a_silent_feature_leave_the_output_exactly_as_it_was():
    x = np.array([2.0, -1.0], dtype=np.float32)
    trained = _hand_built(x[None])
    for features, mode, value in (([0, 1], "scale", 1.0), ([1], "zero", 0.0), ([1], "scale", 7.0)):
        result = S.steer(trained, x, features, mode, value)
        np.testing.assert_array_equal(result.after, result.before)
        assert result.kl == 0.0
    turned_on = S.steer(trained, x, [1], "set", 3.0)  # setting a silent feature does act: + 3 * W_DEC[1]
    np.testing.assert_allclose(turned_on.after, torch.softmax(HEAD @ torch.tensor([5.0, -1.0]), 0).numpy(), rtol=1e-6)


def test_causal_effect_averages_over_the_examples_where_the_feature_fires_only():
    X = np.array([[2.0, -1.0], [1.0, 0.5], [-1.0, 3.0]], dtype=np.float32)  # feature 0 fires on rows 0 and 1
    trained = _hand_built(X)
    effect = S.causal_effect(trained, 0)
    assert effect.n_firing == 2
    deltas = []
    for row in X[:2]:
        x = torch.as_tensor(row)
        deltas.append((torch.softmax(HEAD @ (x - x[0] * W_DEC[0]), 0) - torch.softmax(HEAD @ x, 0)).numpy())
    np.testing.assert_allclose(effect.delta, np.mean(deltas, 0), atol=1e-6)
    rows, sentence = S.compare_effects(effect, np.array([1.0, 0.1, -0.5]))
    assert len(rows) == 3 and f"lowers class {['a', 'b', 'c'][int(np.argmin(effect.delta))]} most" in sentence


def test_compare_effects_says_where_decoder_and_ablation_disagree():
    effect = S.CausalEffect(4, ["a", "b", "c"], np.array([0.05, -0.2, 0.15]), 10, 10)
    _, agree = S.compare_effects(effect, np.array([-0.1, 0.9, 0.2]))
    _, other_top = S.compare_effects(effect, np.array([0.9, 0.1, -0.3]))
    assert "agrees" in agree and "disagree" not in agree
    assert "disagree" in other_top and "raises class a most" in other_top


def test_bad_features_and_modes_are_one_sentence():
    trained = _hand_built(np.zeros((1, 2), dtype=np.float32))
    with pytest.raises(DataError, match="features 0 to 1"):
        S.steer(trained, np.zeros(2), [2], "zero")
    with pytest.raises(DataError, match="expected one of: zero, scale, set"):
        S.steer(trained, np.zeros(2), [0], "double")


@pytest.fixture(scope="module")
def digits_sae():
    return recipes.load("digits-sae", Catalog(Store(SHIPPED_ROOT, readonly=True)), device="cpu")


def test_shipped_digits_sae_no_change_is_the_model_s_own_output(digits_sae):
    x = S.example_input(digits_sae, 3)
    with torch.no_grad():
        own = torch.softmax(digits_sae.model(torch.as_tensor(x[None]), mode="clean")[0], -1).numpy()
    result = S.steer(digits_sae, x, [0, 5, 221], "scale", 1.0)
    np.testing.assert_allclose(result.before, own, rtol=1e-6)
    np.testing.assert_allclose(result.after, own, rtol=1e-6)


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_steer_prints_the_contract_keys_and_refuses_bad_input(capsys, interp_store_env):
    code, out, _ = _cli(capsys, "steer", "digits-sae", "--feature", "221", "--scale", "0", "--example", "3", "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    for key in ("before", "after", "top_before", "top_after", "changed", "kl"):
        assert key in result
    assert {row["label"] for row in result["before"]} == {str(d) for d in range(10)}
    assert result["before"][0]["p"] >= result["before"][-1]["p"] and result["kl"] > 0
    assert result["changed"] == (result["top_before"] != result["top_after"])
    for argv, message in ((("--feature", "256"), "features 0 to 255"), (("--feature", "x"), "not a whole number"),
                          (("--feature", "1", "--example", "450"), "from 0 to 449"), (("--feature", "1", "--text", "hello"), "needs a text model")):
        code, _, err = _cli(capsys, "steer", "digits-sae", *argv)
        assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "steer", "digits-mlp", "--feature", "1")
    assert code == 2 and "has no features to steer; steer works on: toy-sae" in err


def test_cli_steers_minilm_on_typed_text_with_the_embedding_s_cosine(capsys, interp_store_env):
    text = "str.format() replaces the replacement fields in braces with the formatted arguments."
    code, out, _ = _cli(capsys, "steer", "minilm-sae", "--feature", "428,335", "--scale", "1", "--text", text, "--json")
    assert code == 0
    same = json.loads(out.strip().splitlines()[-1])
    assert same["before"] == same["after"] and same["cosine"] == pytest.approx(1.0, abs=1e-6) and same["kl"] == 0.0
    assert len(same["before"]) == 10  # the ten pydoc topics
    code, out, _ = _cli(capsys, "steer", "minilm-sae", "--feature", "428,335", "--set", "20", "--text", text, "--json")
    pushed = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and pushed["cosine"] < 0.999 and pushed["kl"] > 0


def test_steer_chart_puts_before_and_after_side_by_side_most_probable_first():
    from interp_core.families.sae.figures import steer_chart
    from interp_core.figures import HOW_TO_READ

    fig = steer_chart(["a", "b", "c"], np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.85, 0.05]), "Feature 3 zeroed")
    before, after = fig.data
    assert (before.name, after.name) == ("before", "after") and fig.layout.barmode == "group"
    assert list(before.x) == ["b", "a", "c"] and list(after.y) == [0.85, 0.1, 0.05]  # ordered by the larger of the two
    assert fig.layout.title.text == "Feature 3 zeroed" and fig.layout.yaxis.title.text == "probability" and fig.layout.xaxis.title.text == "class"
    assert "sae_steer" in HOW_TO_READ
