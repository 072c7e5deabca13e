"""The public API: parse, Template (secret_paths, render, walk), TemplateError,
JSONNumber."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from testkit.template_support import SEED, FakeVault
from transformer.agent.template import JSONNumber, TemplateError, parse


def test_secret_paths_are_literal_reads_in_order() -> None:
    template = parse(
        '{{ with secret "a/b" }}{{ end }}{{ (secret "c").Data }}'
        '{{ secret "pki/issue/x" "common_name=y" }}{{ secret (printf "d/%s" "e") }}'
        '{{ with secret "a/b" }}{{ end }}{{ if 1 }}{{ range secret "f" }}{{ end }}{{ end }}',
        "t",
    )
    assert template.secret_paths() == ["a/b", "c", "f"]
    with_definitions = parse(
        '{{ define "d" }}{{ secret "in/define" }}{{ end }}{{ template "t" (secret "in/call") }}',
        "t",
    )
    assert with_definitions.secret_paths() == ["in/call", "in/define"]


def test_secret_reads_are_memoized_within_a_render() -> None:
    vault = FakeVault()
    template = parse(
        '{{ with secret "secret/kv1" }}{{ .Data.a }}{{ end }}'
        '{{ with secret "secret/kv1" }}{{ .Data.b }}{{ end }}'
        '{{ (secret "pki/issue/x" "cn=a").Data.path }}'
        '{{ (secret "pki/issue/x" "cn=a").Data.path }}',
        "t",
    )
    assert "".join(t for t, _ in template.render(vault, {})) == "12pki/issue/xpki/issue/x"
    assert vault.calls == [("secret/kv1", []), ("pki/issue/x", ["cn=a"])]


def test_errors_of_the_secret_callable_propagate_unchanged() -> None:
    class VaultDown(Exception):
        pass

    def failing(path: str, args: list[str]) -> Mapping[str, Any]:
        raise VaultDown(path)

    with pytest.raises(VaultDown):
        parse('{{ secret "x" }}', "t").render(failing, {})


def test_render_twice_gives_the_same_pieces() -> None:
    template = parse(SEED, "config.env")
    vault = FakeVault()
    assert template.render(vault, {}) == template.render(vault, {})


def test_template_error_is_an_exception_with_fields() -> None:
    error = TemplateError("n", 2, 5, "boom")
    assert str(error) == "template n:2:5: boom"
    assert isinstance(error, Exception)


# ---------------------------------------------------------------------------- json.Number


def json_number_vault(path: str, args: list[str]) -> Mapping[str, Any]:
    # decoded the way Go's Vault client does it (UseNumber): numbers keep their text
    import json

    body = '{"lease_duration": 60, "data": {"a": 1.0, "b": 1e6, "c": 0, "d": [1, 2.50]}}'
    decoded: Mapping[str, Any] = json.loads(body, parse_int=JSONNumber, parse_float=JSONNumber)
    return decoded


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .a }} {{ .b }} {{ .c }} {{ .d }}", "1.0 1e6 0 [1 2.50]"),
        ("{{ toJSON . }}", '{"a":1.0,"b":1e6,"c":0,"d":[1,2.50]}'),
        # json.Number is a string type: it compares with strings, "0" is not empty
        ('{{ eq .a "1.0" }} {{ if .c }}t{{ end }} {{ len .b }}', "true t 3"),
        ('{{ printf "%s|%v|%d" .a .b .c }}', "1.0|1e6|%!d(json.Number=0)"),
    ],
)
def test_json_numbers_behave_like_go_json_number(template: str, expected: str) -> None:
    text = '{{ with secret "x" }}{{ with .Data }}' + template + "{{ end }}{{ end }}"
    pieces = parse(text, "t").render(json_number_vault, {})
    assert "".join(piece for piece, _ in pieces) == expected


def test_json_number_lease_duration_is_an_int() -> None:
    pieces = parse('{{ (secret "x").LeaseDuration | printf "%d" }}', "t").render(
        json_number_vault, {}
    )
    assert pieces == [("60", True)]


def test_secret_response_that_is_not_an_object_is_a_template_error() -> None:
    with pytest.raises(TemplateError) as caught:
        parse('{{ secret "x" }}', "t").render(lambda path, args: None, {})  # type: ignore[arg-type, return-value]
    assert (
        str(caught.value)
        == "template t:1:4: error calling secret: the response is not a JSON object"
    )


def test_walk_finds_secret_reads_and_field_chains_with_locations() -> None:
    # what `vault-exec doctor` needs: the secret paths read and the keys used under them
    from transformer.agent.template import _ChainNode, _Const, _FieldNode, _FuncNode, _VarNode

    template = parse(
        '{{ define "d" }}{{ .Data.data.in_define }}{{ end }}'
        '{{ with secret "secret/data/app" }}\n  {{ .Data.data.password }}{{ end }}'
        '{{ $s := secret "kv/x" }}{{ $s.Data.user }}{{ (secret "kv/y").Data.k }}',
        "t",
    )
    nodes = list(template.walk())
    reads = [
        (node.name, node.pos)
        for node in nodes
        if isinstance(node, _FuncNode) and node.name == "secret"
    ]
    assert len(reads) == 3
    consts = [n.value for n in nodes if isinstance(n, _Const)]
    assert consts == ["secret/data/app", "kv/x", "kv/y"]
    chains = [
        (type(n).__name__, getattr(n, "name", None), n.names, template.location(n.pos))
        for n in nodes
        if isinstance(n, (_FieldNode, _VarNode, _ChainNode))
    ]
    assert chains == [
        ("_FieldNode", None, ["Data", "data", "password"], (2, 6)),
        ("_VarNode", "$s", ["Data", "user"], (2, 65)),
        ("_ChainNode", None, ["Data", "k"], (2, 83)),
        ("_FieldNode", None, ["Data", "data", "in_define"], (1, 20)),
    ]


def test_problems_finds_what_fails_when_it_runs_without_running() -> None:
    template = parse(
        '{{ if false }}{{ len 1 2 }}{{ end }}\n{{ define "d" }}{{ nil }}{{ end }}'
        '{{ .x 1 }}{{ "a" | printf "%s" | toUpper 2 }}{{ len toUpper }}{{ len "ok" }}',
        "t",
    )
    assert [str(problem) for problem in template.problems()] == [
        "template t:1:18: wrong number of args for len: want 1 got 2",
        "template t:2:38: can't give argument to non-function",
        "template t:2:68: wrong number of args for toUpper: want 1 got 2",
        "template t:2:87: wrong number of args for toUpper: want 1 got 0",
        "template t:2:20: nil is not a command",  # in the definition, walked after main
    ]
    assert parse('{{ printf "%d" 1 | len }}', "t").problems() == []
