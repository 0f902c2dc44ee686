"""JSON from a user or a file on disk, read within budgets: a size limit and a nesting-depth limit
checked before parsing, so '[' * 100000 is one sentence instead of a RecursionError.

Every problem raises ``error`` (DataError unless the caller names its own InterpError subclass)
with one sentence that starts with ``what`` (e.g. "The config", "'manifest.json'").
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from interp_core.errors import DataError, InterpError

MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 16 * 1024 * 1024

# A JSON string literal (escapes included), unrolled so that long strings match in linear time.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays/objects in ``raw`` (brackets inside strings do not count)."""
    outside = _STRING.sub(b'""', raw)
    steps = _OPEN[np.frombuffer(outside, np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def load_json_limited(
    raw: bytes | bytearray | str,
    what: str,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
    error: type[InterpError] = DataError,
) -> Any:
    """Parse ``raw`` as JSON, refusing (``error``, one sentence) oversize text, nesting deeper than
    ``max_depth`` and invalid JSON; checks run before the parser sees the text."""
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if len(data) > max_bytes:
        raise error(f"{what} is larger than the {max_bytes:,}-byte limit for JSON; expected a small JSON document.")
    depth = json_depth(data)
    if depth > max_depth:
        raise error(f"{what} nests arrays/objects {depth} levels deep, over the limit of {max_depth}; expected a shallow JSON document.")
    try:
        return json.loads(data)
    except RecursionError:  # a guard in case a parser path recurses below the depth limit
        raise error(f"{what} nests too deeply to be read; expected a shallow JSON document.") from None
    except UnicodeDecodeError:
        raise error(f"{what} is not UTF-8 text; expected a JSON document.") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected a JSON document.") from None


def load_json_file(
    path,
    what: str,
    max_bytes: int = MAX_JSON_BYTES,
    error: type[InterpError] = DataError,
) -> Any:
    """``load_json_limited`` of a file, read with a bounded read (one byte past ``max_bytes`` is enough
    to refuse it); a missing, folder or unreadable path is one sentence too."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise unreadable(exc, what, "a readable JSON file", error) from None
    return load_json_limited(raw, what, max_bytes=max_bytes, error=error)


def unreadable(exc: OSError, what: str, expected: str, error: type[InterpError] = DataError) -> InterpError:
    """The one-sentence error for a path that could not be opened or read (missing, a folder, no permission...)."""
    if isinstance(exc, FileNotFoundError):
        return error(f"{what} does not exist; expected {expected}.")
    if isinstance(exc, IsADirectoryError):
        return error(f"{what} is a folder; expected {expected}.")
    return error(f"{what} cannot be read ({exc.strerror or type(exc).__name__}); expected {expected}.")
