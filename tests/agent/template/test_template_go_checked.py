"""Cases whose outputs were also confirmed by running Go 1.19's text/template (with the
same functions and data, Option("missingkey=error")) while writing this engine;
test_template_go.py renders them with Go again where Go is installed."""

from __future__ import annotations

import pytest

from testkit.template_support import render

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
    # the Go 1.19 differential's findings (test_template_differential.py)
    (
        "printf bad verb keeps width and flags",
        '{{printf "%5t|%#d|%-8.3x|%+q" 3 1.5 "abc" 7}}',
        "%!t(int=    3)|%!d(float64=1.50000)|616263  |'\\a'",
    ),
    (
        "printf %#v and %+v",
        '{{printf "%#v|%+v|%#v|%#v|%#v" "s" 4 1.0 (split "," "a,b") nil}}',
        '"s"|4|1|[]string{"a", "b"}|<nil>',
    ),
    (
        "printf %x %X %b of floats",
        '{{printf "%x|%X|%b|%.3x|%#.0x" 1.5 -2.25 1.0 3.14159 2.0}}',
        "0x1.8p+00|-0X1.2P+01|4503599627370496p-52|0x1.922p+01|0x1.p+01",
    ),
    (
        "printf %U %c %q of negatives",
        '{{printf "%U|%#U|%c|%q|%U" -1 65 -5 -7 1114112}}',
        "U+FFFFFFFFFFFFFFFF|U+0041 'A'|�|'�'|U+110000",
    ),
    (
        "printf %[n] indexes",
        '{{printf "%[2]d %[1]d|%[3]d|%[0]d|%[x]d|%[1]*d" 1 2}}',
        "2 1|%!d(BADINDEX)|%!d(BADINDEX)|%!d(BADINDEX)|2",
    ),
    (
        "printf * width and precision caps",
        '{{printf "%*d|%.*d|%*d|%.*d" 1000001 7 1000001 7 -3 7 -1 7}}',
        "%!(BADWIDTH)7|%!(BADPREC)7|7  |%!(BADPREC)7",
    ),
    (
        "printf zero padding and spaces",
        '{{printf "%05s|%-05d|%+.3e|%#g|% x|% X" "ab" 3 12345.678 1.0 "hi" "hi"}}',
        "000ab|3    |+1.235e+04|1.00000|68 69|68 69",
    ),
    (
        "escapers of nil print no value",
        "{{html nil}}|{{js nil}}|{{urlquery nil}}|{{html nil 1}}",
        "&lt;no value&gt;|\\u003Cno value\\u003E|%3Cno+value%3E|&lt;no value&gt;1",
    ),
    (
        "complex constants",
        '{{1i}}|{{2+3i}}|{{-1.5i}}|{{printf "%v %.2f %T %e" 1i 2.5i 3i 1i}}|{{eq 1i 1i}}'
        "|{{if 0i}}t{{else}}f{{end}}",
        "(0+1i)|(2+3i)|(0-1.5i)|(0+1i) (0.00+2.50i) complex128 (0.000000e+00+1.000000e+00i)|true|f",
    ),
    ("dollar redeclared", "{{$ := 1}}{{$}}|{{$x := 1}}{{$x := 2}}{{$x}}", "1|2"),
    (
        "errors only when the branch runs",
        "{{if false}}{{len 1 2}}{{nil}}{{1 2}}{{$undeclared = 1}}{{end}}ok",
        "ok",
    ),
    (
        "index of a string is a uint8",
        '{{printf "%d" (index "abc" 1)}}|{{printf "%T|%#v" (index "abc" 1) (index "abc" 1)}}',
        "98|uint8|0x62",
    ),
    ("parseInt is an int64", '{{printf "%T %v" (parseInt "42") (parseInt "")}}', "int64 0"),
    (
        "split is a []string",
        '{{printf "%v|%d" (split "," "a,b") (split "," "a,b")}}|{{printf "%T" (split "," "a,b")}}',
        "[a b]|[%!d(string=a) %!d(string=b)]|[]string",
    ),
    ("join and toJSONPretty of nil", '{{join "," nil}}|{{toJSONPretty nil}}', "|null"),
]


@pytest.mark.parametrize(
    ("template", "expected"), [pytest.param(t, e, id=i) for i, t, e in GO_CHECKED]
)
def test_go_checked(template: str, expected: str) -> None:
    assert render(template) == expected
