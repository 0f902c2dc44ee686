"""What each page can do with a user's own file or model: which uploads fit a family, the family's
default model(s) for them (the same recipes ``--data`` trains on the CLI), and turning an uploaded
model (safetensors + config) into an artifact the pages explore like a built-in recipe.

Streamlit-free; ``ui/uploads.py`` draws it. Everything is saved through a session's Store.
"""

from __future__ import annotations

import copy
import dataclasses

from interp_core import recipes
from interp_core.data import Dataset, load_dataset, load_user_file, safe_name
from interp_core.data.userfiles import npz_ndim, read_file_bytes
from interp_core.errors import DataError, InterpError, RecipeError
from interp_core.family import Uploads, find_family
from interp_core.modelfiles import LoadedModel
from interp_core.sessions import DATASET_PREFIX, Session

# Home (family None or "classifier") trains the plain classifiers; a family's page says the rest in its spec.
HOME = Uploads(
    accepts="a CSV table (you choose the target column) or an NPZ with X and y: a table (n, features), images (n, channels, h, w) or series (n, time) / (n, channels, time).",
    model_label="classifier (MLP for tables and images, FCN for series)",
)


def page_name(family: str | None) -> str:
    """The page a family's uploads go to, as the user reads it ("Home", "Time series", ...)."""
    spec = find_family(family)
    return spec.title if spec is not None else "Home"


def uploads_of(family: str | None) -> Uploads:
    """What ``family``'s page does with uploads (Home's plain classifiers for None or "classifier")."""
    spec = find_family(family)
    if spec is None:
        return HOME
    return spec.uploads or Uploads(cannot=f"The {spec.title} page does not take uploaded files.")


# Bundled datasets an uploaded classifier may have been trained on (checked by input shape and classes).
MODEL_DATASETS = ("breast_cancer", "wine", "digits", "gunpoint")


def read_user_file(source, family: str | None, target: str | None = None, filename: str | None = None) -> Dataset:
    """A user's CSV/NPZ (a path or bytes) as a Dataset for ``family``, read by one rule for the CLI and the app.

    The family's own reader first (SAE activations); else a 3-D ``X`` (n, a, b) is read as the
    family says (grey images, or series), a 2-D ``X`` is a table except where the family reads
    series, and a 4-D ``X`` is images.
    """
    uploads = uploads_of(family)
    if uploads.read is not None:
        data, name = read_file_bytes(source, filename)
        return uploads.read(data, name)
    modality = uploads.modality_3d
    name = filename or (str(source) if not isinstance(source, (bytes, bytearray)) else "")
    ndim = npz_ndim(source) if name.lower().endswith(".npz") else None
    if not (ndim == 3 or (ndim == 2 and modality == "series")):
        modality = None  # a 2-D X is a table (a series only where the family reads series), 4-D is images anyway
    return load_user_file(source, filename=filename, target=target, modality=modality)


def read_upload(data: bytes, filename: str, family: str | None, target: str | None = None) -> Dataset:
    """A user's uploaded CSV/NPZ bytes as a Dataset for ``family``'s page, named ``upload-<safe name>``."""
    dataset = read_user_file(data, family, target=target, filename=filename)
    dataset.name = DATASET_PREFIX + safe_name(filename)
    return dataset


def default_recipes(family: str | None, dataset: Dataset) -> list[tuple[recipes.Recipe, str | None]]:
    """The family's default model(s) for ``dataset`` as (recipe, counterpart) pairs; DataError if it does not fit."""
    uploads = uploads_of(family)
    if uploads.cannot:
        raise DataError(uploads.cannot)
    if uploads.defaults is not None:
        return uploads.defaults(dataset)
    recipe = recipes.default_recipe(dataset)
    if recipe.family == "timeseries":  # score every attribution method at train time, as the page's own recipes do
        recipe = dataclasses.replace(recipe, trainer="timeseries")
    return [(recipe, None)]


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
    """Names of datasets an uploaded classifier (.safetensors with its config, or a .pt2 program) fits (same input
    shape and number of classes): the one its config names, this session's uploads, then the bundled tables, digits and GunPoint."""
    from interp_core.foreign import input_spec, shape_fits

    config = loaded.config.get("model_config") or {}
    shape, n_classes = config.get("input_shape"), config.get("n_classes")
    if loaded.kind == "pt2":  # an exported program: the input it was exported with, its number of outputs
        shape, n_classes = input_spec(loaded).shape, loaded.summary.n_outputs
    elif loaded.summary.format != "safetensors":
        return []
    if shape is None or n_classes is None:
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
        if shape_fits(shape, dataset.input_shape) and dataset.n_classes == int(n_classes):
            found.append(name)
    return found


def explorable_family(dataset: Dataset) -> str:
    """The page family that lists an uploaded classifier: Rules for tables and images, Time series for series."""
    return "timeseries" if dataset.modality == "series" else "rules"


def save_foreign_model(session: Session, loaded: LoadedModel, files: dict[str, bytes], dataset: Dataset, layer: str | None = None) -> recipes.Recipe:
    """Store a user's .pt2 program, project .safetensors or Hugging Face classifier (``files``: what rebuilds it, from
    ``foreign.model_files``) with its metrics and embedding map on ``dataset`` in the session, and
    register it as a session recipe (``upload-<file>-model``) the pages explore like any other."""
    from interp_core.foreign import foreign_model, save_foreign
    from interp_core.sessions import activate, current

    previous = current()
    activate(session)  # the dataset may be one of the session's uploads
    try:
        trained = foreign_model(loaded, copy.deepcopy(dataset), layer)
        if trained.dataset.name.startswith(DATASET_PREFIX):
            session.add_dataset(trained.dataset)  # as aligned with the model's outputs
        save_foreign(session.store, trained, files)
    finally:
        activate(previous)
    return session.add_recipe(trained.extras["recipe"])


# -- a user's own model on the CLI (explain KIND --model PATH --data FILE) --------------------------------
def foreign_from_args(args, family: str | None, loaded: LoadedModel | None = None) -> recipes.TrainedModel:
    """``explain KIND --model PATH --data FILE [--target COL] [--layer NAME] [--config FILE]``: the user's model on the
    user's data (read by the family's rule, as ``--data`` alone), as a TrainedModel (``loaded``: the model already
    loaded from ``--model``). Refuses a RECIPE given too, and a causal LM or an encoder (no classes) in one sentence."""
    from interp_core.foreign import foreign_model
    from interp_core.modelfiles import load_model_path

    if getattr(args, "recipe", None):
        raise RecipeError("Give either a RECIPE or --model, not both; --model explains your own model on --data.")
    if not getattr(args, "data", None):
        raise RecipeError("--model needs --data FILE: the data to explain the model on (a CSV with --target, or an NPZ with X and y).")
    loaded = loaded or load_model_path(args.model, getattr(args, "config", None))
    from interp_core.causal_lm import is_text_model, refusal

    if is_text_model(loaded):
        raise refusal(page_name(family), args.model, loaded)
    if family == "rules" and loaded.kind == "huggingface":
        raise RecipeError(f"Rules fits a surrogate on a table's features, and '{args.model}' is a Hugging Face text model; explain it with attributions, sae, concepts or prototypes.")
    dataset = read_model_data(loaded, args.data, family, target=getattr(args, "target", None))
    return foreign_model(loaded, dataset, getattr(args, "layer", None), family=family)


def read_model_data(loaded: LoadedModel, source, family: str | None, target: str | None = None, filename: str | None = None) -> Dataset:
    """The user's data for the user's model: texts (.txt, .jsonl, a CSV with a column of words) through a
    Hugging Face model's tokenizer (``foreign.text_dataset``), anything else by the family's rule."""
    if holds_texts(loaded, source, filename):
        from interp_core.foreign import text_dataset

        return text_dataset(loaded, source, target=target, filename=filename)
    return read_user_file(source, family, target=target, filename=filename)


def holds_texts(loaded: LoadedModel, source, filename: str | None = None) -> bool:
    """Whether ``source`` is texts for ``loaded``: a Hugging Face model and a .txt, .jsonl or a CSV with a column of words."""
    from interp_core.data.texts import is_text_csv, is_text_file

    name = filename or (str(source) if not isinstance(source, (bytes, bytearray)) else "")
    return loaded.kind == "huggingface" and (is_text_file(name) or (name.lower().endswith(".csv") and is_text_csv(source, filename)))


def read_model_upload(loaded: LoadedModel, data: bytes, filename: str) -> Dataset:
    """Uploaded texts for a Hugging Face model as a Dataset named ``upload-<safe name>`` (kept in the session)."""
    from interp_core.foreign import text_dataset

    dataset = text_dataset(loaded, data, filename=filename)
    dataset.name = DATASET_PREFIX + safe_name(filename)
    return dataset


__all__ = ["HOME", "default_recipes", "page_name", "uploads_of", "matching_datasets", "read_upload", "train_defaults", "foreign_from_args", "holds_texts", "read_model_data", "read_model_upload", "save_foreign_model"]
