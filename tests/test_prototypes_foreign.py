"""A prototype head on a layer of a user's own model (issue 17): trained against the model's own
predictions, each prototype pushed onto a real training example, its faithfulness the agreement with
the model; ``explain prototypes --model --data --layer`` keeps the family's keys and adds the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.families.prototypes.explain import forward_details
from interp_core.families.prototypes.foreign import foreign_prototypes
from interp_core.foreign import foreign_model
from interp_core.modelfiles import load_model_path
from tests.foreign_models import mlp_case, save_npz, table_data


@pytest.fixture(scope="module")
def mlp_files(tmp_path_factory):
    """(module, .pt2 path, NPZ path, the NPZ read as the CLI reads it)."""
    return mlp_case(tmp_path_factory.mktemp("foreign"))


def test_pushed_prototypes_are_real_examples_and_agreement_is_with_the_model(mlp_files, tmp_store):
    model, pt2, _npz, dataset = mlp_files
    found = foreign_prototypes(foreign_model(load_model_path(pt2), dataset, "1"), tmp_store, per_class=2)
    head = found.head
    hidden = lambda X: torch.relu(model[0](torch.as_tensor(X)))  # noqa: E731 - layer '1' of the original module
    with torch.no_grad():
        scaled_train = head.input_scale(hidden(dataset.X_train)).numpy()
        model_train = model(torch.as_tensor(dataset.X_train)).argmax(1).numpy()
        model_test = model(torch.as_tensor(dataset.X_test)).argmax(1).numpy()
    classes = head.prototype_class.numpy()
    assert len(classes) == 2 * 3
    for j, i in enumerate(found.push.train_index):
        np.testing.assert_allclose(head.prototype_vectors[j].detach().numpy(), scaled_train[i], atol=1e-4)  # a real example's activation
        assert model_train[i] == classes[j]  # of the class the model gives it
    head_test = forward_details(head, hidden(dataset.X_test).detach().numpy()).predictions
    assert found.agreement == pytest.approx(float((head_test == model_test).mean()))
    assert found.test_accuracy == pytest.approx(float((head_test == dataset.y_test).mean()))
    assert found.model_test_accuracy == pytest.approx(float((model_test == dataset.y_test).mean()))
    assert found.agreement > 0.6  # far above the 1/3 of a head that ignores the layer


def run_cli(capsys, *argv):
    code = cli.main(["explain", "prototypes", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def test_cli_keeps_the_family_s_keys_and_adds_the_model_and_its_agreement(mlp_files, capsys, interp_store_env, tmp_path):
    model, pt2, npz, _dataset = mlp_files
    code, result, err = run_cli(capsys, "--model", str(pt2), "--data", str(npz), "--layer", "0")
    assert code == 0, err
    for key in ("test_accuracy", "prototype_purity", "stability", "n_prototypes", "push_accuracy_before", "push_accuracy_after", "agreement", "model_test_accuracy"):
        assert key in result
    assert result["model"] == {"path": str(pt2), "kind": "pt2", "parameters": sum(p.numel() for p in model.parameters())}
    assert result["layer"] == "0" and len(result["prototypes"]) == result["n_prototypes"]
    assert 0 <= result["agreement"] <= 1 and result["push_accuracy_after"] == result["test_accuracy"]
    X, y, _ = table_data()
    wrong = save_npz(tmp_path / "five.npz", X[:, :5], y)
    code, result, err = run_cli(capsys, "--model", str(pt2), "--data", str(wrong))
    assert code == 2 and "(5)" in result["error"] and "(6)" in result["error"] and "Traceback" not in err
