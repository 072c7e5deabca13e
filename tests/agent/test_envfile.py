"""Rendered template output -> environment entries, byte-exact.

Pieces are written by hand as the template engine hands them over:
``(text, False)`` for the template's own text, ``(text, True)`` for data.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.agent.envfile import OutputError, Piece, parse_output, valid_name
from transformer.agent.template import parse

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    "BBBB==\n"
    "KEY=notakey\n"
    "-----END PRIVATE KEY-----\n"
)

TRICKY_VALUES = [
    PEM,
    "a=b=c",
    '"quoted"',
    "'single'",
    "$(rm -rf /)",
    "`id`",
    "trailing newline\n",
    "  spaces around  ",
    "tab\tand\\backslash\\n",
    "ünïcødé ✓ 日本",
    "",
    "#not a comment",
    "\n\nleading newlines",
    'ends with quote"',
    "\r\n",
]


def seed_template(secret: dict[str, str]) -> list[Piece]:
    """What the seed's template renders to: a newline, then `key=value` per key."""
    pieces: list[Piece] = []
    for key in sorted(secret):
        pieces += [("\n", False), (key, True), ("=", False), (secret[key], True)]
    return pieces


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_seed_template_values_arrive_byte_exact(value: str) -> None:
    assert parse_output(seed_template({"A_KEY": value, "Z": "z"}), "config.env") == [
        ("A_KEY", value),
        ("Z", "z"),
    ]


def test_all_tricky_values_in_one_output() -> None:
    secret = {f"K{i}": v for i, v in enumerate(TRICKY_VALUES)}
    assert dict(parse_output(seed_template(secret), "t")) == secret


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        # template-written layout: indentation, blank lines, comments, CRLF, export
        ([("  # a comment\n\n   \n\tA=", False), ("x", True), ("  \r\n", False)], [("A", "x")]),
        ([("export B=", False), ("y", True)], [("B", "y")]),
        ([("exportC=", False), ("z", True)], [("exportC", "z")]),
        # spaces around the template's '=' are layout; data spaces are kept
        ([("D = ", False), (" d ", True)], [("D", " d ")]),
        # the key ends at the template's '=', even after a data '='
        ([("E", False), ("=", True), ("F=", False), ("v", True)], None),
        # without a template '=', the first '=' splits (printf-style output)
        ([("G=v=w", True)], [("G", "v=w")]),
        # double quotes written by the template: unquoted, template escapes applied
        ([('H="a\\tb\\n\\"c\\\\"', False)], [("H", 'a\tb\n"c\\')]),
        ([('I="', False), ('x\\ny"', True), ('"', False)], [("I", 'x\\ny"')]),
        ([("J='", False), ("$(x)", True), ("'", False)], [("J", "$(x)")]),
        ([("K='a\\nb'", False)], [("K", "a\\nb")]),
        # quotes from data are the value's own
        ([("L=", False), ('"x"', True)], [("L", '"x"')]),
        # later entries win only when the env is built; here both stay, in order
        ([("M=1\nM=2", False)], [("M", "1"), ("M", "2")]),
        ([("N=", False)], [("N", "")]),
        ([], []),
        ([("\n \n", False)], []),
    ],
)
def test_line_form(pieces: list[Piece], expected: list[tuple[str, str]] | None) -> None:
    if expected is None:
        # "E=F" holds a '=' from data: a key partly from data is never shown
        with pytest.raises(OutputError, match=r"a key from secret data \(not shown"):
            parse_output(pieces, "t")
    else:
        assert parse_output(pieces, "t") == expected


def test_json_form() -> None:
    pieces: list[Piece] = [
        ("  {", False),
        ('"A": "x\\ny", "B": "\\u00e9=", "C": "', False),
        ("$(id)", True),
        ('"}\n', False),
    ]
    assert parse_output(pieces, "t") == [("A", "x\ny"), ("B", "é="), ("C", "$(id)")]


def test_json_form_from_data() -> None:
    assert parse_output([('{"PEM": ' + __import__("json").dumps(PEM) + "}", True)], "t") == [
        ("PEM", PEM)
    ]


@pytest.mark.parametrize(
    ("pieces", "message"),
    [
        (
            [("1BAD=", False), ("v", True)],
            'template t: output line 1: the name "1BAD" is not a valid',
        ),
        (
            [("\n", False), ("my-key", False), ("=", False), ("v", True)],
            'template t: output line 2: the name "my-key" is not a valid environment variable name',
        ),
        # a value in a key's place (e.g. {{ .Data.data.pw }}={{ ... }}): never shown
        (
            [("\n", False), ("hunter2-x", True), ("=", False), ("v", True)],
            "template t: output line 2: a key from secret data (not shown: it may be a secret "
            "value) is not a valid environment variable name",
        ),
        (
            [("hunter2", True), ("=", False), ("x\0y", True)],
            "template t: output line 1: the value of a key from secret data (not shown) "
            "contains a NUL byte",
        ),
        (
            [('{"hunter2-x": "v"}', True)],
            "template t: entry 1: a key from secret data (not shown: it may be a secret value)",
        ),
        (
            [('{"A": "a", "hunter2": 5}', True)],
            "template t: entry 2: the value of a key from secret data (not shown) is not a JSON",
        ),
        ([("=", False), ("v", True)], "template t: output line 1: an empty name is not a valid"),
        (
            [("A=", False), ("x\0y", True)],
            "template t: output line 1: the value of A contains a NUL byte",
        ),
        ([("hunter2", True)], "template t: output line 1: expected KEY=VALUE, found no '='"),
        ([(PEM, True)], "template t: output line 1: a key from secret data (not shown"),
        ([("B" * 70 + "-=1", False)], "template t: output line 1: a name of 71 characters (not "),
        ([('{"A": 1}', False)], "template t: the value of A is not a JSON string"),
        ([('{"A-B": "x"}', False)], 'template t: the name "A-B" is not a valid'),
        ([('{"A": "\\u0000"}', False)], "template t: the value of A contains a NUL byte"),
        (
            [("{", False), ("secret-value", True)],
            "template t: output starts with '{' but is not valid JSON: ",
        ),
        ([("[1]", False)], "template t: output line 1: expected KEY=VALUE"),
    ],
)
def test_errors_name_the_key_never_the_value(pieces: list[Piece], message: str) -> None:
    with pytest.raises(OutputError) as info:
        parse_output(pieces, "t")
    text = str(info.value)
    assert text.startswith(message)
    for secret in ("hunter2", "secret-value", "MIIEvQ", "x\0y", "BBBB"):
        assert secret not in text


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
values = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=80)
secrets_strategy = st.dictionaries(names, values, max_size=8)

SEED_TEMPLATE = """\
{{- with secret "secret/data/spitikos/api" -}}
{{- range $key, $value := .Data.data }}
{{ $key }}={{ $value }}
{{- end }}
{{- end }}
"""


@settings(max_examples=300, deadline=None)
@given(secrets_strategy)
def test_any_value_survives_the_seed_template_pieces(secret: dict[str, str]) -> None:
    assert dict(parse_output(seed_template(secret), "t")) == secret


@settings(max_examples=300, deadline=None)
@given(secrets_strategy)
def test_any_value_survives_the_real_template_engine(secret: dict[str, str]) -> None:
    """The seed's template through the real engine, then this parser: byte-exact."""
    template = parse(SEED_TEMPLATE, "config.env")

    def fetch(path: str, args: list[str]) -> dict[str, object]:
        assert (path, args) == ("secret/data/spitikos/api", [])
        return {"data": {"data": secret}, "lease_id": "", "renewable": False}

    entries = parse_output(template.render(fetch, {}), "config.env")
    assert entries == sorted(secret.items())


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="aZ_09é-=. \n٣", max_size=6))
def test_name_check_is_the_posix_pattern(name: str) -> None:
    assert valid_name(name) == bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name))
