"""Go's ``encoding/json`` ``Marshal``/``MarshalIndent`` of the values a template can
hold (``encoding/json/encode.go``: ``floatEncoder``'s ``'f'`` unless abs < 1e-6 or
>= 1e21, ``e-07`` cleaned to ``e-7``; strings escaped with HTML escaping on, ``\\b``/
``\\f`` since Go 1.22, U+2028/U+2029 escaped; map keys sorted)."""

from __future__ import annotations

from _collections_abc import Mapping  # not collections.abc: see __init__.py

from transformer.agent.jsonlite import JSONNumber
from transformer.agent.template.gofmt import (
    float_digits,
    fmt_e,
    fmt_f,
    format_float_v,
    go_type,
    special_float,
)


def format_float_json(value: float) -> str:
    """encoding/json's float64 encoding (ES6-like): 1e+21, 1e-7, 100000000000000000000."""
    digits, point = float_digits(value)
    sign = "-" if repr(value).startswith("-") else ""
    absolute = abs(value)
    if absolute != 0 and (absolute < 1e-6 or absolute >= 1e21):
        text = fmt_e(digits, point)
        # encode.go: "clean up e-09 to e-9"
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return sign + text
    return sign + fmt_f(digits, point)


def _json_escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        table[code] = f"\\u{code:04x}"
    table[ord("\n")] = "\\n"
    table[ord("\r")] = "\\r"
    table[ord("\t")] = "\\t"
    # Go 1.22+ writes \b and \f in their short forms
    table[ord("\b")] = "\\b"
    table[ord("\f")] = "\\f"
    table[ord('"')] = '\\"'
    table[ord("\\")] = "\\\\"
    # json.Marshal escapes HTML-significant characters and the JS line separators
    table[ord("<")] = "\\u003c"
    table[ord(">")] = "\\u003e"
    table[ord("&")] = "\\u0026"
    table[0x2028] = "\\u2028"
    table[0x2029] = "\\u2029"
    # invalid UTF-8 (bytes kept as lone surrogates by surrogateescape) becomes \ufffd
    for code in range(0xDC80, 0xDD00):
        table[code] = "\\ufffd"
    return table


_JSON_ESCAPES = _json_escape_table()


class JSONValueError(ValueError):
    """A value that encoding/json refuses (NaN, Inf, an unsupported type)."""


def _json_string(text: str) -> str:
    return '"' + text.translate(_JSON_ESCAPES) + '"'


def to_json(value: object, indent: str | None = None, depth: int = 0) -> str:
    """encoding/json ``Marshal`` (indent None) or ``MarshalIndent(v, "", indent)``."""
    if depth > 1000:
        raise JSONValueError("json: value nested too deeply")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if special_float(value) is not None:
            raise JSONValueError("json: unsupported value: " + format_float_v(value))
        return format_float_json(value)
    if isinstance(value, JSONNumber):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        keys = sorted(value)
        if indent is None:
            return (
                "{"
                + ",".join(
                    _json_string(str(k)) + ":" + to_json(value[k], None, depth + 1) for k in keys
                )
                + "}"
            )
        inner_pad = "\n" + indent * (depth + 1)
        return (
            "{"
            + ",".join(
                inner_pad + _json_string(str(k)) + ": " + to_json(value[k], indent, depth + 1)
                for k in keys
            )
            + "\n"
            + indent * depth
            + "}"
        )
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if indent is None:
            return "[" + ",".join(to_json(item, None, depth + 1) for item in value) + "]"
        inner_pad = "\n" + indent * (depth + 1)
        return (
            "["
            + ",".join(inner_pad + to_json(item, indent, depth + 1) for item in value)
            + "\n"
            + indent * depth
            + "]"
        )
    raise JSONValueError("json: unsupported type: " + go_type(value))
