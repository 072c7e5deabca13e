"""What the doctor finds in a template: literal secret calls and the fields used on them."""

from __future__ import annotations

import pytest

from transformer.agent.template import parse
from transformer.doctor.templates import TemplateUse, template_use
from transformer.pod.annotations import default_template


def use_of(text: str) -> TemplateUse:
    return template_use(parse(text, "t"))


def fields(use: TemplateUse, path: str) -> set[tuple[str, ...]]:
    (call,) = [call for call in use.calls if call.path == path]
    return set(call.fields)


def test_with_secret_scope_and_field_chains() -> None:
    use = use_of(
        '{{ with secret "secret/data/a" }}'
        "USER={{ .Data.data.user }}\nPW={{ .Data.data.password }}\n"
        "{{ end }}"
    )
    assert [(call.path, call.write) for call in use.calls] == [("secret/data/a", False)]
    assert fields(use, "secret/data/a") == {
        ("Data", "data", "user"),
        ("Data", "data", "password"),
    }
    assert use.unknown == []


def test_variables_chains_nested_scopes_and_kv1() -> None:
    use = use_of(
        '{{ $s := secret "secret/data/a" }}{{ $s.Data.data.k1 }}'
        '{{ (secret "kv/b").Data.k2 }}'
        '{{ with $t := secret "kv/c" }}{{ $t.Data.k3 }}{{ with .Data }}{{ .k4 }}{{ end }}{{ end }}'
    )
    assert fields(use, "secret/data/a") == {("Data", "data", "k1")}
    assert fields(use, "kv/b") == {("Data", "k2")}
    assert fields(use, "kv/c") == {("Data", "k3"), ("Data",), ("Data", "k4")}


def test_range_needs_the_map_but_no_key() -> None:
    use = use_of(default_template("secret/data/app"))
    assert fields(use, "secret/data/app") == {("Data", "data")}


def test_what_index_reaches_is_optional_but_a_field_after_it_is_not() -> None:
    use = use_of(
        '{{ with secret "secret/data/a" }}{{ or (index .Data.data "maybe") "x" }}'
        '{{ (index .Data "data").sure }}{{ end }}'
    )
    # "maybe" may be missing (index gives nil); .sure on a missing "data" fails the pod.
    assert fields(use, "secret/data/a") == {("Data", "data"), ("Data",), ("Data", "data", "sure")}


def test_writes_are_calls_without_required_fields() -> None:
    use = use_of(
        '{{ with secret "pki/issue/web" "common_name=a.example" }}{{ .Data.cert }}{{ end }}'
    )
    ((path, write, found),) = [(c.path, c.write, c.fields) for c in use.calls]
    assert (path, write, found) == ("pki/issue/web", True, {})
    assert use.reads() == []


@pytest.mark.parametrize(
    "text",
    [
        '{{ with secret (printf "secret/data/%s" (env "APP")) }}{{ .Data.data.k }}{{ end }}',
        '{{ $p := "secret/data/x" }}{{ with secret $p }}{{ end }}',
        '{{ "secret/data/x" | secret }}',
    ],
)
def test_a_path_built_at_run_time_is_not_guessed(text: str) -> None:
    use = use_of(text)
    assert use.calls == []
    assert [what for _, what in use.unknown] == ["a secret path built when the template runs"]


def test_defined_templates_see_the_dot_they_are_called_with() -> None:
    use = use_of(
        '{{ define "db" }}{{ .Data.data.url }}{{ end }}'
        '{{ define "unused" }}{{ with secret "kv/other" }}{{ .Data.k }}{{ end }}{{ end }}'
        '{{ with secret "secret/data/db" }}{{ template "db" . }}{{ end }}'
    )
    assert fields(use, "secret/data/db") == {("Data", "data", "url")}
    assert fields(use, "kv/other") == {("Data", "k")}  # may be run by executeTemplate


def test_places_are_one_based_lines_and_columns_of_the_template() -> None:
    use = use_of('A=1\n{{ with secret "kv/a" }}\n  {{ .Data.key }}{{ end }}')
    (call,) = use.calls
    assert (call.where.line, call.where.col) == (2, 9)
    assert (call.fields[("Data", "key")].line, call.fields[("Data", "key")].col) == (3, 6)
