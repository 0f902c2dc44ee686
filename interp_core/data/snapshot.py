"""A dataset's train/test split kept as one .npz (arrays, and its names as JSON; nothing pickled).

The bundled scikit-learn sets are read from snapshots under ``assets/datasets`` (written by
``python -m interp_core ship``): the same arrays their loaders give, without importing scikit-learn
(about 1.7 s of CPU, which a fresh server's first page paid to open digits on Home).
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np

from interp_core.data.dataset import Dataset

SNAPSHOT_ROOT = Path(__file__).resolve().parents[2] / "assets" / "datasets"
_ARRAYS = ("X_train", "y_train", "X_test", "y_test", "concepts_train", "concepts_test", "mask_train", "mask_test")


def snapshot_path(name: str, root: Path = SNAPSHOT_ROOT) -> Path:
    return root / f"{name}.npz"


def write_snapshot(dataset: Dataset, root: Path = SNAPSHOT_ROOT) -> Path:
    """Write ``dataset`` to ``root/<name>.npz``; its extras must be plain JSON."""
    arrays = {k: getattr(dataset, k) for k in _ARRAYS if getattr(dataset, k) is not None}
    meta = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(Dataset) if f.name not in _ARRAYS}
    root.mkdir(parents=True, exist_ok=True)
    path = snapshot_path(dataset.name, root)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def read_snapshot(name: str, root: Path = SNAPSHOT_ROOT) -> Dataset | None:
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
