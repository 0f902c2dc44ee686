"""A safetensors file checked from its header before any tensor is read.

The format: 8 bytes (little-endian u64) giving the header's length N, N bytes of JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``, then
the tensors' bytes. A crafted file can declare tensors of gigabytes in a header of a few bytes,
offsets past its end, or a header of gigabytes; each is refused here in one sentence, before the
safetensors library maps a byte:

- the header is at most ``MAX_HEADER_BYTES`` and read as bounded JSON (``safejson``);
- every entry has a known dtype, a shape of whole numbers whose size matches its byte range, and
  a byte range inside the file that overlaps no other;
- the declared number of values is within ``max_parameters()`` (INTERP_MAX_PARAMS).

Then the tensors are read with ``safetensors.safe_open`` (no pickle anywhere in the format).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from interp_core.errors import ModelFileError
from interp_core.models.configs import max_parameters
from interp_core.safejson import load_json_limited, unreadable

MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_RANK = 8
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header declares it."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def read_header(path: str | Path, what: str | None = None) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """The checked header of a safetensors file: (entries by name, ``__metadata__``); ModelFileError otherwise."""
    path = Path(path)
    what = what or f"'{path.name}'"
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise ModelFileError(f"{what} is {size} bytes, too short for a safetensors file; expected an 8-byte header length, a JSON header and the tensors.")
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                raise ModelFileError(f"{what} declares a {length:,}-byte header, over the {MAX_HEADER_BYTES:,}-byte limit; expected a safetensors file written by safetensors.torch.save_file.")
            if 8 + length > size:
                raise ModelFileError(f"{what} declares a {length:,}-byte header but the file holds {size - 8:,} bytes after the length; the file is truncated or not safetensors.")
            raw = handle.read(length)
    except OSError as exc:
        raise unreadable(exc, what, "a readable safetensors file", ModelFileError) from None
    header = load_json_limited(raw, f"The header of {what}", max_bytes=MAX_HEADER_BYTES, error=ModelFileError)
    if not isinstance(header, dict):
        raise ModelFileError(f"The header of {what} is not a JSON object; expected {{name: {{dtype, shape, data_offsets}}}}.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ModelFileError(f"The __metadata__ of {what} is not an object of strings; expected string keys and values.")
    data_bytes = size - 8 - length
    entries = {name: _entry(name, value, what) for name, value in header.items()}
    declared = sum(entry.numel for entry in entries.values())
    limit = max_parameters()
    if declared > limit:
        raise ModelFileError(f"{what} declares {declared:,} values, over the limit of {limit:,} (set INTERP_MAX_PARAMS to allow more).")
    previous_end, previous = 0, None
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        shown = f"tensor '{name[:80]}' of {what}"
        if entry.end > data_bytes:
            raise ModelFileError(f"The header places {shown} at bytes {entry.begin:,} to {entry.end:,}, past the {data_bytes:,} bytes the file holds; the file is truncated or its header lies.")
        if entry.numel * DTYPE_BYTES[entry.dtype] != entry.end - entry.begin:
            raise ModelFileError(f"The header declares {shown} as {list(entry.shape)} of {entry.dtype} ({entry.numel * DTYPE_BYTES[entry.dtype]:,} bytes) in a range of {entry.end - entry.begin:,} bytes; the header lies.")
        if entry.begin < previous_end:
            raise ModelFileError(f"In {what}, tensor '{name}' overlaps '{previous}' (bytes {entry.begin:,} to {entry.end:,}); expected each tensor in its own byte range.")
        previous_end, previous = entry.end, name
    return entries, metadata


def _entry(name: str, value, what: str) -> TensorEntry:
    shown = f"tensor '{name[:80]}' of {what}"
    if not isinstance(value, dict):
        raise ModelFileError(f"The header entry of {shown} is not an object; expected {{dtype, shape, data_offsets}}.")
    dtype, shape, offsets = value.get("dtype"), value.get("shape"), value.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise ModelFileError(f"The header gives {shown} dtype {str(dtype)[:20]!r}; expected one of {', '.join(DTYPE_BYTES)}.")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(type(s) is int and s >= 0 for s in shape):
        raise ModelFileError(f"The header gives {shown} shape {str(shape)[:60]}; expected a list of at most {MAX_RANK} whole numbers.")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1]:
        raise ModelFileError(f"The header gives {shown} data_offsets {str(offsets)[:60]}; expected [begin, end] with 0 <= begin <= end.")
    return TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])


def read_tensors(path: str | Path, what: str | None = None, names: list[str] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors (``names``, or all) of a safetensors file whose header passed ``read_header``, and its metadata."""
    path = Path(path)
    what = what or f"'{path.name}'"
    entries, metadata = read_header(path, what)
    wanted = list(entries) if names is None else [n for n in names if n in entries]
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {name: handle.get_tensor(name) for name in wanted}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{what} is not a valid safetensors file ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__}).") from None
    return tensors, metadata
