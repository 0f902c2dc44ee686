"""Named (dataset, model, hyper-parameters) combinations, and training or loading them.

``train_or_load(name)`` returns a TrainedModel: the user's store first, then the shipped demo
store in assets/, else it trains. A family registers its recipes with ``register``.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from interp_core.checks import is_number
from interp_core.data import Dataset, load_dataset
from interp_core.device import device_name, resolve_device
from interp_core.family import family_folders, family_title
from interp_core.errors import ArtifactCorrupted, ArtifactMissing, RecipeError, StoreError
from interp_core.manifest import Manifest, model_manifest, validate
from interp_core.models import build_model, check_model_config, count_parameters, load_state
from interp_core.models.configs import ModelConfigError, check_config
from interp_core.projection import pca_2d, projection_file, umap_2d
from interp_core.store import Artifact, Catalog, Store, config_hash
from interp_core.training import FitResult, ProgressCallback, TrainConfig, batched, fit, predict_logits

@dataclass(frozen=True)
class Recipe:
    name: str
    family: str
    dataset: str
    arch: str
    model_config: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)
    description: str = ""
    trainer: str = "classifier"  # a key of TRAINERS: how this recipe is trained and loaded

    def config(self) -> dict:
        return {"dataset": self.dataset, "arch": self.arch, "model_config": self.model_config, "train_config": self.train_config}

    def config_hash(self, seed: int, train_config: dict | None = None) -> str:
        """Hash of what was trained: the recipe's settings, or the effective ones after overrides."""
        config = self.config()
        if train_config is not None:
            # an override counts when it differs from the recipe's value, or the recipe leaves it to the default
            config["train_config"] = {**self.train_config, **{k: v for k, v in train_config.items() if k not in self.train_config or self.train_config[k] != v}}
        return config_hash({**config, "seed": int(seed)})


_RECIPES: dict[str, Recipe] = {}


def default_recipe(dataset) -> Recipe:
    """The default model for a user's dataset: an MLP for tables and images, an FCN for series (``train --data``, Home's upload)."""
    arch, family = ("fcn", "timeseries") if dataset.modality == "series" else ("mlp", "classifier")
    return Recipe(f"user-{dataset.name}-{arch}", family, dataset.name, arch, {}, {"epochs": 100, "patience": 20}, f"Default {arch} on {dataset.source}")


def model_config_builds(manifest: Manifest) -> list[tuple[str, object, dict]]:
    """What most loaders build from a manifest: its ``arch`` from its ``model_config``."""
    return [("model_config", manifest.arch, manifest.model_config)]


@dataclass(frozen=True)
class Trainer:
    """How a kind of recipe is trained and loaded. ``train(recipe, **options) -> TrainedModel``
    takes the options of ``recipes.train``; ``load(artifact, catalog, device) -> TrainedModel``.
    ``builds(manifest)`` lists what ``load`` builds, as (manifest field, architecture name or
    builder, config), so a manifest's configs are checked before loading (``check_artifact``)."""

    train: Callable[..., "TrainedModel"]
    load: Callable[..., "TrainedModel"]
    builds: Callable[[Manifest], list[tuple[str, object, dict]]] = model_config_builds


TRAINERS: dict[str, Trainer] = {}


def register_trainer(name: str, trainer: Trainer) -> None:
    TRAINERS[name] = trainer


def _families() -> None:
    from interp_core.family import load_families

    load_families()


def register(recipe: Recipe) -> Recipe:
    if recipe.family != "classifier" and recipe.family not in family_folders():
        raise ValueError(f"unknown family {recipe.family!r}")
    _RECIPES[recipe.name] = recipe
    return recipe


def _all_recipes() -> dict[str, Recipe]:
    """The built-in recipes, then the current browser session's own (interp_core.sessions)."""
    from interp_core.sessions import current_recipes

    _families()
    return {**_RECIPES, **current_recipes()}


def list_recipes(family: str | None = None) -> list[Recipe]:
    return [r for r in _all_recipes().values() if family is None or r.family == family]


def get_recipe(name: str) -> Recipe:
    known = _all_recipes()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(_RECIPES), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"expected one of: {', '.join(sorted(_RECIPES))}."
    raise RecipeError(f"Unknown recipe '{name}'; {hint}")


@dataclass
class TrainedModel:
    """A model ready to explain: the module (eval mode, on ``device``), its data and its manifest."""

    name: str
    model: nn.Module
    dataset: Dataset
    manifest: dict
    artifact: Artifact
    device: torch.device
    fit_result: FitResult | None = None
    extras: dict = field(default_factory=dict)  # family-specific companions (e.g. an SAE's base model)

    @property
    def status(self) -> str:
        return "shipped" if self.artifact.shipped else "trained"

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    @property
    def is_classifier(self) -> bool:
        """True when predict_proba/embed work on dataset.X_test (Home's drill-down and the sidebar use them)."""
        return bool(self.extras.get("classifier", True))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return torch.softmax(torch.as_tensor(predict_logits(self.model, X, self.device)), dim=1).numpy()

    def embed(self, X: np.ndarray) -> np.ndarray:
        self.model.eval()
        return batched(self.model.embed, X, self.device)


def evaluate(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu") -> dict:
    """Metrics recorded in every classifier's manifest (and re-checked against shipped ones by the tests)."""
    test_pred = predict_logits(model, dataset.X_test, device).argmax(1)
    train_pred = predict_logits(model, dataset.X_train, device).argmax(1)
    return {
        "test_accuracy": round(float((test_pred == dataset.y_test).mean()), 6),
        "train_accuracy": round(float((train_pred == dataset.y_train).mean()), 6),
        "n_parameters": count_parameters(model),
    }


def build_for(recipe: Recipe, dataset: Dataset) -> tuple[nn.Module, dict]:
    config = {"input_shape": list(dataset.input_shape), "n_classes": dataset.n_classes, **recipe.model_config}
    return build_model(recipe.arch, config), config


def train(
    recipe: Recipe | str,
    *,
    store: Store | None = None,
    dataset: Dataset | None = None,
    device: str | torch.device = "auto",
    seed: int = 0,
    epochs: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    umap: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Train a recipe from scratch and save it; nothing is written if training fails or is cancelled.

    ``on_stage`` hears a short phrase as each phase starts (the progress bar covers only training).
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    store = store or Store()
    device = resolve_device(device)
    options = dict(store=store, dataset=dataset, device=device, seed=seed, epochs=epochs, progress=progress, cancel=cancel, umap=umap, on_stage=on_stage)
    return TRAINERS[recipe.trainer].train(recipe, **options)


def fit_recipe(recipe: Recipe, dataset: Dataset, device: torch.device, seed: int, epochs: int | None, progress, cancel, stage) -> tuple:
    """Build a recipe's classifier and fit it on the dataset's training set with the shared loop.

    Returns (model, model_config, train_config, fit result, seconds); trainers add their own analyses.
    """
    train_config = TrainConfig.from_dict({**recipe.train_config, **({"epochs": epochs} if epochs else {})})
    torch.manual_seed(seed)
    model, model_config = build_for(recipe, dataset)
    if hasattr(model, "fit_input_scale"):
        model.fit_input_scale(dataset.X_train)
    stage(f"Training {recipe.name} on {device_name(device)}")
    start = time.perf_counter()
    result = fit(model, (dataset.X_train, dataset.y_train), train_config, device=device, seed=seed, progress=progress, cancel=cancel)
    return model, model_config, train_config, result, time.perf_counter() - start


# Home's embedding map: a well-trained classifier separates its classes so cleanly that UMAP's default
# packing (0.1) squeezes each class into one dot; 0.5 keeps its examples apart enough to click one
# (median nearest-neighbour distance about 4x larger on digits-mlp).
MAP_MIN_DIST = 0.5


def train_classifier(
    recipe: Recipe,
    *,
    store: Store,
    dataset: Dataset | None,
    device: torch.device,
    seed: int,
    epochs: int | None,
    progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
    umap: bool,
    on_stage: Callable[[str], None] | None,
) -> TrainedModel:
    """The default trainer: a classifier fitted on (X, y) with the shared fit loop."""
    stage = on_stage or (lambda _text: None)
    dataset = dataset or load_dataset(recipe.dataset)
    model, model_config, train_config, result, seconds = fit_recipe(recipe, dataset, device, seed, epochs, progress, cancel, stage)
    stage("Evaluating on the test set")
    metrics = evaluate(model, dataset, device)
    embedding = batched(model.embed, dataset.X_test, device)
    maps = {"pca": pca_2d(embedding)}
    if umap:
        stage("Computing the UMAP map of the test set (the first map in a process compiles numba code)")
        maps["umap"] = umap_2d(embedding, seed=seed, min_dist=MAP_MIN_DIST)
    manifest = model_manifest(
        recipe, dataset=dataset.summary(), model_config=model_config, train_config=train_config.to_dict(), seed=seed,
        config_hash=recipe.config_hash(seed, {"epochs": epochs} if epochs else None),
        metrics={**metrics, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run}, device=device, train_seconds=seconds,
    )
    files = {
        "model.safetensors": {k: v for k, v in model.state_dict().items()},
        "history.json": result.history,
        projection_file("test-embedding"): maps,
    }
    stage("Saving to the store")
    artifact = store.save(recipe.name, files, manifest)
    return TrainedModel(recipe.name, model, dataset, artifact.manifest, artifact, device, result)


def check_artifact(artifact: Artifact) -> Manifest:
    """An artifact's manifest checked against the one schema (interp_core.manifest) and every config
    its loader builds checked for types, ranges and declared size (interp_core.models.configs).

    Raises ArtifactCorrupted (StoreError) with one sentence; the model hub shows it as "corrupted".
    """
    where = artifact.location
    manifest = validate(artifact.manifest, artifact.name, where)
    _families()
    trainer = TRAINERS.get(manifest.trainer)
    if trainer is None:
        raise StoreError(f"Artifact '{artifact.name}' was made by a trainer this version does not know ({manifest.trainer}); retrain it.")
    for field_name, builder, config in trainer.builds(manifest):
        try:
            if isinstance(builder, str):
                check_model_config(builder, config)
            else:
                check_config(field_name, builder, config)
        except ModelConfigError as exc:
            raise ArtifactCorrupted(f"Artifact '{artifact.name}' is corrupted: its manifest's {field_name} {exc.phrase}; retrain it or delete {where}.") from None
        except RecipeError as exc:
            raise ArtifactCorrupted(f"Artifact '{artifact.name}' is corrupted: its manifest's {field_name} cannot be used ({str(exc).rstrip('.')}); retrain it or delete {where}.") from None
    return manifest


def find_artifact(name: str, catalog: Catalog, verify: bool = True) -> Artifact | None:
    """The stored artifact of ``name`` (``catalog.find``) with its manifest checked (``check_artifact``); None if never trained."""
    artifact = catalog.find(name, verify=verify)
    if artifact is not None:
        check_artifact(artifact)
    return artifact


def load(name: str, catalog: Catalog | None = None, device: str | torch.device = "auto", dataset: Dataset | None = None) -> TrainedModel:
    """Load a stored artifact (verified by sha256, its manifest checked) into its architecture; nothing is unpickled."""
    catalog = catalog or Catalog()
    artifact = catalog.find(name)
    if artifact is None:
        raise ArtifactMissing(f"Recipe '{name}' has not been trained yet; train it in the model hub or with: python -m interp_core train {name}")
    return TRAINERS[check_artifact(artifact).trainer].load(artifact, catalog, resolve_device(device), dataset=dataset)


def load_classifier(artifact: Artifact, catalog: Catalog, device: torch.device, dataset: Dataset | None = None) -> TrainedModel:
    """The default loader: rebuild the architecture from the manifest and load the safetensors weights."""
    name, manifest = artifact.name, artifact.manifest
    model = build_model(manifest["arch"], manifest["model_config"])  # checked by find_artifact
    load_state(model, catalog.store_for(artifact).read_tensors(artifact))
    model.to(device).eval()
    dataset = dataset or load_dataset(manifest["dataset"]["name"])
    return TrainedModel(name, model, dataset, manifest, artifact, device)


def train_or_load(
    recipe: Recipe | str,
    catalog: Catalog | None = None,
    *,
    device: str | torch.device = "auto",
    seed: int = 0,
    retrain: bool = False,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    umap: bool = True,
) -> TrainedModel:
    """Load the stored model when its configuration matches the recipe's; otherwise train it."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    catalog = catalog or Catalog()
    if not retrain:
        artifact = find_artifact(recipe.name, catalog)
        if artifact is not None and artifact.manifest["config_hash"] == recipe.config_hash(artifact.manifest["seed"]):
            return load(recipe.name, catalog, device)
    return train(recipe, store=catalog.store, device=device, seed=seed, progress=progress, cancel=cancel, umap=umap)


def recipe_status(recipe: Recipe, catalog: Catalog) -> dict:
    """One model-hub row: where the model stands and its headline numbers; never raises on bad artifacts."""
    row = {
        "recipe": recipe.name,
        "family": family_title(recipe.family),
        "dataset": recipe.dataset,
        "status": "not trained",
        "test_accuracy": None,
        "device": None,
        "trained": None,
        "message": "",
    }
    try:
        artifact = catalog.find(recipe.name)
        manifest = check_artifact(artifact) if artifact is not None else None
    except StoreError as exc:
        return {**row, "status": "corrupted", "message": str(exc)}
    if artifact is None:
        return row
    stale = manifest.config_hash != recipe.config_hash(manifest.seed)
    accuracy = manifest.metrics.get("test_accuracy")
    return {
        **row,
        "status": ("shipped" if artifact.shipped else "trained") + (" (outdated)" if stale else ""),
        "test_accuracy": accuracy if is_number(accuracy) else None,
        "device": manifest.device_name or manifest.device or None,
        "trained": manifest.created or None,
    }


register_trainer("classifier", Trainer(train_classifier, load_classifier))


# -- the foundation's recipes: plain classifiers the pages build on --------------------------
register(Recipe(
    "digits-mlp", "classifier", "digits", "mlp",
    {"hidden": [128], "dropout": 0.2},
    {"epochs": 60, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "patience": 15},
    "MLP on 8x8 handwritten digits; its hidden layer feeds the SAE page.",
))
register(Recipe(
    "breast-cancer-mlp", "classifier", "breast_cancer", "mlp",
    {"hidden": [32], "dropout": 0.1},
    {"epochs": 80, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-3, "patience": 20},
    "MLP black box on 30 cell measurements (malignant vs benign).",
))
register(Recipe(
    "wine-mlp", "classifier", "wine", "mlp",
    {"hidden": [32], "dropout": 0.1},
    {"epochs": 80, "batch_size": 16, "lr": 2e-3, "weight_decay": 1e-3, "patience": 20},
    "MLP black box on 13 chemical measurements (three cultivars).",
))
# gunpoint-cnn and basicmotions-cnn moved to interp_core/families/timeseries.py (the Time-series page).
