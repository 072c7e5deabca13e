"""The agent's JSON on ``_json`` behaves like the ``json`` package."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.agent.jsonlite import dumps, loads

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_round_trips_like_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value)
    assert loads(json.dumps(value, indent=2)) == json.loads(json.dumps(value, indent=2))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789.eE+-truefalsnul \t\n\\abcé\x01', max_size=30))
def test_accepts_and_rejects_what_json_does(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as exc:
        expected = exc
    try:
        got: Any = loads(text)
    except ValueError as exc:
        got = exc
    if isinstance(expected, ValueError):
        assert isinstance(got, ValueError)
        if "is not allowed" not in str(got):
            assert str(got) == str(expected)
    else:
        assert got == expected


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_non_finite_constants_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="is not allowed"):
        loads(text)


def test_error_messages_locate_without_content() -> None:
    with pytest.raises(ValueError, match=r"^Expecting ':' delimiter: line 2 column 7 \(char 8\)$"):
        loads('{\n"key" "secret-value"}')


def test_dumps_is_ascii() -> None:
    assert dumps({"k": "é\n\x00"}) == '{"k": "\\u00e9\\n\\u0000"}'
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        dumps({1, 2})
