"""Problem formatting: text lines, JSON, GitHub workflow commands, SARIF 2.1.0."""

from __future__ import annotations

import json

import pytest

from transformer import __version__
from transformer import problems as rules
from transformer.output.formats import FORMATS, RULES, field_path, format_problems
from transformer.problems import Problem, Resource

DEPLOYMENT = Resource("apps/v1", "Deployment", "shop", "api")
ROLE_PATH = ("spec", "template", "metadata", "annotations", "vault.hashicorp.com/role")

ANNOTATION_PROBLEM = Problem(
    filename="deploy/api.yaml",
    line=12,
    col=9,
    message="unknown annotation vault.hashicorp.com/rol; did you mean vault.hashicorp.com/role?",
    resource=DEPLOYMENT,
    path=ROLE_PATH,
    rule=rules.ANNOTATION,
)
YAML_PROBLEM = Problem(
    filename="deploy/bad.yaml",
    line=3,
    col=1,
    message="invalid YAML: x",
    rule=rules.INVALID_MANIFEST,
)
PLATFORM_PROBLEM = Problem(
    filename="deploy/api.yaml",
    line=20,
    col=9,
    message="vault.hashicorp.com/service: https://evil.example is not an allowed Vault address",
    resource=DEPLOYMENT,
    path=(*ROLE_PATH[:-1], "vault.hashicorp.com/service"),
    rule=rules.PLATFORM,
)
WARNING = Problem(
    filename="-",
    line=0,
    col=0,
    message="a, b: 100% odd\nsecond line",
    resource=DEPLOYMENT,
    severity="warning",
    path=("spec", "template", "spec", "containers", 0, "command"),
)


def test_field_path_brackets_keys_with_dots_and_indexes() -> None:
    assert field_path(ROLE_PATH) == "spec.template.metadata.annotations[vault.hashicorp.com/role]"
    assert field_path(("spec", "containers", 1, "image")) == "spec.containers[1].image"
    assert field_path(()) == ""


def test_text_is_the_one_problem_line() -> None:
    assert format_problems([ANNOTATION_PROBLEM, WARNING], "text") == (
        "deploy/api.yaml:12:9: unknown annotation vault.hashicorp.com/rol; "
        "did you mean vault.hashicorp.com/role? (Deployment/shop/api)\n"
        "-: warning: a, b: 100% odd second line (Deployment/shop/api)\n"
    )
    assert format_problems([], "text") == ""


def test_every_rule_has_a_sarif_rule() -> None:
    assert tuple(RULES) == rules.RULES


def test_json_lists_every_field() -> None:
    entries = json.loads(format_problems([ANNOTATION_PROBLEM, YAML_PROBLEM], "json"))
    assert entries[0] == {
        "file": "deploy/api.yaml",
        "line": 12,
        "column": 9,
        "severity": "error",
        "message": ANNOTATION_PROBLEM.message,
        "rule": "annotation",
        "resource": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "api",
        },
        "field": "spec.template.metadata.annotations[vault.hashicorp.com/role]",
        "documentIndex": 0,
    }
    assert entries[1]["resource"] is None
    assert entries[1]["field"] is None


def test_github_workflow_commands_are_escaped() -> None:
    lines = format_problems([ANNOTATION_PROBLEM, WARNING], "github").splitlines()
    assert lines[0].startswith(
        "::error file=deploy/api.yaml,line=12,col=9,title=vault-exec annotation::"
    )
    assert lines[0].endswith("(Deployment/shop/api)")
    # stdin has no file to point at; data escapes %, CR and LF.
    assert lines[1] == (
        "::warning title=vault-exec injection::a, b: 100%25 odd%0Asecond line (Deployment/shop/api)"
    )
    assert len(lines) == 2


def test_sarif_is_a_valid_2_1_0_log() -> None:
    log = json.loads(format_problems([ANNOTATION_PROBLEM, YAML_PROBLEM, WARNING], "sarif"))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vault-exec"
    assert driver["version"] == __version__
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert set(rule_ids) == {"annotation", "invalid-manifest", "injection", "platform", "vault"}
    first, second, third = run["results"]
    assert first["ruleId"] == "annotation"
    assert rule_ids[first["ruleIndex"]] == "annotation"
    assert first["level"] == "error"
    assert first["message"]["text"].endswith("(Deployment/shop/api)")
    physical = first["locations"][0]["physicalLocation"]
    assert physical == {
        "artifactLocation": {"uri": "deploy/api.yaml"},
        "region": {"startLine": 12, "startColumn": 9},
    }
    assert second["ruleId"] == "invalid-manifest"
    assert third["level"] == "warning"
    assert "locations" not in third  # stdin, line 0: nothing to point at


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_handles_no_problems(fmt: str) -> None:
    out = format_problems([], fmt)
    if fmt in ("json",):
        assert json.loads(out) == []
    elif fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"] == []
    else:
        assert out == ""


def test_rule_ids_come_from_where_the_problem_was_found() -> None:
    """A platform refusal on an annotation is a platform problem, not an annotation one
    (the rule is the problem's own, never guessed from its field path)."""
    log = json.loads(format_problems([PLATFORM_PROBLEM, ANNOTATION_PROBLEM], "sarif"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["platform", "annotation"]
    assert json.loads(format_problems([PLATFORM_PROBLEM], "json"))[0]["rule"] == "platform"
