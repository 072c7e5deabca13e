"""The template engine against Go text/template semantics and consul-template's functions.

Expected outputs are written by hand from the documentation: Go's text/template
package documentation (src/text/template/doc.go: actions, trim markers, pipelines,
variables, functions), fmt's (verbs, %v of floats/maps/slices), encoding/json's
(Marshal/MarshalIndent) and consul-template's docs/templating-language.md and
template/funcs.go (argument orders: contains needle haystack, replaceAll old new s,
split sep s, join sep list). Where the engine deliberately differs from Go (printing
nil is an error instead of "<no value>"; see the module docstring) the test says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from transformer.agent.template import JSONNumber, TemplateError, parse

SEED = (
    '{{- with secret "secret/data/spitikos/api" -}}\n'
    "{{- range $key, $value := .Data.data }}\n"
    "{{ $key }}={{ $value }}\n"
    "{{- end }}\n"
    "{{- end }}\n"
)

PEM = "-----BEGIN KEY-----\nMIIBAAAA\nBBBB==\n-----END KEY-----\n"

SECRETS: dict[str, dict[str, Any]] = {
    "secret/data/app": {
        "request_id": "req-1",
        "lease_id": "",
        "lease_duration": 0,
        "renewable": False,
        "data": {
            "data": {
                "password": "s3cr3t",
                "user": "admin",
                "pem": PEM,
                "empty": "",
                "no_items": [],
                "port": 5432,
                "ratio": 1.5,
                "big": 1e21,
                "million": 1000000.0,
                "on": True,
                "off": False,
                "nothing": None,
                "tags": ["a", "b", "c"],
                "nums": [3, 1, 2],
                "nested": {"z": "last", "a": "first", "m": {"k": "v"}},
                "html": "<a&b>",
                "b64": "aGVsbG8gd29ybGQ=",
                "spaced": "  padded \n",
                "csv": "x,y,z",
                "unicode": "héllo wörld",
            },
            "metadata": {"version": 3},
        },
        "warnings": None,
    },
    "secret/data/spitikos/api": {
        "data": {"data": {"DB_URL": "postgres://u:p@h/db?x=1", "API_KEY": "k1"}, "metadata": {}}
    },
    "secret/kv1": {"data": {"b": "2", "a": "1"}, "lease_duration": 2764800},
    "database/creds/ro": {
        "lease_id": "database/creds/ro/abc",
        "lease_duration": 3600,
        "renewable": True,
        "data": {"username": "v-ro", "password": "pw-ro"},
    },
}


class FakeVault:
    """Stand-in for the agent's Vault reader: a dict of canned responses (the engine only
    sees the callable; the real client is tested against OpenBao elsewhere)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, path: str, args: list[str]) -> Mapping[str, Any]:
        self.calls.append((path, list(args)))
        if args:
            return {"data": {"path": path, "args": list(args)}, "lease_id": "w/1"}
        return SECRETS[path]


ENV = {"HOME": "/home/app", "EMPTY": "", "STAGE": "prod"}


def render(text: str, env: Mapping[str, str] = ENV) -> str:
    pieces = parse(text, "t").render(FakeVault(), env)
    return "".join(piece for piece, _ in pieces)


def pieces_of(text: str) -> list[tuple[str, bool]]:
    return parse(text, "t").render(FakeVault(), ENV)


def error_of(text: str) -> str:
    with pytest.raises(TemplateError) as caught:
        render(text)
    return str(caught.value)


S = '{{ with secret "secret/data/app" }}{{ with .Data.data }}'  # dot = the KV v2 data
E = "{{ end }}{{ end }}"

CASES: list[tuple[str, str, str]] = [
    # ---- text and actions (doc.go "Text and spaces", "Actions")
    ("plain text", "hello\nworld", "hello\nworld"),
    ("empty template", "", ""),
    ("single brace is text", "a { b } c }}", "a { b } c }}"),
    ("string constant", '{{ "x" }}', "x"),
    ("raw string", "{{ `a\\nb` }}", "a\\nb"),
    ("raw string spans lines", "{{ `a\nb` }}", "a\nb"),
    ("escapes in string", r'{{ "a\tb\n\"q\"\\" }}', 'a\tb\n"q"\\'),
    ("hex unicode escapes", r'{{ "\x41\u00e9\U0001F600" }}', "Aé\U0001f600"),
    ("octal escape", r'{{ "\101" }}', "A"),
    ("utf-8 bytes via \\x", r'{{ "\xc3\xa9" }}', "é"),
    ("int constant", "{{ 42 }}", "42"),
    ("negative int", "{{ -7 }}", "-7"),
    ("hex int", "{{ 0x1F }}", "31"),
    ("octal int leading zero", "{{ 010 }}", "8"),
    ("binary int", "{{ 0b101 }}", "5"),
    ("underscore int", "{{ 1_000 }}", "1000"),
    ("float constant", "{{ 1.5 }}", "1.5"),
    # an integer-valued float constant is a float64 and %v prints it without a point
    ("float constant integral", "{{ 2.0 }}", "2"),
    ("exponent float", "{{ 1e3 }}", "1000"),
    # fmt %v of float64 uses %e from exponent 6 on (strconv: shortest -> eprec 6)
    ("float million", "{{ 1e6 }}", "1e+06"),
    ("small float", "{{ 0.00001 }}", "1e-05"),
    ("float 1e-4", "{{ 0.0001 }}", "0.0001"),
    ("char constant", "{{ 'a' }}", "97"),
    ("true", "{{ true }}", "true"),
    ("false", "{{ false }}", "false"),
    ("action spanning lines", "{{\n  42\n}}", "42"),
    # ---- trim markers (doc.go: "{{- " trims all trailing white space of the
    # preceding text, " -}}" all leading white space of the following text;
    # white space = space, \t, \r, \n; the marker needs the space)
    ("left trim", "a  \n\t {{- 1 }}", "a1"),
    ("right trim", "{{ 1 -}} \n\n b", "1b"),
    ("both trims", "x \n {{- 1 -}} \n y", "x1y"),
    ("trim only whitespace", "a.\n{{- 1 }}", "a.1"),
    ("doc.go example", '"{{23 -}} < {{- 45}}"', '"23<45"'),
    ("no space no trim: negative number", "a {{-3}}", "a -3"),
    ("right trim with tab", "{{ 1\t-}}\n z", "1z"),
    ("trim across several actions", "{{ 1 -}}\n\n{{- 2 }}", "12"),
    ("trim crlf", "a\r\n{{- 1 -}}\r\nb", "a1b"),
    ("trim empty text between", "{{- 1 -}}   {{- 2 -}}", "12"),
    ("trim does not cross non-space", "a x {{- 1 }}", "a x1"),
    ("left trim at start of input", "  {{- 1 }}", "1"),
    ("right trim at end of input", "{{ 1 -}}  \n", "1"),
    # ---- comments (doc.go: "{{/* a comment */}}", "{{- /* ... */ -}}")
    ("comment", "a{{/* note */}}b", "ab"),
    ("comment multiline", "a{{/* x\ny */}}b", "ab"),
    ("comment with trims", "a \n{{- /* c */ -}}\n b", "ab"),
    ("comment with braces inside", "{{/* {{ }} */}}ok", "ok"),
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
    # ---- printing values like fmt %v
    ("print int from data", S + "{{ .port }}" + E, "5432"),
    ("print float from data", S + "{{ .ratio }}" + E, "1.5"),
    ("print 1e21", S + "{{ .big }}" + E, "1e+21"),
    ("print float million", S + "{{ .million }}" + E, "1e+06"),
    ("print bool from data", S + "{{ .on }}" + E, "true"),
    ("print list", S + "{{ .tags }}" + E, "[a b c]"),
    ("print map sorted", S + "{{ .nested }}" + E, "map[a:first m:map[k:v] z:last]"),
    # ---- printf (fmt verbs)
    ("printf s d", '{{ printf "%s=%d" "n" 5 }}', "n=5"),
    ("printf v", '{{ printf "%v %v %v" 1.5 true "s" }}', "1.5 true s"),
    ("printf q", '{{ printf "%q" "a\\"b\\n" }}', '"a\\"b\\n"'),
    ("printf x string", '{{ printf "%x" "hi" }}', "6869"),
    ("printf X int", '{{ printf "%X" 255 }}', "FF"),
    ("printf f", '{{ printf "%f" 3.14159 }}', "3.141590"),
    ("printf .2f", '{{ printf "%.2f" 3.14159 }}', "3.14"),
    ("printf t", '{{ printf "%t" false }}', "false"),
    ("printf percent", '{{ printf "100%%" }}', "100%"),
    ("printf width", '{{ printf "[%5s][%-5s]" "ab" "cd" }}', "[   ab][cd   ]"),
    ("printf zero pad", '{{ printf "%05d" -42 }}', "-0042"),
    ("printf plus", '{{ printf "%+d" 7 }}', "+7"),
    ("printf bad verb", '{{ printf "%d" "x" }}', "%!d(string=x)"),
    ("printf missing", '{{ printf "%s %s" "a" }}', "a %!s(MISSING)"),
    ("printf extra", '{{ printf "%s" "a" 1 }}', "a%!(EXTRA int=1)"),
    ("printf float e", '{{ printf "%e" 1234.5 }}', "1.234500e+03"),
    ("printf g shortest", '{{ printf "%g" 1e6 }}', "1e+06"),
    ("printf T", '{{ printf "%T %T" "s" 1 }}', "string int"),
    ("printf list", S + '{{ printf "%v" .tags }}' + E, "[a b c]"),
    ("printf nil v", '{{ printf "%v" nil }}', "<nil>"),
    # ---- print / println (fmt.Sprint: spaces between operands when neither is a string)
    ("print strings", '{{ print "a" "b" }}', "ab"),
    ("print numbers", "{{ print 1 2 }}", "1 2"),
    ("print mixed", '{{ print 1 "a" 2 }}', "1a2"),
    ("println", '{{ println "a" 1 }}', "a 1\n"),
    # ---- len / index
    ("len string bytes", '{{ len "héllo" }}', "6"),
    ("len list", S + "{{ len .tags }}" + E, "3"),
    ("len map", S + "{{ len .nested }}" + E, "3"),
    ("index map", S + '{{ index .nested "z" }}' + E, "last"),
    ("index multi-level", S + '{{ index . "nested" "m" "k" }}' + E, "v"),
    ("index list", S + "{{ index .tags 1 }}" + E, "b"),
    ("index missing key is nil", S + '{{ if index . "nope" }}t{{ else }}f{{ end }}' + E, "f"),
    ("index no keys", '{{ index "x" }}', "x"),
    (
        "index dashed key",
        '{{ with secret "secret/data/app" }}{{ index .Data.data "user" }}{{ end }}',
        "admin",
    ),
    # ---- comparisons (doc.go "Functions": eq a b c is a==b || a==c)
    ("eq true", '{{ eq "a" "a" }}', "true"),
    ("eq multi", "{{ eq 3 1 2 3 }}", "true"),
    ("eq multi false", "{{ eq 3 1 2 }}", "false"),
    ("eq with data", S + '{{ eq .user "admin" }}' + E, "true"),
    ("eq nil nil", "{{ eq nil nil }}", "true"),
    ("ne", '{{ ne "a" "b" }}', "true"),
    ("lt ints", "{{ lt 1 2 }}", "true"),
    ("lt strings", '{{ lt "b" "a" }}', "false"),
    ("le equal", "{{ le 2 2 }}", "true"),
    ("gt floats", "{{ gt 2.5 1.5 }}", "true"),
    ("ge", "{{ ge 1 2 }}", "false"),
    # ---- and / or / not (short-circuit, the deciding value is returned)
    ("and returns last", '{{ and 1 "x" }}', "x"),
    ("and returns first falsy", '{{ and 1 0 "x" }}', "0"),
    ("or returns first truthy", '{{ or "" "dflt" }}', "dflt"),
    ("or returns last", '{{ or 0 "" }}', ""),
    ("or short-circuits", '{{ or "a" (index nil 1) }}', "a"),
    ("and short-circuits", '{{ and "" (index nil 1) }}', ""),
    ("env with default", '{{ or (env "MISSING") "12345" }}', "12345"),
    ("not", "{{ not 0 }}", "true"),
    ("not string", '{{ not "x" }}', "false"),
    ("piped and", "{{ 0 | and 1 }}", "0"),
    # ---- consul-template functions
    ("toUpper", '{{ "abc" | toUpper }}', "ABC"),
    ("toLower", '{{ toLower "ÀB" }}', "àb"),
    ("toUpper keeps sharp s", '{{ toUpper "ß" }}', "ß"),
    ("trimSpace", S + "[{{ .spaced | trimSpace }}]" + E, "[padded]"),
    ("replaceAll", '{{ "foo.bar" | replaceAll "." "_" }}', "foo_bar"),
    ("replaceAll args", '{{ replaceAll "o" "0" "foo" }}', "f00"),
    ("split join", '{{ "a,b,c" | split "," | join ";" }}', "a;b;c"),
    ("split trims first", '{{ "\\na\\nb\\n" | split "\\n" | join "," }}', "a,b"),
    ("split result is list", '{{ split "," "x,y" }}', "[x y]"),
    ("join data list", S + '{{ .tags | join "," }}' + E, "a,b,c"),
    ("contains list", S + '{{ if .tags | contains "b" }}y{{ end }}' + E, "y"),
    ("contains list missing", S + '{{ contains "q" .tags }}' + E, "false"),
    ("contains string", '{{ "production" | contains "duct" }}', "true"),
    ("contains int list", S + "{{ contains 2 .nums }}" + E, "true"),
    ("hasPrefix", '{{ "foobar" | hasPrefix "foo" }}', "true"),
    ("hasSuffix", '{{ hasSuffix "bar" "foobar" }}', "true"),
    ("hasPrefix false", '{{ hasPrefix "x" "foobar" }}', "false"),
    ("base64Encode", '{{ "hello world" | base64Encode }}', "aGVsbG8gd29ybGQ="),
    ("base64Decode", S + "{{ .b64 | base64Decode }}" + E, "hello world"),
    ("base64 round trip unicode", '{{ "héllo" | base64Encode | base64Decode }}', "héllo"),
    ("env", '{{ env "HOME" }}', "/home/app"),
    ("env missing is empty", '[{{ env "NOPE" }}]', "[]"),
    # encoding/json: map keys sorted, <>& escaped as \u003c \u003e \u0026
    (
        "toJSON map",
        '{{ with secret "secret/kv1" }}{{ .Data | toJSON }}{{ end }}',
        '{"a":"1","b":"2"}',
    ),
    ("toJSON html escaped", S + "{{ .html | toJSON }}" + E, '"\\u003ca\\u0026b\\u003e"'),
    ("toJSON list", S + "{{ toJSON .nums }}" + E, "[3,1,2]"),
    ("toJSON float big", S + "{{ toJSON .big }}" + E, "1e+21"),
    ("toJSON float million", S + "{{ toJSON .million }}" + E, "1000000"),
    ("toJSON scalars", "{{ toJSON true }}{{ toJSON nil }}{{ toJSON 1.5 }}", "truenull1.5"),
    ("toJSON newline", '{{ toJSON "a\\nb" }}', '"a\\nb"'),
    # encoding/json: invalid UTF-8 is written as \ufffd
    ("toJSON invalid utf-8", '{{ toJSON "a\\xffb" }}', '"a\\ufffdb"'),
    (
        "toJSONPretty",
        S + "{{ toJSONPretty .nested }}" + E,
        '{\n  "a": "first",\n  "m": {\n    "k": "v"\n  },\n  "z": "last"\n}',
    ),
    (
        "toJSONPretty list inside",
        '{{ with secret "secret/kv1" }}{{ toJSONPretty .Data }}{{ end }}',
        '{\n  "a": "1",\n  "b": "2"\n}',
    ),
    # ---- more trim and comment forms
    ("left trim newline marker", "a \n{{-\n1 }}", "a1"),
    ("right trim newline marker", "{{ 1\n-}}\n b", "1b"),
    ("comment left trim only", "a\t\n{{- /* c */}} \n|", "a \n|"),
    ("comment right trim only", "a \n{{/* c */ -}} \n b", "a \nb"),
    ("trim keeps inner value spaces", '{{- " x " -}}', " x "),
    ("trim inside range", "{{ range 3 -}}\n  {{ . }}\n{{- end }}", "012"),
    ("text between trimmed actions fully removed", "{{ 1 -}} \t\r\n {{- 2 }}", "12"),
    ("minus not after space is not trim", "{{ 5 }}-}}", "5-}}"),
    # ---- more printf
    (
        "printf width precision float",
        '{{ printf "%6.2f|%-8.3f|" 3.14159 2.5 }}',
        "  3.14|2.500   |",
    ),
    ("printf zero pad data", S + '{{ printf "%08d" .port }}' + E, "00005432"),
    ("printf precision string", '{{ printf "%.2s" "abcdef" }}', "ab"),
    ("printf hex negative", '{{ printf "%x" -255 }}', "-ff"),
    ("printf sharp hex", '{{ printf "%#x" 255 }}', "0xff"),
    ("printf octal binary", '{{ printf "%o %b" 8 5 }}', "10 101"),
    ("printf char", '{{ printf "%c" 65 }}', "A"),
    ("printf q int", '{{ printf "%q" 97 }}', "'a'"),
    ("printf unicode U", '{{ printf "%U" 233 }}', "U+00E9"),
    ("printf q non printable", '{{ printf "%q" "\x01é" }}', '"\\x01é"'),
    ("printf star width", '{{ printf "[%*d]" 4 7 }}', "[   7]"),
    ("printf bool bad verb", '{{ printf "%d" true }}', "%!d(bool=true)"),
    ("printf float bad verb", '{{ printf "%s" 1.5 }}', "%!s(float64=1.5)"),
    ("printf nil bad verb", '{{ printf "%s" nil }}', "%!s(<nil>)"),
    ("printf map v", S + '{{ printf "%v" .nested.m }}' + E, "map[k:v]"),
    ("printf E and G", '{{ printf "%E %G" 1e-7 2.5e10 }}', "1.000000E-07 2.5E+10"),
    ("printf g precision", '{{ printf "%.3g" 3.14159 }}', "3.14"),
    ("printf x spaced", '{{ printf "% x" "ab" }}', "61 62"),
    ("printf space flag", '{{ printf "% d" 5 }}', " 5"),
    ("printf trailing percent", '{{ printf "a%" }}', "a%!(NOVERB)"),
    # ---- Go's other builtins: html js urlquery slice
    ("html", """{{ html "<a href='x'>&\\"" }}""", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
    ("html of several", "{{ html 1 2 }}", "1 2"),
    ("js", """{{ js "it's <b>=\\"\\n" }}""", "it\\'s \\u003Cb\\u003E\\u003D\\\"\\u000A"),
    ("urlquery", '{{ urlquery "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9"),
    ("slice list", S + "{{ slice .tags 1 }}" + E, "[b c]"),
    ("slice list both", S + "{{ slice .tags 0 2 }}" + E, "[a b]"),
    ("slice string", '{{ slice "hello" 1 3 }}', "el"),
    # ---- further consul-template helpers
    ("in", S + '{{ in .tags "c" }}' + E, "true"),
    (
        "parseJSON",
        """{{ with parseJSON "{\\"a\\": [1, 2.5], \\"b\\": \\"x\\"}" }}{{ .a }}{{ .b }}{{ end }}""",
        "[1 2.5]x",
    ),
    ("parseJSON empty", '{{ parseJSON "" }}', "map[]"),
    ("parseBool", '{{ parseBool "TRUE" }}{{ parseBool "0" }}{{ parseBool "" }}', "truefalsefalse"),
    ("parseInt value", '{{ parseInt "-42" }}', "-42"),
    ("parseFloat", '{{ parseFloat "1.25" }}', "1.25"),
    ("parseInt compares", '{{ if gt (parseInt "10") 9 }}y{{ end }}', "y"),
    ("base64URL round trip", '{{ "a?b>c~" | base64URLEncode | base64URLDecode }}', "a?b>c~"),
    ("base64URLEncode url alphabet", '{{ base64URLEncode "??>" }}', "Pz8-"),
    (
        "sha256Hex",
        '{{ sha256Hex "abc" }}',
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ("indent", '{{ indent 2 "a\\nb\\n\\nc" }}', "  a\n  b\n\n  c"),
    ("toTitle", '{{ toTitle "hello wide-world foo_bar" }}', "Hello Wide-World Foo_bar"),
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


# Cases whose outputs were also confirmed by running Go 1.19's text/template (with the
# same functions and data, Option("missingkey=error")) while writing this engine.
GO_CHECKED: list[tuple[str, str, str]] = [
    (
        "float constants %v",
        "{{ 1.0 }}|{{ 3.0e0 }}|{{ 1e20 }}|{{ 1e21 }}|{{ 123456.0 "
        "}}|{{ 1234567.0 }}|{{ 0.1 }}|{{ -0.0 }}|{{ 1e-5 }}"
        "|{{ 12345678.9 }}",
        "1|3|1e+20|1e+21|123456|1.234567e+06|0.1|-0|1e-05|1.23456789e+07",
    ),
    (
        "printf float verbs",
        '{{ printf "%v|%g|%e|%f|%.0f|%.1e|%G" 1e6 1e6 1e6 1e6 2.5 12345.678 1e-10 }}',
        "1e+06|1e+06|1.000000e+06|1000000.000000|2|1.2e+04|1E-10",
    ),
    (
        "printf float widths flags",
        '{{ printf "%5.1f|%-7.2f|%07.2f|%+.3e|% f" 3.14159 2.0 -1.5 12.5 1.0 }}',
        "  3.1|2.00   |-001.50|+1.250e+01| 1.000000",
    ),
    (
        "printf t v d x o b widths",
        '{{ printf "%5t|%-6v|%3d|%-3d|%x|%X|%#o|%08b" true "ab" 7 7 3054 3054 8 5 }}',
        " true|ab    |  7|7  |bee|BEE|010|00000101",
    ),
    (
        "printf q forms",
        '{{ printf "%q|%#q|%+q" "tab\\there" "raw" "é" }}',
        '"tab\\there"|`raw`|"\\u00e9"',
    ),
    (
        "printf verbs on lists",
        '{{ printf "%s|%v|%d" (split "," "1,2") (split "," "a,b") (split "," "x") }}',
        "[1 2]|[a b]|[%!d(string=x)]",
    ),
    (
        "print println spacing",
        '{{ print 1 2 "a" 3 4.5 true nil }}|{{ println 1 "x" true }}',
        "1 2a3 4.5 true <nil>|1 x true\n",
    ),
    (
        "printf nil missing extra",
        '{{ printf "%v %s" nil nil }}|{{ printf "%d %d" 1 }}|{{ printf "%d" 1 2 3 }}',
        "<nil> %!s(<nil>)|1 %!d(MISSING)|1%!(EXTRA int=2, int=3)",
    ),
    (
        "printf string precision hex",
        '{{ printf "%6.3s|%.10s|%x|% X|%#x" "abcdef" "ab" "héllo" "ab" "ab" }}',
        "   abc|ab|68c3a96c6c6f|61 62|0x6162",
    ),
    (
        "printf c U",
        '{{ printf "%c%c%c" 72 105 0x1F600 }}|{{ printf "%U|%#U" 0x1F600 65 }}',
        "Hi😀|U+1F600|U+0041 'A'",
    ),
    (
        "printf rounding half even",
        '{{ printf "%.2f%%" 99.555 }}|{{ printf "%.0f %.0f %.0f" 0.5 1.5 2.5 }}',
        "99.56%|0 2 2",
    ),
    (
        "printf v precision float",
        '{{ printf "%10.4v|%-10v|" 3.14159265 "x" }}',
        "     3.142|x         |",
    ),
    (
        "printf negative hex sign flags",
        '{{ printf "%x %X %o %b" -1 -255 -8 -5 }}|{{ printf "%+d %+d % d" 0 -3 -3 }}',
        "-1 -FF -10 -101|+0 -3 -3",
    ),
    (
        "printf int precision",
        '{{ printf "%.3d|%8.3d|%-8.3d|%08.3d" 7 7 7 7 }}',
        "007|     007|007     |     007",
    ),
    (
        "printf e forms",
        '{{ printf "%e|%E|%.2e" 0.0 123456789.0 -0.000123 }}',
        "0.000000e+00|1.234568E+08|-1.23e-04",
    ),
    (
        "printf g forms",
        '{{ printf "%g|%g|%g|%g|%.3g|%.10g" 100000.0 1000000.0 '
        "0.0001 0.00001 1234567.0 1234567.0 }}",
        "100000|1e+06|0.0001|1e-05|1.23e+06|1234567",
    ),
    (
        "printf extreme floats",
        '{{ printf "%v" 1e100 }}|{{ printf "%v" 5e-324 }}|{{ printf "%v" 1.7976931348623157e308 }}',
        "1e+100|5e-324|1.7976931348623157e+308",
    ),
    (
        "printf star width precision",
        '{{ printf "%*d|%-*d|%.*f" 5 1 5 2 2 3.14159 }}',
        "    1|2    |3.14",
    ),
    ("printf argument index", '{{ printf "%[1]s" "a" }}', "a"),
    ("trims between constants", '{{ "a" }} {{- "b" -}} {{ "c" }}', "abc"),
    ("only a trimmed comment", "{{- /* only comment */ -}}", ""),
    ("empty comments", "a{{/**/}}b{{- /**/ -}}c", "abc"),
    ("if else trims", "{{ if true -}}\n  yes\n{{- else -}}\n  no\n{{- end }}", "yes"),
    (
        "range comma separated",
        '{{ range $i, $e := split "," "a,b,c" }}{{ if $i }},{{ end }}{{ $e }}{{ end }}',
        "a,b,c",
    ),
    (
        "assignment escapes if scope",
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}",
        "2",
    ),
    ("redeclare inside with", '{{ with $x := "a" }}{{ $x }}{{ $x := "b" }}{{ $x }}{{ end }}', "ab"),
    (
        "continue on index",
        '{{ range $i, $e := split "," "a,b,c" }}{{ if eq $i '
        "1 }}{{ continue }}{{ end }}{{ $e }}{{ end }}",
        "ac",
    ),
    (
        "break inner range only",
        '{{ range split "," "a,b,c" }}{{ range split "," "1,2" '
        '}}{{ if eq . "2" }}{{ break }}{{ end }}{{ . }}{{ end '
        "}}{{ . }}{{ end }}",
        "1a1b1c",
    ),
    ("and or single args", '{{ or 0 }}|{{ and 1 }}|{{ and 0 1 }}|{{ or nil 0 "" }}', "0|1|0|"),
    (
        "comparison table",
        '{{ eq "a" "b" "c" "a" }}|{{ ne 1 1 }}|{{ lt 1.5 2.5 '
        '}}|{{ le "a" "a" }}|{{ gt "b" "a" }}|{{ ge 2 3 }}',
        "true|false|true|true|true|false",
    ),
    ("eq bool and nil", '{{ eq true true }}|{{ eq nil 1 }}|{{ ne nil "x" }}', "true|false|true"),
    (
        "not of empty values",
        '{{ not nil }}|{{ not (split "," "") }}|{{ not 0.0 }}',
        "true|true|true",
    ),
    (
        "len index slice strings",
        '{{ len "" }}|{{ len (split "," "a,b") }}|{{ index '
        '"abc" 1 }}|{{ slice "abc" }}|{{ slice "abcd" 1 }}',
        "0|2|98|abc|bcd",
    ),
    (
        "html js urlquery several args",
        '{{ html "<>" "&" }}|{{ js "a\\u2028b" }}|{{ urlquery "a" "b" 1 }}',
        "&lt;&gt;&amp;|a\\u2028b|ab1",
    ),
    ("printf of nil dot", '{{ printf "%v" . }}', "<nil>"),
    (
        "nested fields and index",
        '{{ with secret "secret/data/app" }}{{ .Data.data.nested.m.k '
        "}}{{ .Data.data.tags }}{{ index .Data.data.tags 0 "
        "}}{{ end }}",
        "v[a b c]a",
    ),
    (
        "parenthesized secret twice",
        '{{ (secret "secret/kv1").Data.a }}{{ ((secret "secret/kv1")).Data.b }}',
        "12",
    ),
    (
        "range nested map keys",
        '{{ with secret "secret/data/app" }}{{ range $k, $v '
        ":= .Data.data.nested }}{{ $k }}{{ end }}{{ end }}",
        "amz",
    ),
    (
        "toJSON and toJSONPretty of map",
        '{{ toJSON (secret "secret/kv1").Data }}|{{ toJSONPretty (secret "secret/kv1").Data }}',
        '{"a":"1","b":"2"}|{\n  "a": "1",\n  "b": "2"\n}',
    ),
    (
        "toJSON float forms",
        "{{ toJSON 1e-7 }}|{{ toJSON 1e20 }}|{{ toJSON 1e21 "
        "}}|{{ toJSON 0.000001 }}|{{ toJSON 123456789.125 }"
        "}|{{ toJSON -0.0 }}|{{ toJSON 5e-324 }}",
        "1e-7|100000000000000000000|1e+21|0.000001|123456789.125|-0|5e-324",
    ),
    (
        "toJSONPretty nested data",
        '{{ toJSONPretty (secret "secret/data/app").Data }}',
        '{\n  "data": {\n    "b64": "aGVsbG8gd29ybGQ=",\n    "big": '
        '1e+21,\n    "csv": "x,y,z",\n    "empty": "",\n    "html": '
        '"\\u003ca\\u0026b\\u003e",\n    "million": 1000000,\n  '
        '  "nested": {\n      "a": "first",\n      "m": {\n   '
        '     "k": "v"\n      },\n      "z": "last"\n    },\n  '
        '  "no_items": [],\n    "nothing": null,\n    "nums": '
        '[\n      3,\n      1,\n      2\n    ],\n    "off": false,\n '
        '   "on": true,\n    "password": "s3cr3t",\n    "pem": '
        '"-----BEGIN KEY-----\\nMIIBAAAA\\nBBBB==\\n-----END KEY-----\\n",\n '
        '   "port": 5432,\n    "ratio": 1.5,\n    "spaced": " '
        ' padded \\n",\n    "tags": [\n      "a",\n      "b",\n '
        '     "c"\n    ],\n    "unicode": "héllo wörld",\n    '
        '"user": "admin"\n  },\n  "metadata": {\n    "version": '
        "3\n  }\n}",
    ),
    (
        "case mapping rune by rune",
        '{{ toUpper "héllo ǆ ß ﬁ" }}|{{ toLower "ǅ İ Σ" }}',
        "HÉLLO Ǆ ß ﬁ|ǆ i \u03c3",
    ),
    (
        "replaceAll empty old",
        '{{ replaceAll "" "-" "abé" }}|{{ replaceAll "a" "" "banana" }}',
        "-a-b-é-|bnn",
    ),
    (
        "split edge cases",
        '{{ split "" "abc" }}|{{ split "," "  a, b ,c  " }}|{{ len (split "," " ") }}',
        "[a b c]|[a  b  c]|0",
    ),
    (
        "contains in strings",
        '{{ "abc" | contains "" }}|{{ contains "a" "" }}|{{ in "abc" "bc" }}',
        "true|false|true",
    ),
    ("base64 non-canonical padding bits", '{{ base64Decode "aGVsbG9=" }}', "hello"),
    (
        "base64URL alphabet",
        '{{ base64URLDecode "Pz8-" }}|{{ base64URLEncode "\\xff\\xfe" }}',
        "??>|__4=",
    ),
    (
        "toTitle word starts",
        '{{ toTitle "hello world-foo bar.baz élan 3rd" }}',
        "Hello World-Foo Bar.Baz Élan 3rd",
    ),
    (
        "printf q escapes",
        '{{ "\\a\\b\\f\\v" | printf "%q" }}|{{ `a\\nb` | printf '
        '"%q" }}|{{ "\\u00e9\\U0001F600" | printf "%+q" }}',
        '"\\a\\b\\f\\v"|"a\\\\nb"|"\\u00e9\\U0001f600"',
    ),
    (
        "char constants",
        "{{ 'a' }}{{ '\\n' | printf \"%q\" }}{{ '\\u00e9' }}{{ '\\x41' }}",
        "97'\\n'23365",
    ),
    (
        "number literal forms",
        "{{ 0x1p-2 }}|{{ 0X1F }}|{{ 0o17 }}|{{ 1_000_000 }}|{{ +3 }}|{{ .5 }}|{{ 1. }}",
        "0.25|31|15|1000000|3|0.5|1",
    ),
    (
        "int64 limits",
        "{{ 9223372036854775807 }}|{{ -9223372036854775808 }}",
        "9223372036854775807|-9223372036854775808",
    ),
    ("pipeline last arg chain", '{{ "a" | printf "%s%s" "b" | printf "%s%s" "c" }}', "cba"),
    ("printf into len", '{{ printf "%s" (printf "%d" 5) | len }}', "1"),
    ("variable holds list", '{{ $a := split "," "x,y" }}{{ index $a 1 }}{{ $a }}', "y[x y]"),
    ("variable holds map", '{{ $m := (secret "secret/kv1").Data }}{{ $m.a }}{{ $m.b }}', "12"),
    (
        "seed-like range on kv1",
        '{{- range $k, $v := (secret "secret/kv1").Data }}\n{{ $k }}={{ $v }}\n{{- end }}',
        "\na=1\nb=2",
    ),
    ("range one var list", '{{ range $i := split "," "a,b" }}{{ $i }}{{ end }}', "ab"),
    (
        "range two vars and dot",
        '{{ range $k, $v := (secret "secret/kv1").Data }}{{ $k }}{{ $v }}{{ . }}{{ end }}',
        "a11b22",
    ),
    ("else if falls through", "{{ if false }}a{{ else if false }}b{{ end }}", ""),
    ("with decl visible in else", "{{ with $x := 0 }}a{{ else }}{{ $x }}{{ end }}", "0"),
    ("else if not taken", "{{ if $x := 1 }}{{ else if $y := 2 }}{{ $x }}{{ $y }}{{ end }}", ""),
    ("else if declaration", "{{ if 0 }}{{ else if $y := 2 }}{{ $y }}{{ end }}\n", "2\n"),
    ("comment alone", "{{/* a */}}", ""),
    ("trimmed comment alone", "{{- /* a */ -}}", ""),
    ("comment right trim", "{{/* a */ -}}  x", "x"),
    ("close delims in string", '{{ "}}" }}', "}}"),
    ("open delims in string", '{{ "{{" }}x', "{{x"),
    ("close delims in raw string", "{{ `}}` }}", "}}"),
    ("stray close delims are text", "{{ 1 }}}}", "1}}"),
    ("adjacent trims", "{{ 1 -}}{{- 2 }}", "12"),
    ("trims around text", "a {{- 1 -}} b {{- 2 -}} c", "a1b2c"),
    ("left trim no space before close", "{{ 1 }} {{- 2}}", "12"),
    ("minus number without space", "{{1}}{{-2}}", "1-2"),
    ("parenthesized constants", '{{ (1) }}|{{ ( "a" ) }}|{{ (toUpper "a") }}', "1|a|A"),
    ("parenthesized arg", '{{ printf "%s" ("x") }}', "x"),
    ("variable holds secret data", '{{ $x := (secret "secret/kv1").Data }}{{ $x.a }}', "1"),
    ("redeclare", "{{ $x := 1 }}{{ $x := 2 }}{{ $x }}", "2"),
    (
        "range index element",
        '{{ range $x, $y := split "," "a,b" }}{{ $x }}{{ $y }}{{ end }}',
        "0a1b",
    ),
    ("range assigns existing variable", '{{ $x := 0 }}{{ range $x = split "," "a" }}{{ end }}', ""),
    (
        "with assigns existing variable",
        "{{ $x := 5 }}{{ with $x = 1 }}{{ $x }}{{ end }}{{ $x }}",
        "11",
    ),
    (
        "break inside with inside range",
        '{{ range split "," "a" }}{{ with 1 }}{{ break }}{{ end }}x{{ end }}y',
        "y",
    ),
    ("continue skips rest", '{{ range split "," "a,b" }}{{ continue }}x{{ end }}y', "y"),
    ("long pipeline", '{{ "a" | toUpper | toLower | printf "%q" }}', '"a"'),
    ("piped not", "{{ true | not }}", "false"),
    ("not nil", "{{ not nil }}", "true"),
    ("printf nil len", '{{ printf "%v" nil | len }}', "5"),
    ("env piped", '{{ "HOME" | env }}', "/home/app"),
    (
        "field piped to printf",
        '{{ with secret "secret/kv1" }}{{ .Data.a | printf "%s!" }}{{ end }}',
        "1!",
    ),
    ("index of secret data", '{{ index (secret "secret/kv1").Data "a" }}', "1"),
    ("three-index slice", '{{ slice (split "," "a,b,c") 1 2 3 }}', "[b]"),
    ("underscore after zero", "{{ 0_1 }}", "1"),
    ("negative hex", "{{ -0x10 }}", "-16"),
    ("hex float", "{{ 0x1.8p1 }}", "3"),
    ("declare without spaces", "{{ $x:=1 }}{{$x}}", "1"),
    ("declare without any spaces", "{{$x:=1}}{{$x}}", "1"),
    ("printf v of nil", '{{ printf "%v" nil }}', "<nil>"),
    ("if and", "{{ if and 1 0 }}a{{ else }}b{{ end }}", "b"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [pytest.param(t, e, id=i) for i, t, e in CASES + GO_CHECKED if e is not None],
)
def test_table(template: str, expected: str) -> None:
    assert render(template) == expected


def test_table_is_large() -> None:
    assert len(CASES) + len(GO_CHECKED) >= 120


# ---------------------------------------------------------------------------- provenance


def test_seed_template_pieces_keep_a_pem_value_whole() -> None:
    # With the seed's exact template the separating newline comes BEFORE each entry
    # (the "\n" after "range ... }}" is template text; "{{- end }}" eats the one
    # after the value), and the final "\n" after the last "{{- end }}" stays.
    pieces = parse(SEED, "config.env").render(
        lambda path, args: {"data": {"data": {"B_PEM": PEM, "A": "x=y"}}}, {}
    )
    assert pieces == [
        ("\n", False),
        ("A", True),
        ("=", False),
        ("x=y", True),
        ("\n", False),
        ("B_PEM", True),
        ("=", False),
        (PEM, True),
        ("\n", False),
    ]


def test_printed_string_constants_are_template_text() -> None:
    assert pieces_of('a{{ "=" }}b{{ "\\n" }}') == [("a=b\n", False)]


def test_constant_through_variable_is_template_text() -> None:
    assert pieces_of('{{ $sep := "=" }}{{ $sep }}') == [("=", False)]


def test_function_results_are_data() -> None:
    assert pieces_of('{{ toUpper "a" }}{{ trimSpace " = " }}{{ "x" | replaceAll "x" "\\n" }}') == [
        ("A=\n", True)
    ]


def test_printf_keeps_the_format_text_as_template_text() -> None:
    # the "=" and the newline come from the format string, the operands from data
    text = S + '{{ printf "%s=%s\\n" "user" .user }}{{ printf "%q" .user }}' + E
    assert pieces_of(text) == [("user=", False), ("admin", True), ("\n", False), ('"admin"', True)]


def test_printf_with_only_constants_is_template_text() -> None:
    assert pieces_of('{{ printf "%s-%5s" "a" "b" }}') == [("a-    b", False)]


def test_printf_numbers_are_data_even_when_written_as_constants() -> None:
    # an int constant is not tracked: conservative, it counts as data
    assert pieces_of('{{ printf "n=%d;" 5 }}') == [("n=", False), ("5", True), (";", False)]


def test_printf_format_from_data_is_all_data() -> None:
    assert pieces_of(S + "{{ printf .user }}" + E) == [("admin", True)]


def test_printf_bad_verb_and_extra_operands_are_data() -> None:
    assert pieces_of(S + '{{ printf "%d" .user }}' + E) == [("%!d(string=admin)", True)]
    assert pieces_of(S + '{{ printf "x" .user }}' + E) == [
        ("x", False),
        ("%!(EXTRA string=admin)", True),
    ]


def test_nested_printf_keeps_pieces_when_printed_verbatim() -> None:
    text = S + '{{ printf "[%s]" (printf "%s\\n" .user) }}' + E
    assert pieces_of(text) == [("[", False), ("admin", True), ("\n]", False)]


def test_printf_value_through_a_variable_keeps_pieces() -> None:
    text = S + '{{ $line := printf "%s=%s\\n" "k" .user }}{{ $line }}' + E
    assert pieces_of(text) == [("k=", False), ("admin", True), ("\n", False)]


def test_composed_value_passed_to_a_function_becomes_data() -> None:
    text = S + '{{ printf "%s=\\n" .user | trimSpace }}' + E
    assert pieces_of(text) == [("admin=", True)]


def test_print_and_println_separators_are_template_text() -> None:
    assert pieces_of(S + '{{ print .port 2 "=" .user }}' + E) == [
        ("5432", True),
        (" ", False),
        ("2", True),
        ("=", False),
        ("admin", True),
    ]
    assert pieces_of(S + '{{ println "k" .user }}' + E) == [
        ("k ", False),
        ("admin", True),
        ("\n", False),
    ]


def test_template_calls_keep_provenance() -> None:
    text = '{{ define "kv" }}{{ range $k, $v := . }}{{ $k }}={{ $v }}\n{{ end }}{{ end }}'
    data = '(secret "secret/kv1").Data'
    expected = [("a", True), ("=", False), ("1", True), ("\n", False)]
    expected += [("b", True), ("=", False), ("2", True), ("\n", False)]
    assert pieces_of(text + '{{ template "kv" ' + data + " }}") == expected
    assert pieces_of(text + '{{ executeTemplate "kv" ' + data + " }}") == expected


def test_join_separator_is_template_text() -> None:
    assert pieces_of(S + '{{ join "\\n" .tags }}' + E) == [
        ("a", True),
        ("\n", False),
        ("b", True),
        ("\n", False),
        ("c", True),
    ]
    assert pieces_of(S + "{{ join .user .tags }}" + E) == [("aadminbadminc", True)]


def test_printf_lines_in_a_range_split_like_the_seed() -> None:
    text = (
        '{{ with secret "secret/data/spitikos/api" }}{{ range $k, $v := .Data.data }}'
        '{{ printf "%s=%s\\n" $k $v }}{{ end }}{{ end }}'
    )
    assert pieces_of(text) == [
        ("API_KEY", True),
        ("=", False),
        ("k1", True),
        ("\n", False),
        ("DB_URL", True),
        ("=", False),
        ("postgres://u:p@h/db?x=1", True),
        ("\n", False),
    ]


def test_numbers_and_env_are_data() -> None:
    assert pieces_of('{{ 1 }}:{{ env "HOME" }}') == [("1", True), (":", False), ("/home/app", True)]


def test_secret_values_and_keys_are_data() -> None:
    text = S + "{{ range $k, $v := .nested }}{{ $k }}{{ end }}|{{ .user }}" + E
    assert pieces_of(text) == [("amz", True), ("|", False), ("admin", True)]


def test_or_passes_a_constant_through_unchanged() -> None:
    # "or" returns one of its arguments as it is: a constant stays template text
    assert pieces_of('{{ or "" "dflt" }}') == [("dflt", False)]
    assert pieces_of('{{ or (env "HOME") "dflt" }}') == [("/home/app", True)]


# ---------------------------------------------------------------------------- errors

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
    import transformer.agent.template as engine

    monkeypatch.setattr(engine, "MAX_OUTPUT_CHARS", 50)
    assert error_of("{{ range 100 }}x{{ end }}") == (
        "template t:1:16: output is larger than 50 characters"
    )


def test_range_iterations_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformer.agent.template as engine

    monkeypatch.setattr(engine, "MAX_RANGE_ITERATIONS", 10)
    assert error_of("{{ range 5 }}{{ range 5 }}{{ end }}{{ end }}") == (
        "template t:1:14: more than 10 range iterations"
    )


def test_nesting_is_bounded() -> None:
    deep = "{{ " + "(" * 150 + "1" + ")" * 150 + " }}"
    assert error_of(deep).endswith(": template nests too deeply")
    ifs = "{{ if 1 }}" * 150 + "{{ end }}" * 150
    assert error_of(ifs).endswith(": template nests too deeply")


# ---------------------------------------------------------------------------- API


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
