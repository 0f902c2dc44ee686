"""Session scope: a user's uploads, and the models trained on them, belong to one browser session.

Each session has a random id (made here, never read from a URL) and a store of its own under the
user store's root, ``ROOT/sessions/<id>/``, written through the same atomic, checksummed Store.
While a session's code runs, ``activate(session)`` puts it in a context variable: then
``recipes.list_recipes``/``get_recipe`` add the session's recipes to the built-in ones and
``data.load_dataset`` finds its uploaded datasets. Another session never has them in its context,
so it cannot list, load or reach them by name (a URL naming one falls back to the default).

User file names never become paths: a dataset is stored as ``data-upload-<safe name>``.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import shutil
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from interp_core.data.dataset import Dataset
from interp_core.data.registry import register_dataset_source
from interp_core.errors import StoreError
from interp_core.store import Artifact, Catalog, Store, check_name

SESSIONS_DIR = "sessions"
MAX_AGE_S = 24 * 3600
DATASET_PREFIX = "upload-"  # an uploaded dataset's name; no built-in dataset starts with it
RECIPE_PREFIXES = ("user-", "upload-")  # session recipes never shadow a built-in one
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_ARRAYS = "arrays.safetensors"
_CURRENT: ContextVar["Session | None"] = ContextVar("interp_session", default=None)


def new_session_id() -> str:
    return secrets.token_hex(16)


def sessions_root(store_root: str | Path) -> Path:
    return Path(store_root) / SESSIONS_DIR


@dataclass
class Session:
    """One browser session's own store, recipes and datasets (recipes and datasets by name)."""

    id: str
    store_root: Path
    recipes: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)  # recipe -> its counterpart (a Concepts classifier <-> CBM)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise StoreError("A session id must be 32 hexadecimal characters made by new_session_id().")
        self.store_root = Path(self.store_root)

    @property
    def store(self) -> Store:
        return Store(sessions_root(self.store_root) / self.id)

    def touch(self) -> None:
        """Mark the session as alive so start-up cleanup keeps its folder."""
        try:
            os.utime(self.store.root)
        except OSError:
            pass  # nothing saved yet

    def catalog(self, base: Catalog) -> "SessionCatalog":
        return SessionCatalog(self.store, base.store, base.shipped)

    # -- datasets ---------------------------------------------------------------------------
    def add_dataset(self, dataset: Dataset) -> Dataset:
        """Save an uploaded dataset in the session store (renamed ``upload-<name>``) and keep it."""
        if not dataset.name.startswith(DATASET_PREFIX):
            dataset.name = check_name(DATASET_PREFIX + dataset.name)
        arrays = {key: np.ascontiguousarray(value) for key, value in _dataset_arrays(dataset).items()}
        meta = {
            "kind": "dataset",
            "dataset": dataset.summary(),
            "class_names": list(dataset.class_names),
            "feature_names": dataset.feature_names,
            "concept_names": dataset.concept_names,
            "description": dataset.description,
        }
        self.store.save(_dataset_artifact(dataset.name), {_ARRAYS: arrays}, meta)
        self.datasets[dataset.name] = dataset
        return dataset

    def dataset(self, name: str) -> Dataset | None:
        if name in self.datasets:
            return self.datasets[name]
        if not name.startswith(DATASET_PREFIX):
            return None
        store = self.store
        artifact_name = _dataset_artifact(name)
        if not store.exists(artifact_name):
            return None
        artifact = store.open(artifact_name)
        dataset = _dataset_from(artifact, store.read_arrays(artifact, _ARRAYS))
        self.datasets[name] = dataset
        return dataset

    # -- recipes ----------------------------------------------------------------------------
    def add_recipe(self, recipe, pair: str | None = None):
        if not recipe.name.startswith(RECIPE_PREFIXES):
            raise StoreError(f"Session recipe '{recipe.name}' must start with one of {', '.join(RECIPE_PREFIXES)}.")
        self.recipes[recipe.name] = recipe
        if pair:
            self.pairs[recipe.name] = pair
        return recipe


class SessionCatalog(Catalog):
    """The session's store in front of the user store, in front of the shipped demo store.

    ``store`` stays the user store (where built-in recipes are trained); ``session`` is the session's.
    """

    def __init__(self, session: Store, store: Store, shipped: Store):
        super().__init__(store, shipped)
        self.session = session

    def find(self, name: str, verify: bool = True) -> Artifact | None:
        self.session.recover(name)
        if self.session.present(name):
            return self.session.open(name, verify=verify)
        return super().find(name, verify)

    def store_for(self, artifact: Artifact) -> Store:
        if Path(artifact.path).parent == self.session.root:
            return self.session
        return super().store_for(artifact)


# -- the context --------------------------------------------------------------------------------
def activate(session: Session | None) -> None:
    """Make ``session`` the current one for this thread's code (Streamlit runs each session's script in its own thread)."""
    _CURRENT.set(session)
    if session is not None:
        session.touch()


def current() -> Session | None:
    return _CURRENT.get()


def current_recipes() -> dict:
    session = _CURRENT.get()
    return dict(session.recipes) if session is not None else {}


def current_dataset(name: str) -> Dataset | None:
    """A copy of the current session's uploaded dataset ``name``, else None."""
    session = _CURRENT.get()
    if session is None or not isinstance(name, str) or not name.startswith(DATASET_PREFIX):
        return None
    dataset = session.dataset(name)
    return copy.deepcopy(dataset) if dataset is not None else None


register_dataset_source(current_dataset)


def cleanup(store_root: str | Path, max_age_s: float = MAX_AGE_S) -> int:
    """Remove session folders not used for ``max_age_s`` (default a day); returns how many."""
    root = sessions_root(store_root)
    if not root.is_dir():
        return 0
    removed = 0
    now = time.time()
    for path in root.iterdir():
        if not path.is_dir() or not _ID_RE.match(path.name):
            continue
        try:
            newest = max([path.stat().st_mtime] + [p.lstat().st_mtime for p in path.iterdir()])  # lstat: an artifact is a link
        except OSError:
            continue
        if now - newest > max_age_s:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


# -- helpers ------------------------------------------------------------------------------------
def _dataset_artifact(name: str) -> str:
    return check_name(f"data-{name}")


def _dataset_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    arrays = {"X_train": dataset.X_train, "y_train": dataset.y_train, "X_test": dataset.X_test, "y_test": dataset.y_test}
    for key in ("mask_train", "mask_test", "concepts_train", "concepts_test"):
        value = getattr(dataset, key)
        if value is not None:
            arrays[key] = np.asarray(value, dtype=np.float32)
    if dataset.extras.get("true_features") is not None:  # an SAE upload's known directions
        arrays["true_features"] = np.asarray(dataset.extras["true_features"], dtype=np.float32)
    return arrays


def _dataset_from(artifact: Artifact, arrays: dict[str, np.ndarray]) -> Dataset:
    manifest = artifact.manifest
    summary = manifest["dataset"]
    dataset = Dataset(
        name=summary["name"],
        modality=summary["modality"],
        X_train=arrays["X_train"],
        y_train=arrays["y_train"],
        X_test=arrays["X_test"],
        y_test=arrays["y_test"],
        class_names=manifest["class_names"],
        feature_names=manifest.get("feature_names"),
        description=manifest.get("description", ""),
        source=summary.get("source", ""),
        mask_train=arrays.get("mask_train"),
        mask_test=arrays.get("mask_test"),
        concepts_train=arrays.get("concepts_train"),
        concepts_test=arrays.get("concepts_test"),
        concept_names=manifest.get("concept_names"),
    )
    if "true_features" in arrays:
        dataset.extras["true_features"] = arrays["true_features"]
    return dataset
