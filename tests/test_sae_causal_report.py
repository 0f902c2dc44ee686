"""Issue 18 item 1's causal effect in explain sae --json and in the SAE report: for the features that
fire most often, the class their ablation lowers most beside the class their decoder direction raises
most, and whether the two agree (the same numbers steer.causal_effect measures one feature at a time)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp_core import cli, recipes
from interp_core.families.sae import sections as family_sections
from interp_core.families.sae import steer as steering
from interp_core.store import SHIPPED_ROOT, Catalog, Store


@pytest.fixture(scope="module")
def shipped():
    return Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))


def test_explain_sae_json_lists_causal_beside_decoder_effects(capsys, interp_store_env, shipped):
    assert cli.main(["explain", "sae", "digits-sae", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("l0", "explained_variance", "accuracy_sae", "loss_recovered", "arch"):  # today's keys stay
        assert key in result
    rows = result["causal_effects"]
    trained = recipes.load("digits-sae", shipped, "cpu")
    features = trained.extras["analysis"].features
    live = features[~features["dead"]]
    assert [row["feature"] for row in rows] == live.sort_values("density", ascending=False, kind="stable")["feature"].head(5).tolist()
    first = rows[0]
    effect = steering.causal_effect(trained, first["feature"])  # the page's measurement, feature by feature
    assert first["n_examples"] == effect.n_examples > 0
    assert first["causal_class"] == effect.labels[int(np.argmin(effect.delta))] and first["causal_change"] == pytest.approx(float(effect.delta.min()))
    decoder = steering.decoder_effect(trained.extras["analysis"], first["feature"], effect.labels)
    assert first["decoder_class"] == effect.labels[int(np.nanargmax(decoder))]
    for row in rows:
        assert row["agree"] == (row["decoder_class"] == row["causal_class"] and row["decoder_effect"] > 0 and row["causal_change"] < 0)


def test_effects_agree_reads_class_and_sign():
    effect = steering.CausalEffect(0, ["a", "b", "c"], np.array([0.02, -0.3, 0.1]), 12, 12)
    assert steering.effects_agree(effect, np.array([0.1, 0.9, -0.2])) is True
    assert steering.effects_agree(effect, np.array([0.9, 0.1, -0.2])) is False  # the decoder raises another class most
    assert steering.effects_agree(effect, None) is None
    assert steering.effects_agree(steering.CausalEffect(0, ["a", "b", "c"], np.zeros(3), 0, 0), np.array([0.1, 0.9, -0.2])) is None


def test_the_report_of_a_classifier_sae_has_the_causal_table_and_the_toy_s_does_not(shipped):
    trained = recipes.load("digits-transcoder", shipped, "cpu")  # a transcoder on the last block reads the head like an SAE
    causal = family_sections.causal_section(trained)
    table = causal.items[0].frame
    assert causal.title == family_sections.CAUSAL and len(table) == 5
    assert table.to_dict("records") == steering.causal_rows(trained)
    assert family_sections.causal_section(recipes.load("toy-sae", shipped, "cpu")) is None
