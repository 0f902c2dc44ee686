"""The demo checkpoints in assets/ load, verify, and reproduce the metrics recorded with them."""

import pytest

from interp_core import recipes
from interp_core.store import REPO_ROOT, SHIPPED_ROOT, Catalog, Store

RECIPES = [r.name for r in recipes.list_recipes()]


@pytest.fixture
def shipped_only(tmp_path):
    return Catalog(Store(tmp_path / "empty"), Store(SHIPPED_ROOT, readonly=True))


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_ships_a_current_checkpoint(shipped_only, name):
    artifact = shipped_only.find(name)  # verifies every file's sha256
    assert artifact is not None and artifact.shipped, f"{name} has no shipped checkpoint: run python -m interp_core ship"
    recipe = recipes.get_recipe(name)
    assert artifact.manifest["config_hash"] == recipe.config_hash(artifact.manifest["seed"]), f"{name}'s shipped checkpoint is outdated: re-ship it"


@pytest.mark.parametrize("name", RECIPES)
def test_shipped_checkpoint_reproduces_its_recorded_metrics(shipped_only, name):
    trained = recipes.load(name, shipped_only, device="cpu")
    assert trained.status == "shipped"
    recorded = trained.manifest["metrics"]
    if recorded.get("test_accuracy") is None:  # an SAE on generated activations (toy-sae-hier): no model to score, its reconstruction instead
        from interp_core.families.sae import explain, source_for

        measured = explain.reconstruction_metrics(trained.extras["sae"], source_for(trained).acts_test)
        assert measured["explained_variance"] == pytest.approx(recorded["explained_variance"], abs=1e-6)
        return
    measured = recipes.evaluate(trained.model, trained.dataset, "cpu")
    assert measured["test_accuracy"] == pytest.approx(recorded["test_accuracy"], abs=1e-6)
    assert measured["train_accuracy"] == pytest.approx(recorded["train_accuracy"], abs=1e-6)
    assert measured["n_parameters"] == recorded["n_parameters"]


@pytest.mark.parametrize("name", ["wine-mlp", "breast-cancer-mlp"])
def test_retraining_with_the_same_seed_on_cpu_gives_the_shipped_metrics(tmp_path, shipped_only, name):
    shipped = shipped_only.find(name).manifest
    retrained = recipes.train(name, store=Store(tmp_path / "retrain"), device="cpu", seed=shipped["seed"], umap=False)
    assert retrained.metrics["test_accuracy"] == shipped["metrics"]["test_accuracy"]
    assert retrained.metrics["epochs_run"] == shipped["metrics"]["epochs_run"]


def test_assets_stay_small():
    total = sum(p.stat().st_size for p in (REPO_ROOT / "assets").rglob("*") if p.is_file())
    assert total < 30 * 1024 * 1024, f"assets/ holds {total / 1e6:.1f} MB; keep it well under 30 MB"
