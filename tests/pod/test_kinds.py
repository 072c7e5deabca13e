"""Where pod templates are, per kind."""

from __future__ import annotations

from typing import Any

import pytest

from transformer.pod.kinds import (
    api_group,
    find_pod_templates,
    find_unsupported_pod_templates,
    is_helm_hook,
)


def template() -> dict[str, Any]:
    return {"metadata": {}, "spec": {"containers": [{"name": "app"}]}}


@pytest.mark.parametrize(
    ("api_version", "kind", "path"),
    [
        ("v1", "Pod", ()),
        ("v1", "PodTemplate", ("template",)),
        ("v1", "ReplicationController", ("spec", "template")),
        ("apps/v1", "Deployment", ("spec", "template")),
        ("apps/v1", "StatefulSet", ("spec", "template")),
        ("apps/v1", "DaemonSet", ("spec", "template")),
        ("apps/v1", "ReplicaSet", ("spec", "template")),
        ("batch/v1", "Job", ("spec", "template")),
        ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template")),
        ("argoproj.io/v1alpha1", "Rollout", ("spec", "template")),
    ],
)
def test_every_supported_kind(api_version: str, kind: str, path: tuple[str, ...]) -> None:
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    if path:
        node = obj
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = template()
    else:
        obj.update(template())
    found = list(find_pod_templates(obj))
    assert [f.path for f in found] == [path]
    assert found[0].resource is not None
    assert found[0].resource.kind == kind
    assert found[0].template["spec"]["containers"] == [{"name": "app"}]


def test_lookalikes_are_not_pod_templates() -> None:
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "spec": {"template": template()},
    }
    other_group = {
        "apiVersion": "example.com/v1",
        "kind": "Deployment",
        "spec": {"template": template()},
    }
    assert list(find_pod_templates(knative)) == []
    assert list(find_pod_templates(other_group)) == []
    assert list(find_pod_templates({"kind": "Deployment", "spec": {"template": template()}})) == []


def test_rollout_with_workload_ref_is_skipped() -> None:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "spec": {"workloadRef": {"kind": "Deployment", "name": "api"}, "template": template()},
    }
    assert list(find_pod_templates(rollout)) == []


def test_list_items() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": template()}}
    pod = {"apiVersion": "v1", "kind": "Pod", **template()}
    found = list(
        find_pod_templates(
            {"apiVersion": "v1", "kind": "List", "items": [{"kind": "x"}, deployment, pod]}
        )
    )
    assert [f.path for f in found] == [("items", 1, "spec", "template"), ("items", 2)]
    assert found[0].owner is deployment
    assert found[1].owner_path == ("items", 2)


def test_malformed_objects_yield_nothing() -> None:
    assert list(find_pod_templates("text")) == []
    assert (
        list(find_pod_templates({"apiVersion": "apps/v1", "kind": "Deployment", "spec": []})) == []
    )
    assert list(find_pod_templates({"apiVersion": "v1", "kind": "List", "items": "x"})) == []


def test_api_group_and_hooks() -> None:
    assert api_group("apps/v1") == "apps"
    assert api_group("v1") == ""
    assert api_group(None) is None
    assert is_helm_hook({"metadata": {"annotations": {"helm.sh/hook": "pre-install"}}})
    assert not is_helm_hook({"metadata": {"annotations": None}})


def test_unsupported_pod_templates() -> None:
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "spec": {"template": template()},
    }
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": template()}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"template": "x"}}
    found = list(
        find_unsupported_pod_templates(
            {"apiVersion": "v1", "kind": "List", "items": [knative, deployment, config_map]}
        )
    )
    assert [f.path for f in found] == [("items", 0, "spec", "template")]
