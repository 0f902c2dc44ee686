"""Small predicates for values read from JSON (manifests, model configs), and how to name a value
in a sentence. JSON has no int/float/bool distinction a user can see, so: a bool is never a
number, an int is a number, NaN and infinities are not finite numbers.
"""

from __future__ import annotations

import math
import numbers


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite(value) -> bool:
    return is_number(value) and math.isfinite(float(value))


def is_list(value) -> bool:
    return isinstance(value, (list, tuple))


def describe(value, limit: int = 40) -> str:
    """What a field holds, for a sentence: "the text 'oops'", "the list [-1]", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if is_number(value):
        return f"the number {value}"
    shown = repr(value)
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    if isinstance(value, str):
        return f"the text {shown}"
    if is_list(value):
        return f"a list of {len(value)} ({shown})" if len(value) > 8 else f"the list {shown}"
    if isinstance(value, dict):
        return f"an object with {len(value)} key(s) ({shown})"
    return f"a {type(value).__name__}"
