"""User files (CSV tables, NPZ arrays) loaded into a Dataset, with one clear sentence per problem.

NPZ files are read with allow_pickle=False, so an object array (pickled Python) is refused
without running anything.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from dataclasses import dataclass
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


def read_file_bytes(source, filename: str | None = None, max_bytes: int | None = None) -> tuple[bytes, str]:
    """A user file's bytes and name, from a path, bytes or a file object, within the upload size limit."""
    return _read_bytes(source, filename, max_bytes or max_upload_bytes())


def _read_bytes(source, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if path.is_dir():
            raise DataError(f"'{path}' is a folder; expected the path of a .csv or .npz file.")
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


# -- NPZ archives, read within budgets -----------------------------------------------------------
# The upload limit bounds the compressed file; these bound what its members declare (each .npy
# header's shape and dtype), checked before anything is decompressed, so a 1 MB file of zeros that
# declares a (100000, 10000) array is refused instead of taking the machine.
DEFAULT_MAX_ARRAY_MB = 256  # a (100000, 100) float64 table is 80 MB
MAX_NPZ_MEMBERS = 64
MAX_ZIP_DIRECTORY = 1024 * 1024  # a directory of 64 members with short names takes a few KB
_CHUNK = 16 * 1024 * 1024
_EOCD = b"PK\x05\x06"  # a zip's end-of-central-directory record


def max_array_bytes() -> int:
    """Budget per NPZ member, counted as float64 (the loaders' working type); INTERP_MAX_ARRAY_MB overrides 256 MB.
    All members together may declare twice that."""
    value = os.environ.get("INTERP_MAX_ARRAY_MB")
    return int(float(value) * 1024 * 1024) if value else DEFAULT_MAX_ARRAY_MB * 1024 * 1024


@dataclass(frozen=True)
class NpyHeader:
    """What one NPZ member declares about itself, read without decompressing its data."""

    shape: tuple
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes of magic + header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def budget_bytes(self) -> int:
        """Bytes the loaders may hold for it: its own size or its float64 copy, whichever is larger."""
        return max(self.nbytes, math.prod(self.shape) * 8)


def npz_headers(source: bytes | str | Path, name: str, expected: str = "numpy.savez(file, X=..., y=...)") -> dict[str, NpyHeader]:
    """Each member's declared shape and dtype, keyed like numpy's NpzFile (``X`` for ``X.npy``), within budgets.

    Refuses (DataError, one sentence) a file that is not a zip (or is a single .npy), too many members,
    a member that is not a .npy array (raw pickle), an object dtype, a declared size over
    ``max_array_bytes()`` (all members together: twice that), and a zip entry whose size disagrees
    with its header. Only the headers are decompressed.
    """
    with _open_zip(source, name, expected) as archive:
        return {key: header for key, (header, _info) in _checked_members(archive, name).items()}


def read_npz(raw: bytes, name: str, expected: str = "numpy.savez(file, X=..., y=...)") -> dict[str, np.ndarray]:
    """Every member of an NPZ archive as an array, after ``npz_headers``' checks; data that ends before
    or runs past what its header declares is refused. Nothing is ever unpickled."""
    with _open_zip(raw, name, expected) as archive:
        members = _checked_members(archive, name)
        return {key: _read_member(archive, info, header, name, key) for key, (header, info) in members.items()}


def npz_ndim(source: bytes | str | Path, key: str = "X") -> int | None:
    """``key``'s number of dimensions from its header; None when the file cannot say (the loader then says why)."""
    try:
        header = npz_headers(source, "file").get(key)
    except (DataError, OSError):
        return None
    return None if header is None else len(header.shape)


def _open_zip(source, name: str, expected: str) -> zipfile.ZipFile:
    try:
        with io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb") as handle:
            if handle.read(6) == b"\x93NUMPY":
                raise DataError(f"'{name}' holds a single .npy array, not an NPZ archive; expected {expected}.")
            handle.seek(max(0, handle.seek(0, io.SEEK_END) - 22 - 65535))
            tail = handle.read()
        at = tail.rfind(_EOCD)
        entries = int.from_bytes(tail[at + 10 : at + 12], "little") if at >= 0 else 0
        directory = int.from_bytes(tail[at + 12 : at + 16], "little") if at >= 0 else 0
        # Checked before zipfile reads the whole directory into memory (it reads all of it, whatever the count says).
        if entries > MAX_NPZ_MEMBERS:
            raise DataError(f"'{name}' has {entries} members, over the limit of {MAX_NPZ_MEMBERS}; expected {expected}.")
        if directory > MAX_ZIP_DIRECTORY:
            raise DataError(f"'{name}' has a {directory:,}-byte zip directory, over the limit of {MAX_ZIP_DIRECTORY:,} bytes; expected {expected}.")
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise DataError(f"'{name}' is not a valid NPZ archive ({_first_line(exc)}); expected a file written by {expected}.") from None


def _checked_members(archive: zipfile.ZipFile, name: str) -> dict[str, tuple[NpyHeader, zipfile.ZipInfo]]:
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_NPZ_MEMBERS:
        raise DataError(f"'{name}' has {len(infos)} members, over the limit of {MAX_NPZ_MEMBERS}; expected a few arrays written by numpy.savez.")
    limit, members, total = max_array_bytes(), {}, 0
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        header = _member_header(archive, info, name, key)
        described = f"'{name}': {key} declares shape {header.shape} of {header.dtype}"
        if header.budget_bytes > limit:
            raise DataError(f"{described} ({header.budget_bytes / 2**20:,.0f} MB as float64), over the {limit / 2**20:,.0f} MB limit per array; use a smaller array or raise INTERP_MAX_ARRAY_MB.")
        if info.file_size != header.offset + header.nbytes:
            raise DataError(f"{described} ({header.nbytes:,} bytes) but its zip entry holds {max(0, info.file_size - header.offset):,}; the file is damaged or forged, expected an NPZ written by numpy.savez.")
        total += header.budget_bytes
        if total > 2 * limit:
            raise DataError(f"'{name}': its arrays declare over {total / 2**20:,.0f} MB together as float64, over the {2 * limit / 2**20:,.0f} MB limit; use smaller arrays or raise INTERP_MAX_ARRAY_MB.")
        members[key] = (header, info)
    return members


def _member_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, key: str) -> NpyHeader:
    not_array = f"'{name}': {key} is not a .npy array (it may be pickled Python data, which is never loaded); save plain numeric arrays with numpy.savez."
    try:
        with archive.open(info) as member:
            if member.read(6) != b"\x93NUMPY":
                raise DataError(not_array)
            member.seek(0)
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise DataError(f"'{name}': {key} uses .npy format version {version[0]}.{version[1]}; expected version 1.0 or 2.0, as numpy.savez writes for numeric arrays.")
            offset = member.tell()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy's header parser raises many types on hostile bytes (ValueError, SyntaxError, TokenError, RecursionError...)
        raise DataError(f"'{name}': {key} has a damaged .npy header ({_first_line(exc)}); expected an NPZ written by numpy.savez.") from None
    if dtype.hasobject:
        raise DataError(f"'{name}': {key} contains Python objects (pickled data), which are never loaded; save plain numeric arrays with numpy.savez.")
    if any(dim < 0 for dim in shape):
        raise DataError(f"'{name}': {key} declares a negative dimension, shape {shape}; expected an NPZ written by numpy.savez.")
    return NpyHeader(tuple(shape), dtype, bool(fortran_order), offset)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: NpyHeader, name: str, key: str) -> np.ndarray:
    """The member's data into one preallocated buffer, in chunks (no second full-size copy)."""
    data = np.empty(header.nbytes, np.uint8)
    filled = 0
    try:
        with archive.open(info) as member:
            member.seek(header.offset)
            while filled < header.nbytes:
                chunk = member.read(min(_CHUNK, header.nbytes - filled))
                if not chunk:
                    break
                data[filled : filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
                filled += len(chunk)
            extra = member.read(1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise DataError(f"'{name}' is truncated or damaged ({_first_line(exc)}); expected a complete NPZ file.") from None
    if filled < header.nbytes or extra:
        found = f"{filled:,} bytes" if filled < header.nbytes else "more"
        raise DataError(f"'{name}': {key} declares shape {header.shape} of {header.dtype} ({header.nbytes:,} bytes) but holds {found}; the file is truncated or damaged, expected a complete NPZ.")
    if header.dtype.itemsize == 0 or header.nbytes == 0:
        return np.zeros(header.shape, header.dtype)
    values = data.view(header.dtype)
    if header.fortran_order:
        return values.reshape(header.shape[::-1]).transpose()
    return values.reshape(header.shape)


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
    X = real_values(features.to_numpy(dtype=np.float64), name, "the feature columns")
    y, class_names = _labels(labels.to_numpy(), name, f"target column '{target}'")
    return _finish(name, "tabular", X, y, class_names, feature_names=[str(c) for c in features.columns], source=f"user file {name}")


def _load_npz(raw: bytes, filename: str, modality: str | None) -> Dataset:
    name = Path(filename).name
    arrays = read_npz(raw, name)
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise DataError(f"'{name}' has no array named {' or '.join(repr(m) for m in missing)}; expected 'X' (inputs) and 'y' (labels), found: {', '.join(arrays) or 'nothing'}.")
    X, labels = arrays["X"], arrays["y"]
    _check_real(X, name, "X")
    if X.ndim not in (2, 3, 4):
        raise DataError(
            f"'{name}': X has {X.ndim} dimension(s) (shape {X.shape}); expected (n, features), (n, channels, time), "
            "(n, height, width) or (n, channels, height, width)."
        )
    if len(X) == 0:
        raise DataError(f"'{name}': X has 0 examples (shape {X.shape}); expected at least {MIN_EXAMPLES}.")
    if 0 in X.shape:
        raise DataError(f"'{name}': X has shape {X.shape}, so each example is empty; expected at least one feature, time step or pixel per example.")
    if labels.ndim != 1:
        raise DataError(f"'{name}': y has shape {labels.shape}; expected one label per example, shape (n,).")
    if labels.dtype.kind not in "biufUS":
        raise DataError(f"'{name}': y has dtype {labels.dtype}; expected class labels (integers or names).")
    if len(X) != len(labels):
        raise DataError(f"'{name}': X has {len(X)} examples but y has {len(labels)}; expected the same number.")
    X, modality = _shape_for_modality(X, name, modality)
    X = real_values(X, name, "X")
    y, class_names = _labels(labels, name, "y")
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
    """A 2-D, 3-D or 4-D X (checked by the caller) shaped for ``modality``."""
    if X.ndim == 2:
        if modality == "series":
            return X[:, None, :], "series"
        return X, "tabular" if modality in (None, "tabular") else modality
    if X.ndim == 3:
        if modality == "image":
            return X[:, None, :, :], "image"
        return X, "series"
    return X, "image"


def _check_real(value: np.ndarray, name: str, key: str) -> None:
    if value.dtype.kind not in "biuf":  # text, complex numbers, raw bytes and dates are refused
        raise DataError(f"'{name}': {key} has dtype {value.dtype}; expected real numbers (integers, floats or booleans).")


def real_values(value: np.ndarray, name: str, key: str) -> np.ndarray:
    """``value`` as float64 (no copy when it already is) after its checks: real numbers, finite, within float32's range."""
    _check_real(value, name, key)
    value = value.astype(np.float64, copy=False)
    _check_finite(value, name, key)
    _check_float32_range(value, name, key)
    return value


def _check_finite(X: np.ndarray, name: str, what: str) -> None:
    if not np.isfinite(X).all():
        n_nan, n_inf = int(np.isnan(X).sum()), int(np.isinf(X).sum())
        raise DataError(f"'{name}' has {n_nan + n_inf} NaN or infinite value(s) in {what} ({n_nan} NaN, {n_inf} infinite); expected finite numbers only (fill or drop those rows).")


def _check_float32_range(X: np.ndarray, name: str, what: str) -> None:
    """Models compute in float32: a value beyond its range would silently become infinite."""
    limit = float(np.finfo(np.float32).max)
    if X.size == 0 or (X.max() <= limit and X.min() >= -limit):  # no |X| copy for the usual case
        return
    too_large = int((np.abs(X) > limit).sum())
    if too_large:
        raise DataError(f"'{name}' has {too_large} value(s) in {what} beyond +/-{limit:.2e}; expected numbers that fit 32-bit floats (rescale them).")


REGRESSION_VALUES = 10  # more distinct non-integer float labels than this (or more than half the rows) is a regression target


def _labels(labels: np.ndarray, name: str, what: str) -> tuple[np.ndarray, list[str]]:
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)):
            raise DataError(f"'{name}' has NaN or infinite labels; expected a class label for every example.")
        values = np.unique(labels)
        if not np.all(values == np.round(values)) and (len(values) > REGRESSION_VALUES or 2 * len(values) > len(labels)):
            raise DataError(f"'{name}': {what} looks like a regression target ({len(values)} distinct float values); this explorer classifies: give class labels (integers or names).")
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
    return real_values(value, name, key).astype(np.float32)


def _optional_concepts(arrays: dict, n: int, name: str) -> np.ndarray | None:
    if "concepts" not in arrays:
        return None
    value = np.asarray(arrays["concepts"])
    if value.ndim != 2 or len(value) != n or value.shape[1] == 0:
        raise DataError(f"'{name}': concepts has shape {value.shape}; expected ({n}, number of concepts), at least one concept.")
    return real_values(value, name, "concepts").astype(np.float32)


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
