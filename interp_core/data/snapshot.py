"""A dataset's train/test split kept as one .npz (arrays, and its names as JSON; nothing pickled).

The bundled scikit-learn sets are read from snapshots in the user's cache (``INTERP_DATASET_CACHE``,
else ``$XDG_CACHE_HOME/interp-explorer/datasets`` or ``~/.cache/interp-explorer/datasets``), written
the first time a set is loaded: the same arrays their loaders give, without importing scikit-learn
(about 1.7 s of CPU, which a fresh server's first page paid to open digits on Home). Nothing of
scikit-learn's data is kept in the repository; a missing, damaged or unwritable cache only means the
loader runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from interp_core.data.dataset import Dataset

def cache_root() -> Path:
    """Where snapshots live: INTERP_DATASET_CACHE, else the user's cache directory."""
    if os.environ.get("INTERP_DATASET_CACHE"):
        return Path(os.environ["INTERP_DATASET_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "interp-explorer" / "datasets"


_ARRAYS = ("X_train", "y_train", "X_test", "y_test", "concepts_train", "concepts_test", "mask_train", "mask_test")


def snapshot_path(name: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / f"{name}.npz"


def write_snapshot(dataset: Dataset, root: Path | None = None) -> Path:
    """Write ``dataset`` to ``root/<name>.npz`` (the cache by default) through a temporary file and a
    rename, so a reader never sees half a file; its extras must be plain JSON."""
    arrays = {k: getattr(dataset, k) for k in _ARRAYS if getattr(dataset, k) is not None}
    meta = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(Dataset) if f.name not in _ARRAYS}
    path = snapshot_path(dataset.name, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz.tmp", delete=False) as handle:
        np.savez_compressed(handle, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(handle.name, path)
    return path


def read_snapshot(name: str, root: Path | None = None) -> Dataset | None:
    """The dataset kept in ``root/<name>.npz``; None when there is none or it cannot be read (the
    caller then uses the dataset's loader)."""
    path = snapshot_path(name, root)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"][()]))
            arrays = {k: stored[k] for k in _ARRAYS if k in stored.files}
        return Dataset(**meta, **arrays)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None
