"""The time-series trainer (the shared classifier trainer, then every attribution method scored and
stored with the model) and the family's default classifier for a user's series."""

from __future__ import annotations

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.recipes import Recipe

FAMILY = "timeseries"
FCN = {"channels": [32, 64, 32], "kernels": [7, 5, 3]}
DEFAULT_USER_RECIPE = {"arch": "fcn", "model_config": FCN, "train_config": {"epochs": 100, "batch_size": 32, "lr": 2e-3, "weight_decay": 1e-4, "patience": 20, "val_fraction": 0.2}}


def train_timeseries(recipe: Recipe, *, store, dataset, device, seed, epochs, progress, cancel, umap, on_stage) -> recipes.TrainedModel:
    trained = recipes.train_classifier(recipe, store=store, dataset=dataset, device=device, seed=seed, epochs=epochs, progress=progress, cancel=cancel, umap=umap, on_stage=on_stage)
    stage = on_stage or (lambda _text: None)
    _report, artifact = tsx.compute_and_store_report(store, trained.artifact, trained.model, trained.dataset, map_method="umap" if umap else "pca", seed=seed, progress=lambda text, _share: stage(f"Scoring attributions: {text}"))
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained


def user_recipe(dataset) -> Recipe:
    """The family's default classifier for a user's series: the FCN, scored by every method at train time."""
    return Recipe(f"user-{dataset.name}-fcn", FAMILY, dataset.name, DEFAULT_USER_RECIPE["arch"], DEFAULT_USER_RECIPE["model_config"], DEFAULT_USER_RECIPE["train_config"], f"Default FCN on {dataset.source}")
