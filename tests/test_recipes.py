"""Recipes: training, saving, loading and status rows (interp_core.recipes), and projections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import interp_core.projection as projection_module
from interp_core.errors import ArtifactMissing, RecipeError
from interp_core.projection import cached_projection, pca_2d, projection_file, stored_projection
from interp_core.family import family_title
from interp_core.recipes import Recipe, check_artifact, evaluate, get_recipe, list_recipes, load, recipe_status, train, train_or_load
from interp_core.store import Catalog, Store

REGISTERED = {"digits-mlp", "breast-cancer-mlp", "wine-mlp", "gunpoint-cnn", "basicmotions-cnn"}

# A small, unregistered wine recipe so train_or_load (which uses the recipe's own epochs) stays fast.
TINY_WINE = Recipe("tiny-wine", "classifier", "wine", "mlp", {"hidden": [8], "dropout": 0.0}, {"epochs": 4, "batch_size": 32, "lr": 5e-3}, "test recipe")


@pytest.fixture
def catalog(tmp_path):
    """A user store in front of an empty read-only shipped store (never the repo's assets/store)."""
    return Catalog(Store(tmp_path / "user"), Store(tmp_path / "shipped", readonly=True))


@pytest.fixture(scope="module")
def trained_wine(tmp_path_factory):
    """wine-mlp trained once for the module: 5 epochs, PCA only."""
    store = Store(tmp_path_factory.mktemp("wine") / "store")
    return store, train("wine-mlp", store=store, device="cpu", umap=False, epochs=5)


def test_list_recipes_has_the_registered_ones():
    recipes = {r.name: r for r in list_recipes()}
    assert REGISTERED <= set(recipes)
    for recipe in recipes.values():
        assert family_title(recipe.family) != recipe.family or recipe.family == "classifier"
    assert {r.name for r in list_recipes("timeseries")} >= {"gunpoint-cnn", "basicmotions-cnn"}
    assert all(r.family == "classifier" for r in list_recipes("classifier"))


def test_get_recipe_suggests_the_right_name():
    assert get_recipe("wine-mlp").dataset == "wine"
    with pytest.raises(RecipeError, match="did you mean wine-mlp") as info:
        get_recipe("wine-mpl")
    assert "\n" not in str(info.value)
    with pytest.raises(RecipeError, match="expected one of"):
        get_recipe("zzzzzzzz")


def test_config_hash_depends_on_config_and_seed():
    recipe = get_recipe("wine-mlp")
    assert recipe.config_hash(0) == recipe.config_hash(0)
    assert recipe.config_hash(0) != recipe.config_hash(1)
    assert recipe.config_hash(0) != TINY_WINE.config_hash(0)


def test_train_writes_a_complete_manifest(trained_wine):
    store, trained = trained_wine
    recipe = get_recipe("wine-mlp")
    manifest = store.open("wine-mlp").manifest
    assert manifest == trained.manifest
    assert manifest["recipe"] == "wine-mlp" and manifest["family"] == "classifier" and manifest["arch"] == "mlp"
    # an --epochs override is part of what was trained, so it is not the recipe's own model
    assert manifest["config_hash"] == recipe.config_hash(0, {"epochs": 5})
    assert manifest["config_hash"] != recipe.config_hash(0)
    assert recipe.config_hash(0, {"epochs": recipe.train_config["epochs"]}) == recipe.config_hash(0)
    assert 0.0 <= manifest["metrics"]["test_accuracy"] <= 1.0
    assert manifest["metrics"]["test_accuracy"] > 0.6  # three classes, five epochs: well above chance
    assert manifest["metrics"]["epochs_run"] <= 5
    assert manifest["device"] == "cpu" and manifest["device_name"] == "CPU"
    assert manifest["dataset"]["name"] == "wine" and manifest["dataset"]["n_classes"] == 3
    assert manifest["dataset"]["n_train"] + manifest["dataset"]["n_test"] == 178
    assert manifest["train_config"]["epochs"] == 5
    assert manifest["train_config"]["batch_size"] == recipe.train_config["batch_size"]
    assert {"model.safetensors", "history.json", projection_file("test-embedding")} <= set(manifest["files"])
    maps = store.read_arrays(store.open("wine-mlp"), projection_file("test-embedding"))
    assert set(maps) == {"pca"}  # umap=False
    assert maps["pca"].shape == (manifest["dataset"]["n_test"], 2)
    assert trained.status == "trained" and trained.fit_result is not None
    assert check_artifact(store.open("wine-mlp")).to_dict() == manifest  # what the trainer writes passes the schema


def test_load_reproduces_the_manifest_accuracy(trained_wine, tmp_path):
    store, trained = trained_wine
    catalog = Catalog(store, Store(tmp_path / "none", readonly=True))
    loaded = load("wine-mlp", catalog, device="cpu")
    assert loaded.fit_result is None
    assert evaluate(loaded.model, loaded.dataset)["test_accuracy"] == loaded.metrics["test_accuracy"] == trained.metrics["test_accuracy"]
    np.testing.assert_allclose(loaded.predict_proba(loaded.dataset.X_test[:5]), trained.predict_proba(trained.dataset.X_test[:5]), rtol=1e-5, atol=1e-6)
    assert loaded.embed(loaded.dataset.X_test[:3]).shape == (3, 32)


def test_load_missing_recipe(catalog):
    with pytest.raises(ArtifactMissing, match="has not been trained yet"):
        load("wine-mlp", catalog, device="cpu")


def test_train_or_load_reuses_then_retrains(catalog, no_umap):
    first = train_or_load(TINY_WINE, catalog, device="cpu")
    assert first.fit_result is not None
    weights = first.artifact.path / "model.safetensors"
    identity = (weights.stat().st_ino, weights.stat().st_mtime_ns, first.manifest["created"])

    again = train_or_load(TINY_WINE, catalog, device="cpu")
    assert again.fit_result is None  # loaded, not trained
    assert (weights.stat().st_ino, weights.stat().st_mtime_ns, again.manifest["created"]) == identity
    assert again.metrics["test_accuracy"] == first.metrics["test_accuracy"]

    retrained = train_or_load(TINY_WINE, catalog, device="cpu", retrain=True)
    assert retrained.fit_result is not None
    new_weights = retrained.artifact.path / "model.safetensors"
    assert (new_weights.stat().st_ino, new_weights.stat().st_mtime_ns) != identity[:2]


def test_train_or_load_retrains_when_the_config_changed(catalog, no_umap):
    train(TINY_WINE, store=catalog.store, device="cpu", umap=False)
    changed = Recipe(TINY_WINE.name, "classifier", "wine", "mlp", {"hidden": [4], "dropout": 0.0}, TINY_WINE.train_config)
    result = train_or_load(changed, catalog, device="cpu")
    assert result.fit_result is not None
    assert catalog.store.open(TINY_WINE.name).manifest["config_hash"] == changed.config_hash(0)
    assert result.model.head.in_features == 4


def test_recipe_status_rows(tmp_path):
    user = Store(tmp_path / "user")
    catalog = Catalog(user, Store(tmp_path / "shipped", readonly=True))
    assert recipe_status(TINY_WINE, catalog)["status"] == "not trained"

    train(TINY_WINE, store=user, device="cpu", umap=False)
    row = recipe_status(TINY_WINE, catalog)
    assert row["status"] == "trained"
    assert row["test_accuracy"] == user.open(TINY_WINE.name).metrics["test_accuracy"]
    assert row["device"] == "CPU" and row["trained"] and row["family"] == "Classifier"

    stale = Recipe(TINY_WINE.name, "classifier", "wine", "mlp", {"hidden": [9]}, TINY_WINE.train_config)
    assert recipe_status(stale, catalog)["status"] == "trained (outdated)"

    weights = user.root / TINY_WINE.name / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    row = recipe_status(TINY_WINE, catalog)
    assert row["status"] == "corrupted" and "sha256" in row["message"]


def test_recipe_status_shipped(tmp_path):
    shipped_root = tmp_path / "shipped"
    train(TINY_WINE, store=Store(shipped_root), device="cpu", umap=False)
    catalog = Catalog(Store(tmp_path / "user"), Store(shipped_root, readonly=True))
    row = recipe_status(TINY_WINE, catalog)
    assert row["status"] == "shipped"
    loaded = load(TINY_WINE.name, catalog, device="cpu")
    assert loaded.status == "shipped" and loaded.artifact.shipped


def test_same_seed_twice_gives_identical_accuracy(tmp_path):
    a = train(TINY_WINE, store=Store(tmp_path / "a"), device="cpu", umap=False, seed=3)
    b = train(TINY_WINE, store=Store(tmp_path / "b"), device="cpu", umap=False, seed=3)
    assert a.metrics["test_accuracy"] == b.metrics["test_accuracy"]
    assert a.metrics["train_accuracy"] == b.metrics["train_accuracy"]
    assert a.artifact.manifest["files"]["model.safetensors"]["sha256"] == b.artifact.manifest["files"]["model.safetensors"]["sha256"]


def test_train_with_a_user_dataset(tmp_path):
    from interp_core.data import Dataset

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    dataset = Dataset("mine", "tabular", X[:45], y[:45], X[45:], y[45:], ["neg", "pos"])
    recipe = Recipe("user-mine-mlp", "classifier", "mine", "mlp", {}, {"epochs": 3})
    trained = train(recipe, store=Store(tmp_path / "s"), dataset=dataset, device="cpu", umap=False)
    assert trained.manifest["dataset"]["name"] == "mine" and trained.manifest["dataset"]["n_test"] == 15
    assert trained.model(torch.zeros(2, 3)).shape == (2, 2)


# -- projections ------------------------------------------------------------------------------


def test_pca_2d_shape_and_determinism():
    X = np.random.default_rng(0).normal(size=(50, 6))
    first, second = pca_2d(X), pca_2d(X.copy())
    assert first.shape == (50, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    # The first axis carries at least as much variance as the second.
    assert first[:, 0].var() >= first[:, 1].var()
    # Each axis's sign is fixed by the data, not by the SVD: a mirrored input gives the same picture.
    np.testing.assert_allclose(pca_2d(-X), first, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 4), (5, 1), (3, 2, 2)])
def test_pca_2d_degenerate_shapes(shape):
    coords = pca_2d(np.arange(np.prod(shape), dtype=float).reshape(shape))
    assert coords.shape == (shape[0], 2) and np.isfinite(coords).all()


def test_cached_projection_is_stored_then_read_back(trained_wine, monkeypatch):
    store, trained = trained_wine
    artifact = store.open("wine-mlp")
    X = trained.embed(trained.dataset.X_test)
    file = projection_file("cached-test")
    assert file not in artifact.manifest["files"]
    assert stored_projection(store, artifact, "cached-test", "pca") is None

    coords, artifact = cached_projection(store, artifact, "cached-test", X, "pca")
    assert coords.shape == (len(X), 2)
    assert file in store.open("wine-mlp").manifest["files"]
    assert file in artifact.manifest["files"]

    def no_compute(*args, **kwargs):
        raise AssertionError("the projection was recomputed instead of read from the store")

    monkeypatch.setattr(projection_module, "project", no_compute)
    again, _ = cached_projection(store, store.open("wine-mlp"), "cached-test", X, "pca")
    np.testing.assert_array_equal(again, coords)


def test_cached_projection_on_readonly_store_is_not_stored(trained_wine):
    store, trained = trained_wine
    readonly = Store(store.root, readonly=True)
    artifact = readonly.open("wine-mlp")
    X = trained.embed(trained.dataset.X_test)
    coords, returned = cached_projection(readonly, artifact, "readonly-test", X, "pca")
    assert coords.shape == (len(X), 2)
    assert projection_file("readonly-test") not in readonly.open("wine-mlp").manifest["files"]
    assert returned is artifact


def test_unknown_projection_method():
    with pytest.raises(ValueError, match="unknown projection method"):
        projection_module.project(np.zeros((5, 3)), "tsne")


def test_umap_is_imported_with_numba_s_disk_cache_on(tmp_path):
    """umap marks few numba functions cache=True, so each new process recompiled its layout code
    (20-30 s). _import_umap asks numba to cache each function defined while umap is imported, keeps
    an explicit cache=False, and puts numba's decorators back afterwards. Checked on a stand-in
    'umap' package in a fresh process (importing the real one costs a cold compile)."""
    fake = tmp_path / "umap"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import numba\n"
        "@numba.njit\ndef bare(x):\n    return x + 1\n"
        "layout = numba.njit(lambda x: x * 2, fastmath=True)\n"
        "explicit = numba.njit(cache=False)(lambda x: x - 1)\n"
    )
    code = (
        "import numba\n"
        "from interp_core.projection import _import_umap\n"
        "njit = numba.njit\n"
        "umap = _import_umap()\n"
        "print(*(type(f._cache).__name__ for f in (umap.bare, umap.layout, umap.explicit)), numba.njit is njit, umap.bare(1), _import_umap() is umap)\n"
    )
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{repo}", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=repo, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["FunctionCache", "FunctionCache", "NullCache", "True", "2", "True"]
