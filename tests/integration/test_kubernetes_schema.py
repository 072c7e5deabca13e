"""Rendered output is valid Kubernetes, and stays inside Pod Security "restricted".

Every successful golden case (fixtures/render/*/expected.yaml) and the post-rendered real
charts (the seed's api chart in Helm 3 and Helm 4 form, podinfo) are validated against the
Kubernetes OpenAPI schemas shipped by `kubernetes-validate`, strict variant (unknown fields
are errors), for the newest Kubernetes version it ships. Kinds without a built-in schema
(CRDs such as Argo Rollouts' `Rollout`) are listed in SCHEMALESS_KINDS and skipped on
purpose; any other kind without a schema fails the test.

The pod-security check runs tests/pod_security.py on every pod template, input and output:
the output breaks no rule the input did not already break, so an output passes "restricted"
whenever its input did; and the parts we add are hardened on their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from testkit.helm_render import files_from_source_stream, helm3_stream, helm4_stream, render_chart
from testkit.pod_security import violations
from transformer.agent.contract import INSTALL_TARGET_PATH
from transformer.options import options_from_mapping
from transformer.pipeline import render

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "render"
API_CHART = REPO / "fixtures" / "charts" / "api"
PODINFO = REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml"
VAULT_ADDR = "https://vault.example:8200"
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
# CRDs: no schema in kubernetes-validate (it ships only the built-in API groups).
SCHEMALESS_KINDS = frozenset({"Rollout"})
WORKLOAD_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "PodTemplate",
        "Rollout",
    }
)
INJECTED = "vault.hashicorp.com/agent-inject-status"


def golden_cases() -> list[Path]:
    return sorted(path.parent for path in GOLDEN.glob("*/expected.yaml"))


def chart_outputs() -> dict[str, tuple[str, str]]:
    """{case: (input stream, rendered output)} for the real charts."""
    options = options_from_mapping({"vaultAddr": VAULT_ADDR})
    podinfo = files_from_source_stream(PODINFO.read_text(encoding="utf-8"))
    inputs = {
        "api-helm3": render_chart(API_CHART, "demo", "apps"),
        "api-helm4": render_chart(API_CHART, "demo", "apps", helm4=True),
        "api-no-token": render_chart(
            API_CHART, "demo", "apps", {"serviceAccount": {"automountToken": False}}
        ),
        "podinfo-helm3": helm3_stream(podinfo),
        "podinfo-helm4": helm4_stream(podinfo),
    }
    outputs = {}
    for case, stream in inputs.items():
        output, problems = render(stream, options)
        assert output, [problem.format() for problem in problems]
        outputs[case] = (stream, output)
    return outputs


@pytest.fixture(scope="module")
def charts() -> dict[str, tuple[str, str]]:
    return chart_outputs()


def objects(stream: str) -> list[dict[str, Any]]:
    return [obj for obj in yaml.safe_load_all(stream) if obj is not None]


def flatten_lists(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if obj.get("kind") == "List":
        for item in obj.get("items") or []:
            yield from flatten_lists(item)
    else:
        yield obj


def pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod template or pod) for every kind the transformer rewrites."""
    for item in flatten_lists(obj):
        name = f"{item.get('kind')}/{(item.get('metadata') or {}).get('name')}"
        kind = item.get("kind")
        if kind == "Pod":
            yield name, item
        elif kind == "CronJob":
            yield name, item["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "PodTemplate":
            yield name, item["template"]
        elif kind in WORKLOAD_KINDS and "template" in (item.get("spec") or {}):
            yield name, item["spec"]["template"]


def is_injected(pod: dict[str, Any]) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return annotations.get(INJECTED) == "injected"


def validate_stream(stream: str) -> list[str]:
    """Schema errors of every object of the stream; unknown kinds must be declared schemaless."""
    errors = []
    for obj in objects(stream):
        for item in flatten_lists(obj) if obj.get("kind") == "List" else [obj]:
            try:
                kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.utils.SchemaNotFoundError:
                if item.get("kind") not in SCHEMALESS_KINDS:
                    errors.append(f"{item.get('kind')}: no schema and not declared schemaless")
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(part) for part in error.path)
                errors.append(f"{item.get('kind')}/{item['metadata']['name']}: {where}: "
                              f"{error.message}")  # fmt: skip
    return errors


def assert_added_parts_hardened(pod: dict[str, Any]) -> None:
    """The init container we add is restricted-clean on its own, whatever the pod says."""
    spec = pod["spec"]
    (init,) = [
        container
        for container in spec["initContainers"]
        if any(m["mountPath"] == INSTALL_TARGET_PATH for m in container.get("volumeMounts", []))
    ]
    alone = {"containers": [init], "volumes": spec.get("volumes", [])}
    assert violations(alone) == set(), init
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["resources"]["requests"]
    assert init["resources"]["limits"]


def test_the_schema_check_can_fail() -> None:
    bad = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
        "spec: {selector: {}, template: {spec: {containers: [{name: a, imagee: b}]}}}\n"
    )
    assert validate_stream(bad)
    assert validate_stream("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")


def test_the_pod_security_check_can_fail() -> None:
    spec = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "a", "securityContext": {"runAsNonRoot": True}}],
    }
    assert {rule for _, rule in violations(spec)} >= {
        "host namespace: hostNetwork",
        "allowPrivilegeEscalation != false",
        "capabilities: drop does not hold ALL",
        "seccomp: None",
    }


def rewritten_objects(case: Path) -> list[dict[str, Any]]:
    """The objects of a golden case's output that the render rewrote.

    Golden inputs also hold deliberately odd documents that must pass through untouched
    (a ConfigMap with YAML 1.1 integers, a Deployment with no selector, a Knative Service):
    they are the input's business, not ours, so only what we rewrote is validated.
    """
    inputs = [obj for path in case.glob("*.yaml") if path.name != "expected.yaml"
              for obj in objects(path.read_text(encoding="utf-8"))]  # fmt: skip
    output = objects((case / "expected.yaml").read_text(encoding="utf-8"))
    return [obj for obj in output if obj not in inputs]


def golden_with_rewrites() -> list[Path]:
    return [case for case in golden_cases() if rewritten_objects(case)]


def test_golden_cases_are_found() -> None:
    # Guard against the glob silently matching nothing (a moved fixtures directory).
    assert len(golden_with_rewrites()) >= 5


@pytest.mark.parametrize("case", golden_with_rewrites(), ids=lambda path: path.name)
def test_golden_output_is_valid_kubernetes(case: Path) -> None:
    rewritten = rewritten_objects(case)
    assert any(is_injected(pod) for obj in rewritten for _, pod in pod_specs(obj))
    errors = [error for obj in rewritten for error in validate_stream(yaml.safe_dump(obj))]
    assert errors == []


@pytest.mark.parametrize("case", golden_with_rewrites(), ids=lambda path: path.name)
def test_golden_output_adds_no_pod_security_violation(case: Path) -> None:
    before = {where: pod for path in case.glob("*.yaml") if path.name != "expected.yaml"
              for obj in objects(path.read_text(encoding="utf-8"))
              for where, pod in pod_specs(obj)}  # fmt: skip
    for obj in rewritten_objects(case):
        for where, pod in pod_specs(obj):
            assert violations(pod["spec"]) <= violations(before[where]["spec"]), where
            if is_injected(pod):
                assert_added_parts_hardened(pod)


@pytest.mark.parametrize(
    "case", ["api-helm3", "api-helm4", "api-no-token", "podinfo-helm3", "podinfo-helm4"]
)
def test_chart_output_is_valid_kubernetes(charts: dict[str, tuple[str, str]], case: str) -> None:
    _stream, output = charts[case]
    assert validate_stream(output) == []
    assert sum(is_injected(pod) for obj in objects(output) for _, pod in pod_specs(obj)) >= 1


@pytest.mark.parametrize("case", ["api-helm3", "api-helm4", "api-no-token"])
def test_restricted_chart_stays_restricted(charts: dict[str, tuple[str, str]], case: str) -> None:
    stream, output = charts[case]
    before = {where: pod for obj in objects(stream) for where, pod in pod_specs(obj)}
    after = {where: pod for obj in objects(output) for where, pod in pod_specs(obj)}
    assert before.keys() == after.keys()
    for where, pod in after.items():
        assert violations(before[where]["spec"]) == set(), where  # the chart is restricted
        assert violations(pod["spec"]) == set(), where
        assert_added_parts_hardened(pod)


def test_podinfo_adds_no_pod_security_violation(charts: dict[str, tuple[str, str]]) -> None:
    stream, output = charts["podinfo-helm4"]
    before = {where: pod for obj in objects(stream) for where, pod in pod_specs(obj)}
    for obj in objects(output):
        for where, pod in pod_specs(obj):
            assert violations(pod["spec"]) <= violations(before[where]["spec"]), where
            if is_injected(pod):
                assert_added_parts_hardened(pod)


RESTRICTED_POD_WITHOUT_TOKEN = """\
apiVersion: v1
kind: Pod
metadata:
  name: no-token
  annotations:
    vault.hashicorp.com/agent-inject: "true"
    vault.hashicorp.com/agent-run-as-sidecar: "false"
    vault.hashicorp.com/role: api
    vault.hashicorp.com/agent-inject-secret-app.env: secret/data/app
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: app
      image: example/app:1
      command: [/app]
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""


def test_projected_token_volume_keeps_a_restricted_pod_restricted() -> None:
    output, problems = render(
        RESTRICTED_POD_WITHOUT_TOKEN, options_from_mapping({"vaultAddr": VAULT_ADDR})
    )
    assert output, [problem.format() for problem in problems]
    assert validate_stream(output) == []
    (pod,) = objects(output)
    assert violations(pod["spec"]) == set()
    assert any("projected" in volume for volume in pod["spec"]["volumes"])
    assert_added_parts_hardened(pod)
