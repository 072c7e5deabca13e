"""Lexing: text, actions, constants, trim markers and comments (Go's parse/lex.go, doc.go)."""

from __future__ import annotations

import pytest

from testkit.template_support import render

LEXER_CASES: list[tuple[str, str, str]] = [
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
    # ---- more trim and comment forms
    ("left trim newline marker", "a \n{{-\n1 }}", "a1"),
    ("right trim newline marker", "{{ 1\n-}}\n b", "1b"),
    ("comment left trim only", "a\t\n{{- /* c */}} \n|", "a \n|"),
    ("comment right trim only", "a \n{{/* c */ -}} \n b", "a \nb"),
    ("trim keeps inner value spaces", '{{- " x " -}}', " x "),
    ("trim inside range", "{{ range 3 -}}\n  {{ . }}\n{{- end }}", "012"),
    ("text between trimmed actions fully removed", "{{ 1 -}} \t\r\n {{- 2 }}", "12"),
    ("minus not after space is not trim", "{{ 5 }}-}}", "5-}}"),
]


@pytest.mark.parametrize(
    ("template", "expected"), [pytest.param(t, e, id=i) for i, t, e in LEXER_CASES]
)
def test_lexer_cases(template: str, expected: str) -> None:
    assert render(template) == expected
