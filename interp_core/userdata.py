"""What each page can do with a user's own file or model: which uploads fit a family, the family's
default model(s) for them (the same recipes ``--data`` trains on the CLI), and turning an uploaded
model (safetensors + config) into an artifact the pages explore like a built-in recipe.

Streamlit-free; ``ui/uploads.py`` draws it. Everything is saved through a session's Store.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path


from interp_core import recipes
from interp_core.data import Dataset, load_dataset, load_user_file, safe_name
from interp_core.manifest import model_manifest
from interp_core.data.userfiles import npz_ndim
from interp_core.errors import DataError, InterpError
from interp_core.modelfiles import LoadedModel
from interp_core.projection import pca_2d, projection_file
from interp_core.sessions import DATASET_PREFIX, Session
from interp_core.training import batched

PAGE_NAMES = {None: "Home", "classifier": "Home", "rules": "Rules", "prototypes": "Prototypes", "timeseries": "Time series", "concepts": "Concepts", "sae": "SAE features", "mechanisms": "Mechanisms"}

# Families whose page cannot work on an uploaded file, and why (one sentence each).
CANNOT = {
    "mechanisms": "Mechanisms takes apart networks trained on every pair of a group's elements (Z_n, S_n) and checks the explanation against brute force over that whole table; "
                  "an uploaded file has no group structure to check against, so bring your data to Home, Rules, Prototypes, Time series, Concepts or SAE features instead.",
}

ACCEPTS = {
    None: "a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features), images (n, channels, h, w) or series (n, time) / (n, channels, time).",
    "rules": "a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features) or images (n, h, w) / (n, channels, h, w).",
    "prototypes": "a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features) or images (n, h, w) / (n, channels, h, w).",
    "timeseries": "an NPZ with X, series (n, time) or (n, channels, time), and y; an optional mask (the shape of X) marks the truly relevant steps and adds ground-truth scores.",
    "concepts": "an NPZ with X (a table or images), y, concepts (n, k) of 0/1 labels and optional concept_names.",
    "sae": "an NPZ with acts (n vectors, d dimensions) from any model's layer, and optionally true_features (f, d) if the true directions are known; top examples are listed by number, since the file carries no inputs.",
}

# How a 3-D X (n, a, b) is read on each page: grey images or multichannel series.
MODALITY_3D = {None: None, "rules": "image", "prototypes": "image", "concepts": "image", "timeseries": "series"}

MODEL_LABEL = {None: "classifier (MLP for tables and images, FCN for series)", "rules": "black box (group-lasso MLP)", "prototypes": "prototype network",
               "timeseries": "time-series classifier (FCN)", "concepts": "classifier and concept bottleneck model", "sae": "sparse autoencoder (TopK)"}

# Bundled datasets an uploaded classifier may have been trained on (checked by input shape and classes).
MODEL_DATASETS = ("breast_cancer", "wine", "digits", "gunpoint")


def read_upload(data: bytes, filename: str, family: str | None, target: str | None = None) -> Dataset:
    """A user's CSV/NPZ bytes as a Dataset for ``family``'s page, named ``upload-<safe name>``."""
    if family == "sae":
        from interp_core.families.sae.data import load_acts_file
        from interp_core.families.sae import acts_dataset

        acts, true_features = load_acts_file(data, filename=filename)
        dataset = acts_dataset(acts, true_features, Path(filename).name)
        dataset.name = DATASET_PREFIX + safe_name(filename)
        return dataset
    modality = MODALITY_3D.get(family)
    ndim = npz_ndim(data) if filename.lower().endswith(".npz") else None
    if not (ndim == 3 or (ndim == 2 and modality == "series")):
        modality = None  # a 2-D X is a table (a series only on Time series), 4-D is images anyway
    dataset = load_user_file(data, filename=filename, target=target, modality=modality)
    dataset.name = DATASET_PREFIX + safe_name(filename)
    return dataset


def default_recipes(family: str | None, dataset: Dataset) -> list[tuple[recipes.Recipe, str | None]]:
    """The family's default model(s) for ``dataset`` as (recipe, counterpart) pairs; DataError if it does not fit."""
    from interp_core.families import load_all

    load_all()
    where = PAGE_NAMES.get(family, family)
    if family in CANNOT:
        raise DataError(CANNOT[family])
    if family is None or family == "classifier":
        from interp_core.cli import user_recipe

        recipe = user_recipe(dataset)
        if recipe.family == "timeseries":  # score every attribution method at train time, as the page's own recipes do
            recipe = dataclasses.replace(recipe, trainer="timeseries")
        return [(recipe, None)]
    if family == "rules":
        from interp_core.families.rules import user_recipe

        if dataset.modality not in ("tabular", "image"):
            raise DataError(f"{where} explains tables and images; this file holds {dataset.modality} data (try Time series or Prototypes).")
        return [(user_recipe(dataset), None)]
    if family == "prototypes":
        from interp_core.families.prototypes import user_recipe

        return [(user_recipe(dataset), None)]
    if family == "timeseries":
        from interp_core.families.timeseries import user_recipe

        if dataset.modality != "series":
            raise DataError(f"{where} needs series, X shaped (n, time) or (n, channels, time) in an NPZ; this file holds {dataset.modality} data.")
        return [(dataclasses.replace(user_recipe(dataset), trainer="timeseries"), None)]
    if family == "concepts":
        from interp_core.families.concepts.explain import check_binary_concepts
        from interp_core.families.concepts import user_recipes

        if dataset.modality not in ("tabular", "image"):
            raise DataError(f"{where} needs a table or images with concept labels; this file holds {dataset.modality} data.")
        check_binary_concepts(dataset.concepts_train, "This file")
        classifier, cbm = user_recipes(dataset)
        return [(classifier, cbm.name), (cbm, classifier.name)]
    if family == "sae":
        from interp_core.families.sae import user_recipe

        if dataset.modality != "activations":
            raise DataError(f"{where} needs an NPZ with acts (n, d); this file holds {dataset.modality} data.")
        return [(user_recipe(dataset), None)]
    raise DataError(f"The {where} page does not take uploaded files.")


def train_defaults(session: Session, family: str | None, dataset: Dataset, *, seed: int = 0, progress=None, on_stage=None, on_recipe=None) -> list[recipes.TrainedModel]:
    """Save the dataset in the session store, train the family's default model(s) there and register them for the session.

    ``on_recipe(recipe, index, total)`` hears each recipe as it starts. Nothing is registered if training fails.
    """
    plan = default_recipes(family, dataset)
    session.add_dataset(dataset)
    trained = []
    for index, (recipe, _pair) in enumerate(plan):
        if on_recipe:
            on_recipe(recipe, index, len(plan))
        trained.append(recipes.train(recipe, store=session.store, dataset=copy.deepcopy(dataset), seed=seed, progress=progress, on_stage=on_stage, umap=False))
    for recipe, pair in plan:
        session.add_recipe(recipe, pair)
    return trained


# -- uploaded models ----------------------------------------------------------------------------
def matching_datasets(loaded: LoadedModel, session: Session | None = None) -> list[str]:
    """Names of datasets an uploaded classifier fits (same input shape and number of classes): the one its
    config names, this session's uploads, then the bundled tables, digits and GunPoint."""
    config = loaded.config.get("model_config") or {}
    shape, n_classes = config.get("input_shape"), config.get("n_classes")
    if loaded.summary.format != "safetensors" or shape is None or n_classes is None:
        return []
    named = loaded.config.get("dataset")
    named = named.get("name") if isinstance(named, dict) else named
    candidates = [named] if isinstance(named, str) else []
    if session is not None:
        candidates += sorted(session.datasets)
    candidates += list(MODEL_DATASETS)
    found = []
    for name in dict.fromkeys(candidates):
        try:
            dataset = (session.dataset(name) if session is not None and name.startswith(DATASET_PREFIX) else None) or load_dataset(name)
        except (InterpError, KeyError, OSError, ValueError):
            continue
        if list(dataset.input_shape) == list(shape) and dataset.n_classes == int(n_classes):
            found.append(name)
    return found


def explorable_family(dataset: Dataset) -> str:
    """The page family that lists an uploaded classifier: Rules for tables and images, Time series for series."""
    return "timeseries" if dataset.modality == "series" else "rules"


def save_uploaded_model(session: Session, loaded: LoadedModel, filename: str, dataset_name: str) -> recipes.Recipe:
    """Store an uploaded project-architecture classifier with its metrics on ``dataset_name`` in the session,
    and register it as a session recipe (``upload-<file>-model``) the pages explore like any other."""
    if loaded.summary.format != "safetensors":
        raise DataError(f"'{filename}' is an exported program; the pages rebuild models from the project's architectures, so only a .safetensors model with its config can be explored.")
    from interp_core.sessions import activate, current

    previous = current()
    activate(session)  # the dataset may be one of the session's uploads
    try:
        dataset = load_dataset(dataset_name)
    finally:
        activate(previous)
    model_config = dict(loaded.config["model_config"])
    family = explorable_family(dataset)
    recipe = recipes.Recipe(
        f"upload-{safe_name(filename)}-model", family, dataset.name, loaded.config["arch"], model_config, {},
        f"Uploaded model {safe_name(filename)} ({loaded.summary.architecture}, {loaded.summary.n_parameters:,} parameters) on {dataset.name}.",
    )
    module = loaded.module.eval()
    start = time.perf_counter()
    metrics = recipes.evaluate(module, dataset, "cpu")
    files = {
        "model.safetensors": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "history.json": {"epoch": [], "train_loss": [], "val_loss": [], "val_metric": []},
    }
    if hasattr(module, "embed"):
        files[projection_file("test-embedding")] = {"pca": pca_2d(batched(module.embed, dataset.X_test, "cpu"))}
    manifest = model_manifest(
        recipe, dataset=dataset.summary(), model_config=model_config, train_config={}, seed=0, config_hash=recipe.config_hash(0),
        metrics={**metrics, "best_epoch": None, "epochs_run": 0}, device="cpu", device_name="uploaded (evaluated on the CPU)",
        train_seconds=time.perf_counter() - start, uploaded={"file": safe_name(filename), "format": loaded.summary.format},
    )
    session.store.save(recipe.name, files, manifest)
    session.add_recipe(recipe)
    return recipe


__all__ = ["ACCEPTS", "CANNOT", "MODEL_LABEL", "default_recipes", "matching_datasets", "read_upload", "save_uploaded_model", "train_defaults"]
