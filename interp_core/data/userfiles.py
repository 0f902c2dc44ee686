"""User files (CSV tables, NPZ arrays) loaded into a Dataset, with one clear sentence per problem.

NPZ files are read with allow_pickle=False, so an object array (pickled Python) is refused
without running anything.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from interp_core.data.dataset import Dataset, encode_labels, split_arrays
from interp_core.errors import DataError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # matches .streamlit/config.toml server.maxUploadSize
MAX_CLASSES = 100
MIN_EXAMPLES = 10


def max_upload_bytes() -> int:
    """Size limit for user files; INTERP_MAX_UPLOAD_MB overrides the 200 MB default."""
    value = os.environ.get("INTERP_MAX_UPLOAD_MB")
    return int(float(value) * 1024 * 1024) if value else DEFAULT_MAX_BYTES


def safe_name(filename: str) -> str:
    """A dataset name derived from a user's file name; never used as a path."""
    stem = Path(str(filename)).name.rsplit(".", 1)[0]
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")
    return (cleaned or "upload")[:40]


def load_user_file(
    source: str | Path | bytes | BinaryIO,
    filename: str | None = None,
    target: str | None = None,
    modality: str | None = None,
    max_bytes: int | None = None,
) -> Dataset:
    """Load a CSV (needs ``target``) or NPZ (``X``, ``y``, optional extras) into a Dataset.

    ``modality`` resolves 3-D arrays: "series" (n, channels, time, the default) or "image" (n, h, w).
    """
    raw, filename = _read_bytes(source, filename, max_bytes or max_upload_bytes())
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return _load_csv(raw, filename, target)
    if suffix == ".npz":
        return _load_npz(raw, filename, modality)
    raise DataError(f"'{Path(filename).name}' is not a CSV or NPZ file; expected a .csv table or a .npz array file.")


def _read_bytes(source, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if not path.is_file():
            raise DataError(f"File '{path}' does not exist; expected the path of a .csv or .npz file.")
        size = path.stat().st_size
        _check_size(size, filename, max_bytes)
        raw = path.read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    else:
        raw = source.read(max_bytes + 1)
        filename = filename or getattr(source, "name", None)
    filename = str(filename or "upload")
    _check_size(len(raw), filename, max_bytes)
    if len(raw) == 0:
        raise DataError(f"'{Path(filename).name}' is empty (0 bytes); expected a .csv table or a .npz array file.")
    return raw, filename


def _check_size(size: int, filename: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataError(
            f"'{Path(filename).name}' is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; "
            "use a smaller file or raise INTERP_MAX_UPLOAD_MB."
        )


def _load_csv(raw: bytes, filename: str, target: str | None) -> Dataset:
    name = Path(filename).name
    try:
        frame = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"'{name}' could not be read as a CSV table ({_first_line(exc)}); expected comma-separated values with a header row.") from None
    if frame.shape[1] < 2 or len(frame) == 0:
        raise DataError(f"'{name}' has {frame.shape[1]} column(s) and {len(frame)} row(s); expected a header row, feature columns and a target column.")
    if target is None:
        raise DataError(f"'{name}' needs a target column; choose one of: {', '.join(map(str, frame.columns[:20]))}.")
    if target not in frame.columns:
        raise DataError(f"'{name}' has no column '{target}'; its columns are: {', '.join(map(str, frame.columns[:20]))}.")
    labels = frame[target]
    features = frame.drop(columns=[target])
    non_numeric = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise DataError(f"'{name}' has non-numeric feature column(s) {', '.join(non_numeric[:5])}; expected numbers in every column except the target.")
    if labels.isna().any():
        raise DataError(f"'{name}' has {int(labels.isna().sum())} empty value(s) in target column '{target}'; expected a label in every row.")
    X = features.to_numpy(dtype=np.float64)
    _check_finite(X, name, "the feature columns")
    _check_float32_range(X, name, "the feature columns")
    y, class_names = _labels(labels.to_numpy(), name)
    return _finish(name, "tabular", X, y, class_names, feature_names=[str(c) for c in features.columns], source=f"user file {name}")


def _load_npz(raw: bytes, filename: str, modality: str | None) -> Dataset:
    name = Path(filename).name
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"'{name}' is not a valid NPZ archive ({_first_line(exc)}); expected a file written by numpy.savez.") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"'{name}' holds a single .npy array, not an NPZ archive; expected numpy.savez(file, X=..., y=...).")
    try:
        arrays = {key: archive[key] for key in archive.files}
    except ValueError:
        raise DataError(f"'{name}' contains Python objects (pickled data), which are never loaded; save plain numeric arrays with numpy.savez.") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"'{name}' is truncated or damaged ({_first_line(exc)}); expected a complete NPZ file.") from None
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise DataError(f"'{name}' has no array named {' or '.join(repr(m) for m in missing)}; expected 'X' (inputs) and 'y' (labels), found: {', '.join(arrays) or 'nothing'}.")
    X, labels = arrays["X"], arrays["y"]
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise DataError(f"'{name}': X has dtype {X.dtype}; expected numeric arrays.")
    if labels.ndim != 1:
        raise DataError(f"'{name}': y has shape {labels.shape}; expected one label per example, shape (n,).")
    if len(X) != len(labels):
        raise DataError(f"'{name}': X has {len(X)} examples but y has {len(labels)}; expected the same number.")
    X, modality = _shape_for_modality(X, name, modality)
    X = X.astype(np.float64)
    _check_finite(X, name, "X")
    _check_float32_range(X, name, "X")
    y, class_names = _labels(labels, name)
    mask = _optional_aligned(arrays, "mask", X.shape, name)
    concepts = _optional_concepts(arrays, len(X), name)
    extra_names = {}
    for key in ("feature_names", "class_names", "concept_names"):
        if key in arrays:
            extra_names[key] = [str(v) for v in np.asarray(arrays[key]).ravel().tolist()]
    if "class_names" in extra_names and len(extra_names["class_names"]) == len(class_names) and np.issubdtype(labels.dtype, np.integer):
        class_names = extra_names["class_names"]
    feature_names = extra_names.get("feature_names")
    if feature_names is not None and modality == "tabular" and len(feature_names) != X.shape[1]:
        raise DataError(f"'{name}': feature_names has {len(feature_names)} entries but X has {X.shape[1]} features; expected one name per feature.")
    concept_names = extra_names.get("concept_names")
    if concepts is not None:
        if concept_names is None:
            concept_names = [f"concept {i}" for i in range(concepts.shape[1])]
        elif len(concept_names) != concepts.shape[1]:
            raise DataError(f"'{name}': concept_names has {len(concept_names)} entries but concepts has {concepts.shape[1]} columns; expected one name per concept.")
    return _finish(name, modality, X, y, class_names, feature_names=feature_names, mask=mask, concepts=concepts, concept_names=concept_names, source=f"user file {name}")


def _shape_for_modality(X: np.ndarray, name: str, modality: str | None) -> tuple[np.ndarray, str]:
    if X.ndim == 2:
        if modality == "series":
            return X[:, None, :], "series"
        return X, "tabular" if modality in (None, "tabular") else modality
    if X.ndim == 3:
        if modality == "image":
            return X[:, None, :, :], "image"
        return X, "series"
    if X.ndim == 4:
        return X, "image"
    raise DataError(
        f"'{name}': X has {X.ndim} dimension(s) (shape {X.shape}); expected (n, features), (n, channels, time), "
        "(n, height, width) or (n, channels, height, width)."
    )


def _check_finite(X: np.ndarray, name: str, what: str) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        n_nan, n_inf = int(np.isnan(X).sum()), int(np.isinf(X).sum())
        raise DataError(f"'{name}' has {n_nan} NaN and {n_inf} infinite value(s) in {what}; expected finite numbers only (fill or drop those rows).")


def _check_float32_range(X: np.ndarray, name: str, what: str) -> None:
    """Models compute in float32: a value beyond its range would silently become infinite."""
    limit = float(np.finfo(np.float32).max)
    too_large = int((np.abs(X) > limit).sum())
    if too_large:
        raise DataError(f"'{name}' has {too_large} value(s) in {what} beyond +/-{limit:.2e}; expected numbers that fit 32-bit floats (rescale them).")


def _labels(labels: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise DataError(f"'{name}' has NaN or infinite labels; expected a class label for every example.")
    y, class_names = encode_labels(labels)
    if len(class_names) < 2:
        raise DataError(f"'{name}' has a single class ({class_names[0]!r}); expected at least two classes to classify.")
    if len(class_names) > MAX_CLASSES:
        raise DataError(f"'{name}' has {len(class_names)} distinct labels; expected a classification target with at most {MAX_CLASSES} classes.")
    if len(y) < MIN_EXAMPLES:
        raise DataError(f"'{name}' has {len(y)} examples; expected at least {MIN_EXAMPLES}.")
    return y, class_names


def _optional_aligned(arrays: dict, key: str, shape: tuple, name: str) -> np.ndarray | None:
    if key not in arrays:
        return None
    value = np.asarray(arrays[key])
    if value.shape != shape:
        if value.ndim == len(shape) - 1 and (len(value),) + (1,) + value.shape[1:] == shape:
            value = value[:, None]
        else:
            raise DataError(f"'{name}': {key} has shape {value.shape}; expected the same shape as X, {shape}.")
    return value.astype(np.float32)


def _optional_concepts(arrays: dict, n: int, name: str) -> np.ndarray | None:
    if "concepts" not in arrays:
        return None
    value = np.asarray(arrays["concepts"])
    if value.ndim != 2 or len(value) != n:
        raise DataError(f"'{name}': concepts has shape {value.shape}; expected ({n}, number of concepts).")
    value = value.astype(np.float64)
    _check_finite(value, name, "concepts")
    return value.astype(np.float32)


def _finish(name, modality, X, y, class_names, feature_names=None, mask=None, concepts=None, concept_names=None, source="") -> Dataset:
    X_train, X_test, y_train, y_test, m_train, m_test, c_train, c_test = split_arrays(X.astype(np.float32), y, mask, concepts)
    return Dataset(
        name=safe_name(name),
        modality=modality,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=class_names,
        feature_names=feature_names,
        description=f"Uploaded file {name}",
        source=source,
        mask_train=m_train,
        mask_test=m_test,
        concepts_train=c_train,
        concepts_test=c_test,
        concept_names=concept_names,
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
