"""shocker.leanjson reads and prints what the json package does."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker import leanjson

scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_dumps_is_json_dumps(value: object) -> None:
    assert leanjson.dumps(value) == json.dumps(value)
    assert leanjson.dumps(value, indent=2) == json.dumps(value, indent=2)


@given(values)
def test_dumps_sorts_keys_and_takes_separators_as_json_dumps(value: object) -> None:
    assert leanjson.dumps(value, indent=1, sort_keys=True) == json.dumps(
        value, indent=1, sort_keys=True
    )
    compact = (",", ":")
    assert leanjson.dumps(value, separators=compact) == json.dumps(value, separators=compact)
    assert leanjson.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)


@given(values)
def test_loads_reads_what_json_wrote(value: object) -> None:
    assert leanjson.loads(json.dumps(value, indent=1)) == value
    assert leanjson.loads(json.dumps(value).encode()) == value


@pytest.mark.parametrize("text", ["", "  ", "{", '{"a": 1} x', "[1,]", "nul", '"\\x"'])
def test_malformed_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        leanjson.loads(text)


def test_what_json_cannot_hold_raises_type_error() -> None:
    with pytest.raises(TypeError, match="set"):
        leanjson.dumps({"a": {1}})
