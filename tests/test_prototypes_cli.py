"""Prototypes family: shipped checkpoints, the trainer's stored files and ``explain prototypes`` (in-process CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp_core import cli, recipes
from interp_core.families.prototypes.explain import analyse
from interp_core.families.prototypes import LATENT_MAP, PUSH_FILE
from interp_core.projection import projection_file
from interp_core.store import SHIPPED_ROOT, Catalog, Store

PROTO_RECIPES = ["digits-protonet", "digits-protonet-prob", "breast-cancer-protonet", "gunpoint-protonet"]


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def shipped():
    return Catalog(Store("/nonexistent-user-store-for-prototype-tests"), Store(SHIPPED_ROOT, readonly=True))


def test_the_family_registers_the_four_recipes():
    assert {r.name for r in recipes.list_recipes("prototypes")} >= set(PROTO_RECIPES)


@pytest.mark.parametrize("name", PROTO_RECIPES)
def test_a_shipped_checkpoint_reproduces_its_recorded_prototype_metrics(shipped, name):
    trained = recipes.load(name, shipped, device="cpu")
    files = trained.artifact.manifest["files"]
    assert PUSH_FILE in files and projection_file(LATENT_MAP) in files
    recorded = trained.metrics
    report = analyse(trained.model, trained.dataset, seed=trained.manifest["seed"])
    for key in ("test_accuracy", "prototype_purity", "stability", "decoded_distance"):
        assert report.metrics[key] == pytest.approx(recorded[key], abs=1e-4), key
    assert report.metrics["n_prototypes"] == recorded["n_prototypes"] == trained.model.n_prototypes
    maps = shipped.store_for(trained.artifact).read_arrays(trained.artifact, projection_file(LATENT_MAP))
    n_rows = len(trained.dataset.y_train) + len(trained.dataset.y_test) + trained.model.n_prototypes
    assert set(maps) == {"pca", "umap"} and all(m.shape == (n_rows, 2) for m in maps.values())
    if trained.model.probabilistic:
        assert report.metrics["uncertainty_auroc"] == pytest.approx(recorded["uncertainty_auroc"], abs=1e-4)


def test_the_shipped_digits_protonet_reaches_the_issues_accuracy(shipped):
    trained = recipes.load("digits-protonet", shipped, device="cpu")
    accuracy = float((trained.predict_proba(trained.dataset.X_test).argmax(1) == trained.dataset.y_test).mean())
    assert accuracy >= 0.95


def test_the_shipped_probabilistic_uncertainty_flags_errors_better_than_chance(shipped):
    metrics = recipes.load("digits-protonet-prob", shipped, device="cpu").metrics
    assert metrics["uncertainty_auroc"] > 0.75
    assert 0.0 < metrics["flagged_share"] < 0.5  # flags some predictions, not all


def test_the_trainer_stores_push_map_and_metrics(tmp_path):
    trained = recipes.train("breast-cancer-protonet", store=Store(tmp_path / "s"), device="cpu", epochs=3, umap=False)
    manifest = trained.artifact.manifest
    assert manifest["trainer"] == "prototypes"
    for key in ("prototype_purity", "stability", "n_prototypes", "push_accuracy_before", "push_accuracy_after", "decoded_distance"):
        assert key in manifest["metrics"]
    push = Store(tmp_path / "s").read_arrays(trained.artifact, PUSH_FILE)
    assert push["prototypes"].shape == (6, 8)
    classes = trained.model.prototype_class.numpy()
    assert (trained.dataset.y_train[push["train_index"]] == classes).all()
    reloaded = recipes.load("breast-cancer-protonet", Catalog(Store(tmp_path / "s"), Store(tmp_path / "none", readonly=True)), device="cpu")
    assert reloaded.metrics == manifest["metrics"]


def test_explain_a_recipe_prints_the_issues_keys(tmp_path, capsys):
    assert cli.main(["explain", "prototypes", "digits-protonet-prob", "--json", "--store", str(tmp_path / "s"), "--device", "cpu"]) == 0
    result = last_json(capsys.readouterr().out)
    for key in ("test_accuracy", "prototype_purity", "stability", "n_prototypes", "uncertainty_auroc"):
        assert key in result
    assert result["n_prototypes"] == 20 and result["test_accuracy"] >= 0.95


def _digit_images(path, n: int = 150, size: int = 8, shift: int = 0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.images[shift : shift + n]
    if size != 8:
        X = X[:, :size, :size]
    np.savez(path, X=X, y=digits.target[shift : shift + n])
    return path


def test_explain_a_recipe_on_a_users_images(tmp_path, capsys):
    data = _digit_images(tmp_path / "digits.npz", n=120, shift=1500)
    # the file is in 0..16 units as scikit-learn ships it; the recipe's model was trained on [0, 1]
    np.savez(data, X=np.load(data)["X"] / 16.0, y=np.load(data)["y"])
    assert cli.main(["explain", "prototypes", "digits-protonet", "--data", str(data), "--json", "--store", str(tmp_path / "s")]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["n_test"] == 120 and result["test_accuracy"] > 0.85


def test_explain_trains_the_default_network_on_a_users_images(tmp_path, capsys):
    data = _digit_images(tmp_path / "mine.npz", n=200)
    assert cli.main(["explain", "prototypes", "--data", str(data), "--json", "--store", str(tmp_path / "s"), "--device", "cpu", "--seed", "1"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["recipe"] == "user-mine-protonet"
    assert result["n_prototypes"] == 20 and 0 <= result["prototype_purity"] <= 1 and 0 <= result["stability"] <= 1
    assert Store(tmp_path / "s").open("user-mine-protonet").manifest["arch"] == "protonet-conv2d"


def test_images_of_the_wrong_size_get_one_sentence(tmp_path, capsys):
    data = _digit_images(tmp_path / "small.npz", n=30, size=5)
    assert cli.main(["explain", "prototypes", "digits-protonet", "--data", str(data), "--json", "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shape (1, 5, 5)" in err[0] and "expects (1, 8, 8)" in err[0]


@pytest.mark.parametrize("argv,phrase", [
    (["explain", "prototypes", "wine-mlp"], "is not a prototype network"),
    (["explain", "prototypes"], "needs a RECIPE"),
])
def test_user_mistakes_get_one_sentence(tmp_path, capsys, argv, phrase):
    assert cli.main([*argv, "--json", "--store", str(tmp_path / "s")]) == 2
    out = capsys.readouterr()
    assert phrase in out.err and "Traceback" not in out.err
    assert "error" in last_json(out.out)
