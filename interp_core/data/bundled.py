"""Datasets that ship inside installed packages: scikit-learn's and aeon's bundled copies.

Nothing here downloads. aeon's UCR/UEA copies are .ts text files inside the aeon package: they are
read here (read_ts) without importing aeon, whose import (numba, scikit-learn) took 5-8 s of a
time-series page's first visit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from interp_core.data.dataset import Dataset, encode_labels, split_arrays


def _sklearn_tabular(loader, name: str, description: str) -> Dataset:
    bunch = loader()
    X_train, X_test, y_train, y_test = split_arrays(bunch.data.astype(np.float32), bunch.target.astype(np.int64))
    return Dataset(
        name=name,
        modality="tabular",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=[str(c) for c in bunch.target_names],
        feature_names=[str(f) for f in bunch.feature_names],
        description=description,
        source="scikit-learn (bundled)",
    )


def load_breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer as loader

    return _sklearn_tabular(loader, "breast_cancer", "Wisconsin diagnostic breast cancer: 30 cell-nucleus measurements, malignant vs benign.")


def load_wine() -> Dataset:
    from sklearn.datasets import load_wine as loader

    return _sklearn_tabular(loader, "wine", "Wine recognition: 13 chemical measurements, three cultivars.")


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as loader

    bunch = loader()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]  # (n, 1, 8, 8) in [0, 1]
    X_train, X_test, y_train, y_test = split_arrays(images, bunch.target.astype(np.int64))
    return Dataset(
        name="digits",
        modality="image",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=[str(c) for c in range(10)],
        feature_names=[f"pixel {r},{c}" for r in range(8) for c in range(8)],
        description="Handwritten digits, 8x8 grey images scaled to [0, 1], ten classes.",
        source="scikit-learn (bundled)",
    )


def aeon_file(problem: str, split: str) -> Path:
    """The .ts file of a problem aeon ships (e.g. "GunPoint", "train"), found without importing aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("aeon is not installed: it ships the UCR/UEA series (pip install aeon)")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / problem / f"{problem}_{split.upper()}.ts"


def read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """A .ts file (the UCR/UEA text format): each case as a (channels, steps) float array, and the
    class labels as strings. Channels are ':'-separated, the label last, values comma-separated."""
    series, labels, in_data = [], [], False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *channels, label = line.split(":")
        series.append(np.array([[float(v) if v != "?" else np.nan for v in channel.split(",")] for channel in channels]))
        labels.append(label.strip().lower())  # as aeon reads them ("standing", not "Standing")
    return series, np.array(labels)


def load_ts_problem(problem: str, split: str) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """X (n, channels, steps) when every case has the same length (else the list of cases) and the labels."""
    series, labels = read_ts(aeon_file(problem, split))
    return (np.stack(series) if len({s.shape for s in series}) == 1 else series), labels


def _aeon_series(problem: str, name: str, description: str, names: dict[str, str] | None = None) -> Dataset:
    """A UCR/UEA set of aeon's; ``names`` maps its class codes ("1", "2") to what they mean, so
    charts and tables say "gun draw", not "1"."""
    X_train, y_train_raw = load_ts_problem(problem, "train")
    X_test, y_test_raw = load_ts_problem(problem, "test")
    labels, class_names = encode_labels(np.concatenate([y_train_raw, y_test_raw]))
    class_names = [(names or {}).get(c, c) for c in class_names]
    n_train = len(y_train_raw)
    channels = X_train.shape[1]
    return Dataset(
        name=name,
        modality="series",
        X_train=np.asarray(X_train, dtype=np.float32),
        y_train=labels[:n_train],
        X_test=np.asarray(X_test, dtype=np.float32),
        y_test=labels[n_train:],
        class_names=class_names,
        feature_names=[f"channel {c}" for c in range(channels)],
        description=description,
        source="aeon (bundled UCR/UEA copy, original train/test split)",
    )


def load_gunpoint() -> Dataset:
    return _aeon_series("GunPoint", "gunpoint", "GunPoint: hand position over 150 steps, drawing a gun vs pointing a finger.", {"1": "gun draw", "2": "point"})


def load_basic_motions() -> Dataset:
    ds = _aeon_series("BasicMotions", "basic_motions", "BasicMotions: 6-channel accelerometer and gyroscope, four activities, 100 steps.")
    ds.feature_names = [f"{sensor} {axis}" for sensor in ("accel", "gyro") for axis in ("x", "y", "z")]
    return ds
