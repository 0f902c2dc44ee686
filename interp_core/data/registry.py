"""Named datasets: one loader per name, loaded once per process."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Callable

from interp_core.data import bundled
from interp_core.data.dataset import Dataset
from interp_core.data.snapshot import read_snapshot, write_snapshot
from interp_core.errors import DataError

# name -> (loader, one-line description); later issues register more with register_dataset.
_DATASETS: dict[str, tuple[Callable[[], Dataset], str]] = {
    "digits": (bundled.load_digits, "8x8 handwritten digits (scikit-learn)"),
    "breast_cancer": (bundled.load_breast_cancer, "30 tabular features, 2 classes (scikit-learn)"),
    "wine": (bundled.load_wine, "13 tabular features, 3 classes (scikit-learn)"),
    "gunpoint": (bundled.load_gunpoint, "univariate series, 150 steps, 2 classes (aeon)"),
    "basic_motions": (bundled.load_basic_motions, "6-channel series, 100 steps, 4 classes (aeon)"),
}


# Lookups tried before the named datasets: the browser session's uploads (interp_core.sessions adds
# its lookup when imported, so this module does not import it).
_SOURCES: list[Callable[[str], Dataset | None]] = []


def register_dataset_source(lookup: Callable[[str], Dataset | None]) -> None:
    """Add a lookup ``name -> Dataset or None`` that ``load_dataset`` tries first (once per function)."""
    if lookup not in _SOURCES:
        _SOURCES.append(lookup)


def register_dataset(name: str, loader: Callable[[], Dataset], description: str) -> None:
    _DATASETS[name] = (loader, description)
    _load_cached.cache_clear()


def list_datasets() -> dict[str, str]:
    return {name: desc for name, (_, desc) in _DATASETS.items()}


# The bundled scikit-learn sets are read from their snapshot (interp_core.data.snapshot) while their
# registered loader is still this one: the same arrays, without importing scikit-learn.
SNAPSHOTTED = {"digits": bundled.load_digits, "breast_cancer": bundled.load_breast_cancer, "wine": bundled.load_wine}


def write_snapshots() -> list[str]:
    """Rewrite the snapshots of SNAPSHOTTED from their loaders (``ship`` does; also ``ship --datasets``)."""
    return [str(write_snapshot(loader())) for loader in SNAPSHOTTED.values()]


@lru_cache(maxsize=32)
def _load_cached(name: str) -> Dataset:
    loader, _ = _DATASETS[name]
    if SNAPSHOTTED.get(name) is loader:
        snapshot = read_snapshot(name)
        if snapshot is not None:
            return snapshot
        dataset = loader()
        try:  # the next process reads it without scikit-learn
            write_snapshot(dataset)
        except OSError:
            pass
        return dataset
    return loader()


def load_dataset(name: str) -> Dataset:
    """Load a bundled dataset (or the current session's upload) by name; a copy, so callers may modify it freely."""
    for lookup in _SOURCES:
        uploaded = lookup(name)
        if uploaded is not None:
            return uploaded
    if name not in _DATASETS:
        raise DataError(f"Unknown dataset '{name}'; expected one of: {', '.join(sorted(_DATASETS))}.")
    return copy.deepcopy(_load_cached(name))
