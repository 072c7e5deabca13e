"""Every value is validated before anything is concluded from it: what a hostile or careless
manifest puts where a string, a list or a small number belongs is one located problem,
never an internal error, never silently dropped."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from testkit.manifests import OPTED_IN_POD, opted_in_pod
from transformer.frontends.cli import main
from transformer.pod.inject import MAX_ENV_STRING_BYTES

POD = OPTED_IN_POD


def render(annotation: str = "", container: str = "", text: str | None = None) -> tuple[int, str]:
    stream = text or opted_in_pod(annotation, container)
    result = CliRunner().invoke(
        main, ["render", "--vault-addr", "https://vault.example:8200"], input=stream
    )
    assert "internal error" not in result.stderr
    if result.exit_code:
        assert result.stdout == ""  # no partial output
        assert all(line.startswith("-:") for line in result.stderr.splitlines())  # located
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("[true]", "(a list)"),
        ("!!binary aGVsbG8=", "(binary data)"),
        ("{a: b}", "(a mapping)"),
        ("3", "(3)"),
    ],
)
def test_a_value_that_is_no_string_is_said_so(value: str, said: str) -> None:
    code, stderr = render(f"    vault.hashicorp.com/agent-inject-template-a: {value}\n")
    assert code == 1
    assert "agent-inject-template-a: the value must be a string: quote it" in stderr
    assert said in stderr


def test_a_number_of_thousands_of_digits_is_located_and_not_printed_back() -> None:
    code, stderr = render(f"    vault.hashicorp.com/client-max-retries: {'9' * 5000}\n")
    assert code == 1
    assert stderr.startswith("-:10:45: invalid YAML: ")
    assert "(5000 characters) is not a valid !!int value" in stderr
    assert len(stderr) < 300


@pytest.mark.parametrize("value", ['"maybe"', "[true]", "{x: 1}", "2024-01-01"])
def test_a_bad_opt_in_is_an_invalid_value_not_a_question_of_modes(value: str) -> None:
    text = POD.replace('agent-inject: "true"', f"agent-inject: {value}").replace(
        '    vault.hashicorp.com/agent-run-as-sidecar: "false"\n', ""
    )
    code, stderr = render(text=text.replace("EXTRA_ANNOTATION", "").replace("EXTRA_CONTAINER", ""))
    assert code == 1
    assert stderr.startswith("-:6:5: vault.hashicorp.com/agent-inject: ")
    assert "exec mode" not in stderr


@pytest.mark.parametrize(
    ("annotation", "said"),
    [
        ('client-timeout: "' + "9" * 300 + 's"', "at most 60 minutes"),
        ('client-timeout: "0s"', "must be more than 0"),
        ('client-max-retries: "101"', "is more than 100"),
        ('client-max-retries: "' + "9" * 5000 + '"', "(5000 characters) is more than 100"),
        ('agent-run-as-user: "99999999999"', "is more than 2147483647"),
    ],
)
def test_absurd_numbers_are_refused(annotation: str, said: str) -> None:
    code, stderr = render(f"    vault.hashicorp.com/{annotation}\n")
    assert code == 1
    assert said in stderr
    assert len(stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("container", "field"),
    [
        ("    env: {A: b}\n", "env"),
        ("    volumeMounts: {data: /data}\n", "volumeMounts"),
    ],
)
def test_a_list_written_as_a_map_is_refused_not_dropped(container: str, field: str) -> None:
    code, stderr = render(container=container)
    assert code == 1
    assert f"{field} must be a list, not a mapping" in stderr


def test_pod_lists_written_as_maps_are_refused() -> None:
    text = POD.replace("EXTRA_ANNOTATION", "").replace(
        "EXTRA_CONTAINER", "  volumes: {data: {emptyDir: {}}}\n  initContainers: {a: b}\n"
    )
    code, stderr = render(text=text)
    assert code == 1
    assert "initContainers must be a list, not a mapping" in stderr
    assert "volumes must be a list, not a mapping" in stderr


def test_a_template_that_does_not_parse_is_a_deploy_time_problem() -> None:
    code, stderr = render('    vault.hashicorp.com/agent-inject-template-a: "{{ if }}"\n')
    assert code == 1
    assert stderr.startswith(
        "-:10:5: vault.hashicorp.com/agent-inject-template-a: the template does not parse: "
        "template a:1:"
    )


def test_a_template_that_cannot_run_is_a_deploy_time_problem_too() -> None:
    """Go reports a wrong argument count only when the action runs; every pod start would."""
    template = '"{{ if .x }}{{ base64Decode }}{{ end }}"'
    code, stderr = render(f"    vault.hashicorp.com/agent-inject-template-a: {template}\n")
    assert code == 1
    assert "agent-inject-template-a: the template cannot run: template a:1:" in stderr


def test_an_agent_config_too_large_for_execve_is_refused() -> None:
    big = "x" * (MAX_ENV_STRING_BYTES // 2)
    annotations = "".join(
        f"    vault.hashicorp.com/agent-inject-template-{name}: {json.dumps(big)}\n"
        f"    vault.hashicorp.com/agent-inject-secret-{name}: secret/data/{name}\n"
        for name in ("b", "c")
    )
    code, stderr = render(annotations)
    assert code == 1
    assert f"Linux limits one environment string to {MAX_ENV_STRING_BYTES} bytes" in stderr
    small = annotations.replace(big, "x" * 1000)
    assert render(small)[0] == 0


def test_a_pod_template_shared_through_an_anchor_is_injected_once() -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a}
  spec:
    selector: {matchLabels: {app: a}}
    template: &shared
      metadata:
        labels: {app: a}
        annotations:
          vault.hashicorp.com/agent-inject: "true"
          vault.hashicorp.com/agent-run-as-sidecar: "false"
          vault.hashicorp.com/role: web
          vault.hashicorp.com/agent-inject-secret-a: secret/data/a
      spec:
        containers: [{name: web, image: web, command: [/web]}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: b}
  spec:
    selector: {matchLabels: {app: a}}
    template: *shared
"""
    result = CliRunner().invoke(
        main, ["render", "--vault-addr", "https://vault.example:8200"], input=text
    )
    assert result.exit_code == 0, result.stderr
    for item in yaml.safe_load(result.stdout)["items"]:
        spec = item["spec"]["template"]["spec"]
        assert [c["name"] for c in spec["initContainers"]] == ["vault-exec-install"]
        assert len(spec["containers"][0]["env"]) == 1


def test_a_line_break_in_a_name_cannot_split_a_problem_line() -> None:
    text = POD.replace("name: web\n  annotations", 'name: "web\\nforged: line"\n  annotations')
    code, stderr = render(
        text=text.replace("EXTRA_ANNOTATION", '    vault.hashicorp.com/rol: "x"\n').replace(
            "EXTRA_CONTAINER", ""
        )
    )
    assert code == 1
    assert len(stderr.splitlines()) == 1
    assert "(Pod/web\\nforged: line)" in stderr
