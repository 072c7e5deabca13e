"""Errors: one located line, Go's wording, never a value from the data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from testkit.template_support import SECRETS, E, S, error_of, render
from transformer.agent.template import TemplateError, parse

ERRORS: list[tuple[str, str, str]] = [
    ("unclosed action", "ab\n  {{ .x ", "template t:2:3: unclosed action"),
    ("unclosed comment", "{{/* x", "template t:1:1: unclosed comment"),
    (
        "comment before delimiter",
        "{{/* x */ 1 }}",
        "template t:1:1: comment ends before closing delimiter",
    ),
    ("unknown function", "\n{{ nope 1 }}", "template t:2:4: function 'nope' not defined"),
    ("unexpected end", "x{{ end }}", "template t:1:2: unexpected {{end}}"),
    ("unexpected else", "{{ else }}", "template t:1:1: unexpected {{else}}"),
    ("if without end", "{{ if true }}x", "template t:1:1: unexpected EOF: {{if}} has no {{end}}"),
    ("missing value for if", "{{ if }}x{{ end }}", "template t:1:1: missing value for if"),
    ("empty action", "{{ }}", "template t:1:1: missing value for command"),
    ("empty range", "{{ range }}{{ end }}", "template t:1:1: missing value for range"),
    ("empty pipe stage", '{{ "a" | | toUpper }}', "template t:1:10: missing value for command"),
    (
        "wrong arg count",
        '{{ toUpper "a" "b" }}',
        "template t:1:4: wrong number of args for toUpper: want 1 got 2",
    ),
    (
        "wrong arg count piped",
        '{{ "a" | toUpper "b" }}',
        "template t:1:10: wrong number of args for toUpper: want 1 got 2",
    ),
    (
        "too few for variadic",
        "{{ printf }}",
        "template t:1:4: wrong number of args for printf: want at least 1 got 0",
    ),
    ("missing key", S + "\n  {{ .nope }}" + E, "template t:2:6: map has no entry for key 'nope'"),
    (
        "missing nested key",
        '{{ with secret "secret/data/app" }}{{ .Data.dat.x }}{{ end }}',
        "template t:1:39: map has no entry for key 'dat'",
    ),
    (
        "field on string",
        S + "{{ .user.name }}" + E,
        "template t:1:60: can't evaluate field name in type string",
    ),
    (
        "field on list",
        S + "{{ .tags.x }}" + E,
        "template t:1:60: can't evaluate field x in type []interface {}",
    ),
    (
        "print nil value",
        S + "{{ .nothing }}" + E,
        "template t:1:57: cannot print nil (a missing or null value)",
    ),
    ("undefined variable", "{{ $x }}", "template t:1:4: undefined variable '$x'"),
    ("assign undefined", "{{ $x = 1 }}", "template t:1:4: undefined variable '$x'"),
    (
        "variable out of scope",
        "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
        "template t:1:39: undefined variable '$x'",
    ),
    ("break outside range", "{{ break }}", "template t:1:1: {{break}} outside {{range}}"),
    ("nil command", "{{ nil }}", "template t:1:4: nil is not a command"),
    (
        "secret write data not k=v",
        '{{ secret "pki/issue/x" "common_name=a" "ttl" }}',
        "template t:1:4: error calling secret: argument 3 is not key=value",
    ),
    (
        "argument to non-function",
        '{{ "a" | .x }}',
        "template t:1:10: can't give argument to non-function",
    ),
    ("unterminated string", '{{ "abc }}', "template t:1:4: unterminated quoted string"),
    ("bad escape", '{{ "\\q" }}', "template t:1:5: invalid syntax in quoted string"),
    ("bad number", "{{ 3x }}", "template t:1:4: bad number syntax: '3x'"),
    (
        "dash in field name",
        '{{ with secret "secret/data/app" }}\n{{ .Data.data.api-key }}{{ end }}',
        'template t:2:18: field names cannot contain "-": write index .Data.data "api-key"',
    ),
    (
        "dash in variable field",
        "{{ $s := 1 }}{{ $s.my-key }}",
        'template t:1:22: field names cannot contain "-": write index $s "my-key"',
    ),
    (
        "dash after parenthesized field",
        '{{ (secret "a").Data.x-y }}',
        'template t:1:23: field names cannot contain "-": write index (...).Data "x-y"',
    ),
    (
        "spaced minus is still a number",
        "{{ .x -1 }}",
        "template t:1:4: can't give argument to non-function",
    ),
    ("bad character", "{{ @ }}", "template t:1:4: unrecognized character in action: U+0040"),
    (
        "range over string",
        '{{ range "abc" }}{{ end }}',
        "template t:1:1: range can't iterate over string",
    ),
    (
        "lt bool",
        "{{ lt true false }}",
        "template t:1:4: error calling lt: invalid type for comparison",
    ),
    (
        "eq incompatible",
        '{{ eq 1 "1" }}',
        "template t:1:4: error calling eq: incompatible types for comparison",
    ),
    (
        "eq maps",
        S + "{{ eq .nested .nested }}" + E,
        "template t:1:60: error calling eq: non-comparable types "
        "map[string]interface {} and map[string]interface {}",
    ),
    (
        "toUpper of int",
        "{{ toUpper 1 }}",
        "template t:1:4: error calling toUpper: argument 1: expected string; got int",
    ),
    (
        "toJSONPretty of list",
        S + "{{ toJSONPretty .tags }}" + E,
        "template t:1:60: error calling toJSONPretty: expected a map; got []interface {}",
    ),
    (
        "bad base64",
        '{{ base64Decode "%%%" }}',
        "template t:1:4: error calling base64Decode: illegal base64 data",
    ),
    (
        "index out of range",
        S + "{{ index .tags 5 }}" + E,
        "template t:1:60: error calling index: index out of range (length 3)",
    ),
    ("index nil", "{{ index nil 1 }}", "template t:1:4: error calling index: index of untyped nil"),
    ("len of int", "{{ len 3 }}", "template t:1:4: error calling len: len of type int"),
    (
        "define inside if",
        '{{ if 1 }}{{ define "x" }}{{ end }}{{ end }}',
        "template t:1:11: {{define}} is allowed at the top level only",
    ),
    (
        "define twice",
        '{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}',
        "template t:1:27: multiple definition of template 'x'",
    ),
    ("undefined template", '{{ template "nope" }}', "template t:1:1: no template 'nope' defined"),
    (
        "template name not quoted",
        "{{ template x }}",
        "template t:1:1: {{template}} needs a template name in quotes",
    ),
    (
        "define without end",
        '{{ define "x" }}a',
        "template t:1:1: unexpected EOF: {{define 'x'}} has no {{end}}",
    ),
    (
        "break in define",
        '{{ define "x" }}{{ break }}{{ end }}',
        "template t:1:17: {{break}} outside {{range}}",
    ),
    (
        "define sees no outer variables",
        '{{ $x := 1 }}{{ define "d" }}{{ $x }}{{ end }}',
        "template t:1:33: undefined variable '$x'",
    ),
    (
        "recursive template is bounded",
        '{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}',
        "template t:1:17: template calls nest too deeply",
    ),
    (
        "else if in range",
        "{{ range 1 }}{{ else if true }}{{ end }}",
        "template t:1:22: {{else if}} inside {{range}}",
    ),
    ("end with args", "{{ if 1 }}{{ end 2 }}", "template t:1:18: unexpected '2' in end"),
    ("unclosed paren", '{{ (toUpper "a" }}', "template t:1:4: unclosed left paren"),
    (
        "operands need spaces",
        '{{ printf "a""b" }}',
        "template t:1:14: unexpected '\"b\"' in operand",
    ),
    ("field after constant", '{{ "a".x }}', "template t:1:7: unexpected . after term '\"a\"'"),
    (
        "secret path not string",
        "{{ secret 1 }}",
        "template t:1:4: error calling secret: argument 1: expected string; got int",
    ),
    (
        "range two vars over int",
        "{{ range $i, $v := 3 }}{{ end }}",
        "template t:1:1: can't use range over int with two variables",
    ),
    (
        "join of non-strings",
        S + '{{ join "," .nums }}' + E,
        "template t:1:60: error calling join: argument 2: "
        "expected a list of strings; got []interface {}",
    ),
]


@pytest.mark.parametrize(("template", "message"), [pytest.param(t, m, id=i) for i, t, m in ERRORS])
def test_errors(template: str, message: str) -> None:
    assert error_of(template) == message


def test_error_attributes() -> None:
    with pytest.raises(TemplateError) as caught:
        parse("\n\n   {{ nope }}", "config.env")
    assert (caught.value.name, caught.value.line, caught.value.col) == ("config.env", 3, 7)
    assert str(caught.value).startswith("template config.env:3:7: ")


# ---------------------------------------------------------------------------- safety

SECRET_VALUES = ["s3cr3t", "admin", "BBBB==", "<a&b>", "hello world", "aGVsbG8gd29ybGQ="]

# templates that fail while holding secret data: the message may name keys, types and
# functions, never a value
FAILING_ON_DATA = [
    S + "{{ .password.x }}" + E,
    S + "{{ lt .password 1 }}" + E,
    S + "{{ eq .password 1 }}" + E,
    S + "{{ eq .tags .password }}" + E,
    S + "{{ base64Decode .password }}" + E,
    S + "{{ index .tags .password }}" + E,
    S + "{{ index .password 99 }}" + E,
    S + "{{ index . .password }}" + E,
    S + "{{ range .password }}{{ end }}" + E,
    S + "{{ toJSONPretty .password }}" + E,
    S + "{{ toUpper .port }}" + E,
    S + "{{ len .port }}" + E,
    S + "{{ join .user .tags }}{{ join .user .nums }}" + E,
    S + "{{ .nothing }}" + E,
    S + '{{ secret "pki/issue/x" .password }}' + E,
    S + "{{ .pem.BBBB }}" + E,
    S + "{{ .html.x }}" + E,
    S + "{{ index .b64 .user }}" + E,
    S + "{{ printf .password }}{{ .nope }}" + E,
    S + "{{ $p := .password }}{{ $p.x }}" + E,
    S + "{{ range $k, $v := . }}{{ $v.x }}{{ end }}" + E,
]


@pytest.mark.parametrize("template", FAILING_ON_DATA)
def test_no_secret_value_in_error_text(template: str) -> None:
    message = error_of(template)
    assert message.startswith("template t:1:")
    for value in SECRET_VALUES:
        assert value not in message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (S + "{{ .__class__ }}" + E, "map has no entry for key '__class__'"),
        (S + "{{ .user.__class__ }}" + E, "can't evaluate field __class__ in type string"),
        (S + "{{ .tags.__len__ }}" + E, "can't evaluate field __len__ in type []interface {}"),
        (S + "{{ .port.real }}" + E, "can't evaluate field real in type int"),
        (S + "{{ .user.upper }}" + E, "can't evaluate field upper in type string"),
        (S + "{{ .nested.keys }}" + E, "map has no entry for key 'keys'"),
        (S + "{{ .nested.get }}" + E, "map has no entry for key 'get'"),
        ('{{ (secret "secret/data/app").__dict__ }}', "map has no entry for key '__dict__'"),
        ('{{ (secret "secret/data/app").data }}', "map has no entry for key 'data'"),
        ("{{ .__globals__ }}", "nil data; no entry for key '__globals__'"),
        ("{{ $.__builtins__ }}", "nil data; no entry for key '__builtins__'"),
        ('{{ env "HOME" | printf "%s" | len | printf "%v" | toUpper }}', None),
    ],
)
def test_fields_reach_only_data(template: str, message: str | None) -> None:
    if message is None:
        assert render(template) == "9"
    else:
        assert error_of(template).endswith(": " + message)


def test_index_of_dunder_key_is_a_missing_key() -> None:
    assert render(S + '{{ if index . "__class__" }}t{{ else }}f{{ end }}' + E) == "f"


def test_output_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformer.agent.template.limits as engine

    monkeypatch.setattr(engine, "MAX_OUTPUT_CHARS", 50)
    assert error_of("{{ range 100 }}x{{ end }}") == (
        "template t:1:16: output is larger than 50 characters"
    )


def test_range_iterations_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformer.agent.template.limits as engine

    monkeypatch.setattr(engine, "MAX_RANGE_ITERATIONS", 10)
    assert error_of("{{ range 5 }}{{ range 5 }}{{ end }}{{ end }}") == (
        "template t:1:14: more than 10 range iterations"
    )


def test_nesting_is_bounded() -> None:
    deep = "{{ " + "(" * 150 + "1" + ")" * 150 + " }}"
    assert error_of(deep).endswith(": template nests too deeply")
    ifs = "{{ if 1 }}" * 150 + "{{ end }}" * 150
    assert error_of(ifs).endswith(": template nests too deeply")


def test_execute_template_never_names_a_template_from_data() -> None:
    def vault(path: str, args: list[str]) -> Mapping[str, Any]:
        return {"data": {"pw": "hunter2-secret"}}

    template = parse('{{ with secret "x" }}{{ executeTemplate .Data.pw }}{{ end }}', "t")
    with pytest.raises(TemplateError) as caught:
        template.render(vault, {})
    assert str(caught.value) == (
        "template t:1:25: no template of that name defined (the name comes from data)"
    )
    # a name written in the template is the template's own text: it is named
    assert error_of('{{ executeTemplate "nope" }}') == "template t:1:4: no template 'nope' defined"


@pytest.mark.parametrize(
    ("template", "message", "when_it_runs"),
    [
        # Go checks argument counts, arguments given to values, nil commands and
        # assignments when the command runs: an untaken branch is no error
        ("{{len 1 2}}", "template t:1:3: wrong number of args for len: want 1 got 2", True),
        ("{{1 2}}", "template t:1:3: can't give argument to non-function", True),
        ("{{nil}}", "template t:1:3: nil is not a command", True),
        ("{{$x = 1}}", "template t:1:3: undefined variable '$x'", True),
        ("{{ 1 | 2 }}", "template t:1:8: non executable command in pipeline", False),
        # Go's lexer: a variable, field or word ends at a terminator
        ("{{$x := 1}}{{$x= 2}}", "template t:1:16: bad character U+003D '='", False),
        ('{{len"a"}}', "template t:1:6: bad character U+0022 '\"'", False),
        ("{{1+2}}", "template t:1:3: bad number syntax: '1+2'", False),
    ],
)
def test_errors_go_reports_when_they_run_or_lex(
    template: str, message: str, when_it_runs: bool
) -> None:
    assert error_of(template) == message
    untaken = "{{if false}}" + template + "{{end}}ok"
    if when_it_runs:
        assert render(untaken) == "ok"
    else:
        assert error_of(untaken).startswith("template t:1:")


def _string_values(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _string_values(item)]
    if isinstance(value, list):
        return [text for item in value for text in _string_values(item)]
    return []


def test_generated_templates_never_put_a_secret_value_in_an_error() -> None:
    # thousands of templates over the secret data (the differential suite's grammar):
    # an error message names things from the template text, never from the data
    from testkit.template_grammar import TemplateGrammar
    from testkit.template_support import FakeVault

    values = {
        text
        for text in _string_values(SECRETS["secret/data/app"]["data"])
        if len(text.strip()) >= 4
    }
    grammar = TemplateGrammar(97)
    messages: list[tuple[str, str]] = []
    for _ in range(3000):
        text = grammar.template()
        try:
            parse(text, "t").render(FakeVault(), {})
        except TemplateError as error:
            messages.append((text, str(error)))
    leaks = [
        (text, message)
        for text, message in messages
        if any(value in message and value not in text for value in values)
    ]
    assert leaks == []
    assert len(messages) > 1000  # the grammar does make errors on data
    assert "s3cr3t" in values
