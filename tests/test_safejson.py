"""JSON read within budgets (interp_core.safejson): depth and size are refused before parsing."""

from __future__ import annotations

import pytest

from interp_core.errors import DataError, InterpError
from interp_core.safejson import json_depth, load_json_limited
from tests.test_data import assert_one_sentence


def test_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[\\"[[", "b": [[1]]}') == 3
    assert load_json_limited('{"a": [1, {"b": "]]]]"}]}', "The config") == {"a": [1, {"b": "]]]]"}]}


@pytest.mark.parametrize("raw, phrase", [
    ("[" * 100000, r"100000 levels deep, over the limit of 64"),
    ('{"a": 1', r"not valid JSON"),
    (b"\xff\xfe\x00", r"not valid JSON|not UTF-8"),
])
def test_bad_json_is_one_sentence(raw, phrase):
    with pytest.raises(DataError) as info:
        load_json_limited(raw, "The config")
    assert_one_sentence(str(info.value), phrase)
    assert str(info.value).startswith("The config")


def test_size_limit_and_caller_error_class():
    class ConfigError(InterpError):
        pass

    with pytest.raises(ConfigError) as info:
        load_json_limited(b'{"a": "' + b"x" * 2000 + b'"}', "'cfg.json'", max_bytes=1000, error=ConfigError)
    assert_one_sentence(str(info.value), r"larger than the 1,000-byte limit")
    assert load_json_limited('[[[1]]]', "x", max_depth=3) == [[[1]]]
    with pytest.raises(DataError):
        load_json_limited('[[[[1]]]]', "x", max_depth=3)
