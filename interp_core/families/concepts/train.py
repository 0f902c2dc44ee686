"""The Concepts family's two trainers and their loader, and the default recipes for a user's data.

- "concepts-classifier": fits a classifier on (X, y) with the shared fit loop, then computes TCAV
  for every dataset concept x class x layer and stores it with the artifact (``tcav.json`` for the
  numbers, ``tcav-cavs.safetensors`` for the CAVs), so the page is instant from a checkpoint.
- "concepts-cbm": fits the three kinds of concept bottleneck model of Koh et al. 2020 on
  (X, concepts, y): independent (x->c on true concepts; c->y on true concepts), sequential
  (the same x->c; c->y on its predicted concepts) and joint (x->c->y end to end with loss
  CE + lambda * BCE). The recipe's ``mode`` is the artifact's model (model.safetensors); the other
  two are stored beside it (``cbm-<mode>.safetensors``), with a report of each (``cbm.json``) and
  TCAV of the main model.
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
import torch

from interp_core import recipes
from interp_core.data import Dataset, load_dataset
from interp_core.device import device_name
from interp_core.errors import DataError, RecipeError
from interp_core.families.concepts import explain as explain
from interp_core.families.concepts.models import CBM_MODES, ConceptBottleneck, tcav_layers
from interp_core.manifest import model_manifest
from interp_core.models import build_model, load_state
from interp_core.projection import pca_2d, projection_file, umap_2d
from interp_core.recipes import Recipe, TrainedModel
from interp_core.store import Artifact, Catalog, Store
from interp_core.training import FitResult, ProgressEvent, TrainConfig, batched, fit

FAMILY = "concepts"
TCAV_DEFAULTS = {"n_random": 10, "set_size": 50, "max_per_class": 150}
TCAV_FILE, CAV_FILE, CBM_FILE = "tcav.json", "tcav-cavs.safetensors", "cbm.json"


# -- helpers shared by both trainers -----------------------------------------------------------
def _noop(_text: str) -> None:
    pass


def _dataset_with_concepts(recipe: Recipe, dataset: Dataset | None) -> Dataset:
    dataset = dataset or load_dataset(recipe.dataset)
    explain.check_binary_concepts(dataset.concepts_train, f"Dataset '{dataset.name}'")
    explain.check_binary_concepts(dataset.concepts_test, f"Dataset '{dataset.name}'")
    return dataset


def tcav_settings(train_config: dict) -> dict:
    return {**TCAV_DEFAULTS, **train_config.get("tcav", {})}


def compute_tcav(model: torch.nn.Module, dataset: Dataset, settings: dict, seed: int, device, on_stage=_noop, layers: dict[str, str] | None = None,
                 on_cav=None) -> explain.TCAVResult:
    """TCAV of every dataset concept: concept examples and random sets from the training set, scored on test examples of each class.
    ``layers`` (display name -> module path): the layers to read; default the family architecture's own (``tcav_layers``).
    ``on_cav(done, total)`` hears each CAV trained (a page's progress bar)."""
    sets = explain.concept_example_sets(dataset.concepts_train, dataset.concept_names, settings["set_size"], seed)
    usable = {name: dataset.X_train[index] for name, index in sets.items() if len(index) >= explain.MIN_CONCEPT_EXAMPLES}
    if not usable:
        raise DataError(f"No concept of '{dataset.name}' has {explain.MIN_CONCEPT_EXAMPLES} or more positive training examples; TCAV needs them.")
    inputs = explain.class_inputs(dataset.X_test, dataset.y_test, dataset.n_classes, settings["max_per_class"], seed)
    last = {"quarter": -1}

    def progress(done: int, total: int) -> None:
        if on_cav is not None:
            on_cav(done, total)
        quarter = 4 * done // max(total, 1)
        if quarter != last["quarter"] and quarter < 4:
            last["quarter"] = quarter
            on_stage(f"Computing TCAV: {done}/{total} CAVs trained")

    # each concept's random sets are drawn from training examples without that concept
    exclude = {name: np.flatnonzero(dataset.concepts_train[:, j] > 0.5) for j, name in enumerate(dataset.concept_names)}
    return explain.tcav(model, layers or tcav_layers(model), usable, dataset.X_train, inputs, dataset.class_names, exclude=exclude,
                        n_random=settings["n_random"], random_set_size=settings["set_size"], seed=seed, device=device, progress=progress)


def _maps(embedding: np.ndarray, umap: bool, seed: int, stage) -> dict:
    maps = {"pca": pca_2d(embedding)}
    if umap:
        stage("Computing the UMAP map of the test set (the first map in a process compiles numba code)")
        maps["umap"] = umap_2d(embedding, seed=seed)
    return maps


def _manifest(recipe: Recipe, dataset: Dataset, model_config: dict, train_config: dict, seed: int, epochs: int | None, metrics: dict, device, seconds: float, **extra) -> dict:
    return model_manifest(
        recipe, dataset={**dataset.summary(), "concept_names": list(dataset.concept_names or [])}, model_config=model_config,
        train_config=train_config, seed=seed, config_hash=recipe.config_hash(seed, {"epochs": epochs} if epochs else None),
        metrics=metrics, device=device, train_seconds=seconds, **extra,
    )


class PhasedProgress:
    """Several fit loops reported as one bar: phase i fills its share of 0..1000 steps, epochs count on."""

    def __init__(self, progress, shares: list[float], epochs: list[int]):
        self.progress = progress
        total = sum(shares)
        self.starts = np.concatenate([[0.0], np.cumsum(shares)[:-1]]) / total
        self.shares = np.asarray(shares) / total
        self.epoch_offsets = np.concatenate([[0], np.cumsum(epochs)[:-1]]).astype(int)
        self.epochs = int(sum(epochs))
        self.phase = 0

    def __call__(self, event: ProgressEvent) -> None:
        if self.progress is None:
            return
        fraction = self.starts[self.phase] + self.shares[self.phase] * event.step / max(event.total, 1)
        self.progress(ProgressEvent(int(round(1000 * fraction)), 1000, event.loss, event.metric, int(self.epoch_offsets[self.phase] + event.epoch), self.epochs))

    def next(self) -> None:
        self.phase = min(self.phase + 1, len(self.shares) - 1)


# -- trainer 1: the classifier TCAV probes ------------------------------------------------------
def train_concept_classifier(recipe: Recipe, *, store: Store, dataset: Dataset | None, device, seed: int, epochs: int | None, progress, cancel, umap: bool, on_stage) -> TrainedModel:
    stage = on_stage or _noop
    dataset = _dataset_with_concepts(recipe, dataset)
    model, model_config, train_config, result, seconds = recipes.fit_recipe(recipe, dataset, device, seed, epochs, progress, cancel, stage)
    stage("Evaluating on the test set")
    metrics = {**recipes.evaluate(model, dataset, device), "best_epoch": result.best_epoch, "epochs_run": result.epochs_run}
    maps = _maps(batched(model.embed, dataset.X_test, device), umap, seed, stage)
    stage("Computing TCAV for every concept, class and layer")
    result_tcav = compute_tcav(model, dataset, tcav_settings(recipe.train_config), seed, device, stage)
    metrics["tcav_significant"] = int(result_tcav.significant.sum())
    manifest = _manifest(recipe, dataset, model_config, {**train_config.to_dict(), "tcav": tcav_settings(recipe.train_config)}, seed, epochs, metrics, device, seconds, kind="classifier")
    files = {
        "model.safetensors": dict(model.state_dict()),
        "history.json": result.history,
        projection_file("test-embedding"): maps,
        TCAV_FILE: result_tcav.to_json(),
        CAV_FILE: result_tcav.cav_arrays(),
    }
    stage("Saving to the store")
    artifact = store.save(recipe.name, files, manifest)
    return TrainedModel(recipe.name, model.eval(), dataset, artifact.manifest, artifact, device, result, extras={"kind": "classifier", "tcav": result_tcav})


# -- trainer 2: concept bottleneck models -------------------------------------------------------
def _cbm_config(recipe: Recipe, dataset: Dataset) -> dict:
    body = "conv" if dataset.modality == "image" else "dense"
    return {"input_shape": list(dataset.input_shape), "n_classes": dataset.n_classes, "n_concepts": len(dataset.concept_names), "body": body, **recipe.model_config}


def _concept_accuracy_metric(model, x, concepts, *rest) -> float:
    return float(((model.concept_logits(x) > 0) == (concepts > 0.5)).float().mean())


def train_cbm(recipe: Recipe, *, store: Store, dataset: Dataset | None, device, seed: int, epochs: int | None, progress, cancel, umap: bool, on_stage) -> TrainedModel:
    stage = on_stage or _noop
    dataset = _dataset_with_concepts(recipe, dataset)
    settings = dict(recipe.train_config)
    mode = settings.get("mode", "joint")
    if mode not in CBM_MODES:
        raise RecipeError(f"Recipe '{recipe.name}' asks for CBM mode '{mode}'; expected one of: {', '.join(CBM_MODES)}.")
    config = TrainConfig.from_dict({**settings, **({"epochs": epochs} if epochs else {})})
    head_config = replace(config, epochs=epochs or int(settings.get("head_epochs", 100)), lr=float(settings.get("head_lr", 1e-2)), batch_size=max(config.batch_size, 64))
    model_config = _cbm_config(recipe, dataset)
    X, y, C = dataset.X_train, dataset.y_train, dataset.concepts_train.astype(np.float32)
    phases = PhasedProgress(progress, [0.45, 0.05, 0.05, 0.45], [config.epochs, head_config.epochs, head_config.epochs, config.epochs])
    histories: dict[str, dict] = {}
    start = time.perf_counter()

    # x -> c, shared by the independent and sequential models
    torch.manual_seed(seed)
    encoder_model = build_model("cbm", model_config)
    encoder_model.fit_input_scale(X)
    stage(f"Training the concept encoder x -> c ({len(dataset.concept_names)} concepts) on {device_name(device)}")
    result = fit(encoder_model, (X, C), config, device=device, seed=seed, loss_fn=lambda m, x, c: m.concept_loss(x, c), metric_fn=_concept_accuracy_metric, progress=phases, cancel=cancel)
    histories["encoder"] = result.history
    phases.next()
    predicted_train = explain.concept_probabilities(encoder_model, X, device)

    models: dict[str, ConceptBottleneck] = {}
    for name, head_inputs in (("independent", C), ("sequential", predicted_train)):
        stage(f"Training the {name} head c -> y (on {'true' if name == 'independent' else 'predicted'} concepts)")
        torch.manual_seed(seed)
        model = copy.deepcopy(encoder_model)  # its head is still the untrained initial one
        head_result = fit(model.head, (head_inputs, y), head_config, device=device, seed=seed, progress=phases, cancel=cancel)
        histories[name] = head_result.history
        models[name] = model.eval()
        phases.next()

    stage(f"Training the joint model x -> c -> y (concept weight {model_config.get('concept_weight', 1.0)})")
    torch.manual_seed(seed)
    joint = build_model("cbm", model_config)
    joint.fit_input_scale(X)
    joint_result = fit(joint, (X, y, C), config, device=device, seed=seed, loss_fn=lambda m, x, yy, c: m.joint_loss(x, yy, c), progress=phases, cancel=cancel)
    histories["joint"] = joint_result.history
    models["joint"] = joint.eval()
    seconds = time.perf_counter() - start

    stage("Evaluating concepts, classes and test-time intervention on the test set")
    reports = {name: explain.cbm_report(m, name, dataset.X_test, dataset.y_test, dataset.concepts_test, dataset.concepts_train, seed, device) for name, m in models.items()}
    main = models[mode]
    main_result = joint_result if mode == "joint" else FitResult(history=histories["encoder"], best_epoch=result.best_epoch, epochs_run=result.epochs_run)
    metrics = {
        **recipes.evaluate(main, dataset, device),
        "best_epoch": main_result.best_epoch,
        "epochs_run": main_result.epochs_run,
        "concept_accuracy": round(reports[mode].mean_concept_accuracy, 6),
        "intervention_all_accuracy": round(float(reports[mode].curves["random"].accuracy[-1]), 6),
        **{f"{name}_test_accuracy": round(report.task_accuracy, 6) for name, report in reports.items()},
    }
    maps = _maps(explain.concept_probabilities(main, dataset.X_test, device), umap, seed, stage)
    stage("Computing TCAV of the main model for every concept, class and layer")
    result_tcav = compute_tcav(main, dataset, tcav_settings(settings), seed, device, stage)
    metrics["tcav_significant"] = int(result_tcav.significant.sum())
    manifest = _manifest(recipe, dataset, model_config, {**config.to_dict(), "mode": mode, "head": head_config.to_dict(), "tcav": tcav_settings(settings)}, seed, epochs, metrics, device, seconds, kind="cbm", mode=mode)
    files = {
        "model.safetensors": dict(main.state_dict()),
        "history.json": main_result.history,
        "histories.json": histories,
        projection_file("test-embedding"): maps,
        TCAV_FILE: result_tcav.to_json(),
        CAV_FILE: result_tcav.cav_arrays(),
        CBM_FILE: {name: report.to_json() for name, report in reports.items()},
    }
    for name, model in models.items():
        if name != mode:
            files[f"cbm-{name}.safetensors"] = dict(model.state_dict())
    stage("Saving to the store")
    artifact = store.save(recipe.name, files, manifest)
    extras = {"kind": "cbm", "mode": mode, "cbm_models": models, "cbm_reports": reports, "tcav": result_tcav}
    return TrainedModel(recipe.name, main, dataset, artifact.manifest, artifact, device, main_result, extras=extras)


# -- loading ------------------------------------------------------------------------------------
def _build_loaded(artifact: Artifact, store: Store, file: str, device) -> torch.nn.Module:
    manifest = artifact.manifest
    try:
        model = build_model(manifest["arch"], manifest["model_config"])
    except (KeyError, TypeError) as exc:
        from interp_core.errors import StoreError

        raise StoreError(f"Artifact '{artifact.name}' has a manifest this version cannot build ({exc}); retrain it.") from None
    load_state(model, store.read_tensors(artifact, file))
    return model.to(device).eval()


def load_tcav(artifact: Artifact, store: Store) -> explain.TCAVResult | None:
    if TCAV_FILE not in artifact.manifest.get("files", {}):
        return None
    cavs = store.read_arrays(artifact, CAV_FILE) if CAV_FILE in artifact.manifest["files"] else None
    return explain.TCAVResult.from_json(store.read_json(artifact, TCAV_FILE), cavs)


def load_concepts_model(artifact: Artifact, catalog: Catalog, device, dataset: Dataset | None = None) -> TrainedModel:
    store = catalog.store_for(artifact)
    manifest = artifact.manifest
    model = _build_loaded(artifact, store, "model.safetensors", device)
    dataset = dataset or load_dataset(manifest["dataset"]["name"])
    extras = {"kind": manifest.get("kind", "classifier"), "tcav": load_tcav(artifact, store)}
    if extras["kind"] == "cbm":
        mode = manifest.get("mode", "joint")
        models = {name: (model if name == mode else _build_loaded(artifact, store, f"cbm-{name}.safetensors", device)) for name in CBM_MODES}
        reports = {name: explain.CBMReport.from_json(data) for name, data in store.read_json(artifact, CBM_FILE).items()}
        extras.update(mode=mode, cbm_models=models, cbm_reports=reports)
    return TrainedModel(artifact.name, model, dataset, manifest, artifact, device, extras=extras)


def user_recipes(dataset: Dataset) -> tuple[Recipe, Recipe]:
    """The family's default classifier and CBM for a user's dataset (not registered; named after the file)."""
    epochs = {"epochs": 30, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "patience": 8}
    if dataset.modality == "image" and min(dataset.input_shape[1:]) < 4:  # the CNN halves the image twice before its last block
        height, width = dataset.input_shape[1:]
        raise DataError(f"The concept CNN needs images of at least 4x4 pixels; this file's are {height}x{width}: give larger images, or a table X (n, features).")
    if dataset.modality == "image":
        classifier = Recipe(f"user-{dataset.name}-concept-cnn", FAMILY, dataset.name, "concept-cnn", {"channels": [8, 16, 32], "hidden": 32}, dict(epochs), f"Default CNN on {dataset.source}", "concepts-classifier")
        cbm = Recipe(f"user-{dataset.name}-cbm", FAMILY, dataset.name, "cbm", {"channels": [8, 16, 32], "hidden": 32, "concept_weight": 5.0}, {**epochs, "mode": "sequential"}, f"Default CBM on {dataset.source}", "concepts-cbm")
    else:
        epochs = {"epochs": 100, "batch_size": 32, "lr": 3e-3, "weight_decay": 1e-3, "patience": 20}
        classifier = Recipe(f"user-{dataset.name}-concept-mlp", FAMILY, dataset.name, "concept-mlp", {"hidden": [32, 16]}, dict(epochs), f"Default MLP on {dataset.source}", "concepts-classifier")
        cbm = Recipe(f"user-{dataset.name}-cbm", FAMILY, dataset.name, "cbm", {"hidden": [32, 16], "concept_weight": 5.0}, {**epochs, "mode": "sequential"}, f"Default CBM on {dataset.source}", "concepts-cbm")
    return classifier, cbm
