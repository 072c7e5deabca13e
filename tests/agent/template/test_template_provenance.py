"""Provenance: which output characters are the template's text and which are data."""

from __future__ import annotations

from testkit.template_support import PEM, SEED, E, S, pieces_of
from transformer.agent.template import parse


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
