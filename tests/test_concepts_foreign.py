"""TCAV at a layer of a user's own model (issue 17): the family's TCAV through the layer host gives the
same scores as on the original nn.Module, the verdicts are checked against observed effects (no
CaCE: null), a file without concepts is one sentence, and ``explain concepts --model`` keeps the keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.data import load_user_file
from interp_core.errors import DataError
from interp_core.families.concepts.foreign import foreign_tcav
from interp_core.families.concepts.train import compute_tcav, tcav_settings
from interp_core.foreign import foreign_model
from interp_core.modelfiles import load_model_path
from tests.foreign_models import mlp_case, save_npz

NAMES = ["x0 high", "x5 high"]


@pytest.fixture(scope="module")
def mlp_files(tmp_path_factory):
    """(module, .pt2 path, NPZ path, the NPZ read as the CLI reads it)."""
    return mlp_case(tmp_path_factory.mktemp("foreign"), NAMES)


def test_tcav_through_the_pt2_equals_tcav_on_the_original_module(mlp_files):
    model, pt2, _npz, dataset = mlp_files
    found = foreign_tcav(foreign_model(load_model_path(pt2), dataset, "1"), n_random=3)
    direct = compute_tcav(model, dataset, {**tcav_settings({}), "n_random": 3}, 0, "cpu", layers={"1": "1"})
    np.testing.assert_allclose(found.result.run_scores, direct.run_scores, atol=1e-6)
    np.testing.assert_allclose(found.result.p_values, direct.p_values, atol=1e-6)
    assert found.result.concept_names == NAMES and found.result.layer_names == ["1"]
    scores = found.result.scores[:, :, 0]  # (concepts, classes): x0 high pushes towards classes 1 and 2, away from 0
    assert scores[0, 0] < scores[0, 1]
    rows = found.check.rows(found.result)
    assert len(rows) == 2 * 3 and all(row["cace"] is None and row["observed_effect"] is not None for row in rows)
    assert found.check.effect.effect[0, 0] < 0 < found.check.effect.effect[0, 1]


def test_a_picked_concept_is_scored_on_any_of_the_data_s_examples(mlp_files):
    from interp_core.families.concepts.foreign import foreign_concept

    _model, pt2, _npz, dataset = mlp_files
    trained = foreign_model(load_model_path(pt2), dataset, "1")
    n = len(dataset.y_train) + len(dataset.y_test)
    large = np.flatnonzero(np.concatenate([dataset.X_train, dataset.X_test])[:, 0] > 1.0)
    assert large.min() < len(dataset.y_train)  # training examples can be picked, not only held-out ones
    result = foreign_concept(trained, "large x0", large[:12], n_random=3)
    assert result.layer_names == ["1"] and result.scores[0, 0, 0] < result.scores[0, 1, 0]  # pushes away from class 0
    with pytest.raises(DataError, match=f"holds {n} of the {n} examples;"):
        foreign_concept(trained, "everything", np.arange(n), n_random=3)


def test_data_without_concepts_is_one_sentence(mlp_files, tmp_path):
    _model, pt2, _npz, dataset = mlp_files
    plain = load_user_file(save_npz(tmp_path / "plain.npz", np.concatenate([dataset.X_train, dataset.X_test]), np.concatenate([dataset.y_train, dataset.y_test])))
    with pytest.raises(DataError, match="no concept labels"):
        foreign_tcav(foreign_model(load_model_path(pt2), plain, "1"))


def test_cli_explains_concepts_at_a_layer_with_the_recipe_keys(mlp_files, capsys, interp_store_env):
    model, pt2, npz, _dataset = mlp_files
    code = cli.main(["explain", "concepts", "--model", str(pt2), "--data", str(npz), "--layer", "0", "--random-runs", "3", "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 0, err
    assert result["model"] == {"path": str(pt2), "kind": "pt2", "parameters": sum(p.numel() for p in model.parameters())}
    assert result["layer"] == "0" and result["n_random"] == 3 and result["cbm_recipe"] is None
    assert {row["layer"] for row in result["tcav"]} == {"0"} and len(result["tcav"]) == 6
    for key in ("concept", "class", "score", "p_value", "significant", "p_value_adjusted", "cace", "agrees_with_cace"):
        assert key in result["tcav"][0]
    assert result["tcav_cace_agreement"] is None and result["n_tests"] == 6
    predicted = model(torch.as_tensor(_dataset.X_test)).argmax(1).numpy()
    assert result["test_accuracy"] == pytest.approx(float((predicted == _dataset.y_test).mean()))
