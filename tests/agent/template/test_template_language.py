"""The language: if/with/range, variables, fields and pipelines, define/template/block
(doc.go), and the seed template."""

from __future__ import annotations

import pytest

from testkit.template_support import SEED, E, S, error_of, render

LANGUAGE_CASES: list[tuple[str, str, str]] = [
    # ---- if / else if / else
    ("if true", "{{ if true }}yes{{ end }}", "yes"),
    ("if false", "{{ if false }}yes{{ end }}", ""),
    ("if else", "{{ if false }}yes{{ else }}no{{ end }}", "no"),
    ("else if", "{{ if false }}a{{ else if true }}b{{ else }}c{{ end }}", "b"),
    (
        "else if chain to else",
        "{{ if eq 1 2 }}a{{ else if eq 1 3 }}b{{ else if eq 1 4 }}c{{ else }}d{{ end }}",
        "d",
    ),
    ("if empty string false", '{{ if "" }}t{{ else }}f{{ end }}', "f"),
    ("if zero false", "{{ if 0 }}t{{ else }}f{{ end }}", "f"),
    ("if zero float false", "{{ if 0.0 }}t{{ else }}f{{ end }}", "f"),
    ("if non-empty string", '{{ if "x" }}t{{ end }}', "t"),
    ("if empty list false", S + "{{ if .empty }}t{{ else }}f{{ end }}" + E, "f"),
    ("if list true", S + "{{ if .tags }}t{{ end }}" + E, "t"),
    ("if empty map false", '{{ if (split "," "") }}t{{ else }}f{{ end }}', "f"),
    ("if data false bool", S + "{{ if .off }}t{{ else }}f{{ end }}" + E, "f"),
    ("if null value false", S + "{{ if .nothing }}t{{ else }}f{{ end }}" + E, "f"),
    ("if with declaration", "{{ if $x := 3 }}{{ $x }}{{ end }}", "3"),
    ("if declaration visible in else", '{{ if $x := "" }}a{{ else }}[{{ $x }}]{{ end }}', "[]"),
    # ---- with / else with / else
    ("with sets dot", S + "{{ .user }}" + E, "admin"),
    ("with empty goes to else", '{{ with "" }}a{{ else }}b{{ end }}', "b"),
    ("else with", '{{ with "" }}a{{ else with "z" }}{{ . }}{{ end }}', "z"),
    ("else with to else", '{{ with "" }}a{{ else with 0 }}b{{ else }}c{{ end }}', "c"),
    ("with variable", '{{ with $v := "q" }}{{ $v }}{{ . }}{{ end }}', "qq"),
    (
        "with keeps outer dot in else",
        S + '{{ with "" }}{{ else }}{{ .user }}{{ end }}' + E,
        "admin",
    ),
    # ---- range (doc.go: maps iterate in sorted key order; else when empty)
    ("range list", S + "{{ range .tags }}[{{ . }}]{{ end }}" + E, "[a][b][c]"),
    (
        "range list index",
        S + "{{ range $i, $t := .tags }}{{ $i }}{{ $t }} {{ end }}" + E,
        "0a 1b 2c ",
    ),
    ("range one var is element", S + "{{ range $t := .tags }}{{ $t }}{{ end }}" + E, "abc"),
    ("range map sorted", S + "{{ range $k, $v := .nested }}{{ $k }};{{ end }}" + E, "a;m;z;"),
    (
        "range map one var is value",
        '{{ with secret "secret/kv1" }}{{ range .Data }}{{ . }}{{ end }}{{ end }}',
        "12",
    ),
    (
        "range map dot",
        '{{ with secret "secret/kv1" }}'
        "{{ range $k, $v := .Data }}{{ $k }}={{ . }},{{ end }}{{ end }}",
        "a=1,b=2,",
    ),
    ("range else on empty", S + "{{ range .no_items }}x{{ else }}none{{ end }}" + E, "none"),
    ("range else on nil", S + "{{ range .nothing }}x{{ else }}none{{ end }}" + E, "none"),
    ("range else on empty split", '{{ range split "," "" }}x{{ else }}none{{ end }}', "none"),
    ("range over int", "{{ range 3 }}{{ . }}{{ end }}", "012"),
    (
        "range break",
        S + '{{ range .tags }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}' + E,
        "a",
    ),
    (
        "range continue",
        S + '{{ range .tags }}{{ if eq . "b" }}{{ continue }}{{ end }}{{ . }}{{ end }}' + E,
        "ac",
    ),
    (
        "nested range",
        S + "{{ $n := .nums }}{{ range .tags }}{{ range $n }}{{ . }}{{ end }}|{{ end }}" + E,
        "312|312|312|",
    ),
    (
        "range variable scoped to iteration",
        S + "{{ range .tags }}{{ $x := . }}{{ $x }}{{ end }}" + E,
        "abc",
    ),
    # ---- variables (doc.go "Variables")
    ("declare and print", '{{ $x := "v" }}{{ $x }}', "v"),
    ("assign", "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
    (
        "assign inside range persists",
        "{{ $n := 0 }}{{ range 3 }}{{ $n = . }}{{ end }}{{ $n }}",
        "2",
    ),
    ("declaration prints nothing", "{{ $x := 5 }}", ""),
    ("dollar is root data (nil here)", "{{ if $ }}t{{ else }}f{{ end }}", "f"),
    ("dollar inside with", S + '{{ with "q" }}{{ if $ }}t{{ else }}f{{ end }}{{ end }}' + E, "f"),
    (
        "variable field chain",
        '{{ $s := secret "secret/data/app" }}{{ $s.Data.data.user }}',
        "admin",
    ),
    (
        "shadowing in with",
        '{{ $x := "o" }}{{ with true }}{{ $x := "i" }}{{ $x }}{{ end }}{{ $x }}',
        "io",
    ),
    # ---- fields and pipelines
    (
        "field chain",
        '{{ with secret "secret/data/app" }}{{ .Data.data.password }}{{ end }}',
        "s3cr3t",
    ),
    ("paren field chain", '{{ (secret "secret/data/app").Data.data.user }}', "admin"),
    (
        "secret metadata fields",
        '{{ with secret "database/creds/ro" }}'
        "{{ .LeaseID }} {{ .LeaseDuration }} {{ .Renewable }}{{ end }}",
        "database/creds/ro/abc 3600 true",
    ),
    (
        "secret request id and warnings",
        '{{ with secret "secret/data/app" }}{{ .RequestID }}{{ .Warnings }}{{ end }}',
        "req-1[]",
    ),
    (
        "kv v2 metadata",
        '{{ with secret "secret/data/app" }}{{ .Data.metadata.version }}{{ end }}',
        "3",
    ),
    ("pipeline last argument", '{{ "a" | printf "%s-%s" "b" }}', "b-a"),
    ("pipeline chain", '{{ "Hello" | toUpper | printf "<%s>" }}', "<HELLO>"),
    ("parenthesized argument", '{{ printf "%s/%s" (toUpper "a") ("b") }}', "A/b"),
    ("function as argument is called", '{{ printf "%d" (len "abc") }}', "3"),
    (
        "write with k=v args",
        '{{ with secret "pki/issue/x" "common_name=a.b" "ttl=1h" }}{{ .Data.args }}{{ end }}',
        "[common_name=a.b ttl=1h]",
    ),
    # ---- define / template / block (doc.go "Nested template definitions"), and
    # consul-template's executeTemplate
    (
        "define and template",
        '{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" "a" }}{{ template "x" 1 }}',
        "[a][1]",
    ),
    (
        "template without pipeline has nil dot",
        '{{ define "x" }}{{ if . }}t{{ else }}f{{ end }}{{ end }}{{ template "x" }}',
        "f",
    ),
    (
        "dollar is the template's dot",
        '{{ define "x" }}{{ $ }}{{ end }}{{ with "q" }}{{ template "x" . }}{{ end }}',
        "q",
    ),
    ("define after use", '{{ template "y" }}{{ define "y" }}yy{{ end }}', "yy"),
    (
        "block defines and runs",
        '{{ block "b" "z" }}<{{ . }}>{{ end }}|{{ template "b" "w" }}',
        "<z>|<w>",
    ),
    (
        "block in range",
        '{{ range split "," "a,b" }}{{ block "in" . }}({{ . }}){{ end }}{{ end }}',
        "(a)(b)",
    ),
    (
        "recursive template",
        '{{ define "r" }}{{ if . }}{{ len . }}{{ template "r" (slice . 1) }}{{ end }}{{ end }}'
        '{{ template "r" (split "," "a,b,c") }}',
        "321",
    ),
    ("define body trims", '{{ define "x" }}\nline\n{{- end -}}\n{{ template "x" }}', "\nline"),
    (
        "empty redefinition allowed",
        '{{ define "x" }}a{{ end }}{{ define "x" }} {{ end }}{{ template "x" }}',
        "a",
    ),
    ("executeTemplate", '{{ define "c" }}custom{{ end }}{{ executeTemplate "c" }}', "custom"),
    (
        "executeTemplate with data",
        '{{ define "c" }}<{{ . }}>{{ end }}{{ executeTemplate "c" 42 | len }}',
        "4",
    ),
    (
        "template with secret data",
        '{{ define "kv" }}{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}{{ end }}'
        '{{ template "kv" (secret "secret/kv1").Data }}',
        "a=1;b=2;",
    ),
    # ---- the seed's template
    (
        "seed template",
        SEED,
        "\nAPI_KEY=k1\nDB_URL=postgres://u:p@h/db?x=1\n",
    ),
]


@pytest.mark.parametrize(
    ("template", "expected"), [pytest.param(t, e, id=i) for i, t, e in LANGUAGE_CASES]
)
def test_language_cases(template: str, expected: str) -> None:
    assert render(template) == expected


def test_the_main_template_is_named_as_consul_template_names_it() -> None:
    # consul-template parses with template.New(""): {{define ""}} is the main template
    assert render('{{define ""}}main{{end}}') == "main"
    assert (
        render('{{define "x"}}[{{template "" 1}}]{{end}}{{if .}}in{{else}}{{template "x"}}{{end}}')
        == "[in]"
    )
    assert error_of('{{define ""}}a{{end}}b').endswith("multiple definition of template ''")
    assert error_of('{{template ""}}').endswith("template calls nest too deeply")
