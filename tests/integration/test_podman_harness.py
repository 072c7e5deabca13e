"""The container tier's own harness (testkit/kube_pod.py, testkit/podman.py), without podman:
each bridge of a podman gap does what its doc says and nothing more."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit import kube_pod, podman


def _stream(*, automount: bool | None = None, projected: bool = False) -> list[Any]:
    pod_spec: dict[str, Any] = {
        "serviceAccountName": "api",
        "initContainers": [{"name": "install", "image": "agent", "ports": []}],
        "containers": [
            {
                "name": "app",
                "image": "app",
                "ports": [{"containerPort": 8080}],
                "volumeMounts": [{"name": "token", "mountPath": "/t"}] if projected else [],
            }
        ],
        "volumes": [{"name": "bundle", "emptyDir": {}}],
    }
    if projected:
        pod_spec["volumes"].append(
            {
                "name": "token",
                "projected": {
                    "sources": [{"serviceAccountToken": {"audience": "vault", "path": "jwt"}}]
                },
            }
        )
    account: dict[str, Any] = {"kind": "ServiceAccount", "metadata": {"name": "api"}}
    if automount is not None:
        account["automountServiceAccountToken"] = automount
    cronjob = {
        "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {"short": "x", "long": "y" * 64}},
                        "spec": pod_spec,
                    }
                }
            }
        },
    }
    config_map = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {}}
    other_namespace = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}}
    return [account, config_map, other_namespace, cronjob]


def _play(tmp_path: Path, docs: list[Any]) -> tuple[kube_pod.PlayablePod, list[Any]]:
    minted: list[str | None] = []

    def mint(audience: str | None) -> str:
        minted.append(audience)
        return f"token-for-{audience}"

    workload = kube_pod.find(docs, "CronJob")
    pod = kube_pod.playable_pod(docs, workload, name="p", workdir=tmp_path, mint_token=mint)
    assert pod.token_audiences == minted
    return pod, list(yaml.safe_load_all(pod.path.read_text()))


def test_the_cronjob_s_pod_template_becomes_one_pod_that_never_restarts(tmp_path: Path) -> None:
    pod, played = _play(tmp_path, _stream())
    assert [d["kind"] for d in played] == ["ConfigMap", "Pod"]  # only its namespace's ConfigMap
    (pod_doc,) = [d for d in played if d["kind"] == "Pod"]
    assert pod_doc["metadata"]["name"] == "p"
    assert pod_doc["metadata"]["namespace"] == "shop"
    assert pod_doc["spec"]["restartPolicy"] == "Never"
    assert all("ports" not in c for c in pod_doc["spec"]["containers"])
    assert pod.container_name("app") == "p-app"


def test_only_annotation_values_over_63_characters_are_dropped(tmp_path: Path) -> None:
    pod, played = _play(tmp_path, _stream())
    assert played[-1]["metadata"]["annotations"] == {
        "short": "x",
        kube_pod.PODMAN_INIT_TYPE: "always",  # keeps the init containers for inspection
    }
    assert pod.dropped_annotations == ["long"]


def test_the_automounted_token_is_mounted_by_host_path_where_the_kubelet_would(
    tmp_path: Path,
) -> None:
    pod, played = _play(tmp_path, _stream())
    assert pod.token_audiences == [None]
    spec = played[-1]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "kube-api-access"]
    assert Path(volume["hostPath"]["path"], "token").read_text() == "token-for-None"
    for container in [*spec["initContainers"], *spec["containers"]]:
        assert {
            "name": "kube-api-access",
            "mountPath": kube_pod.SA_TOKEN_DIR,
            "readOnly": True,
        } in container["volumeMounts"]


def test_no_token_when_the_service_account_turns_the_automount_off(tmp_path: Path) -> None:
    pod, played = _play(tmp_path, _stream(automount=False))
    assert pod.token_audiences == []
    assert "kube-api-access" not in {v["name"] for v in played[-1]["spec"]["volumes"]}


def test_a_projected_token_becomes_a_host_path_with_the_token_for_its_audience(
    tmp_path: Path,
) -> None:
    pod, played = _play(tmp_path, _stream(automount=False, projected=True))
    assert pod.token_audiences == ["vault"]
    (volume,) = [v for v in played[-1]["spec"]["volumes"] if v["name"] == "token"]
    assert "projected" not in volume
    assert Path(volume["hostPath"]["path"], "jwt").read_text() == "token-for-vault"


def test_what_podman_cannot_run_is_refused(tmp_path: Path) -> None:
    docs = _stream()
    spec = docs[-1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    spec["volumes"].append({"name": "img", "image": {"reference": "x"}})
    with pytest.raises(kube_pod.UnsupportedPod, match="no image volumes"):
        _play(tmp_path, docs)


def test_the_tier_says_why_podman_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"podman", "runc"}  # as if mmdebstrap were missing
    monkeypatch.setattr(shutil, "which", lambda tool: tool if tool in installed else None)
    monkeypatch.setattr(podman.os, "geteuid", lambda: 0)
    reason = podman.unavailable_reason()
    assert reason is not None
    assert "`mmdebstrap` is not installed" in reason
    assert "apt-get install podman runc mmdebstrap" in reason
    monkeypatch.setattr(podman.os, "geteuid", lambda: 1000)
    assert podman.unavailable_reason() == "the container tier runs podman as root"


def test_the_leak_search_finds_a_fragment_in_any_file_below_a_root(tmp_path: Path) -> None:
    (tmp_path / "layer" / "etc").mkdir(parents=True)
    (tmp_path / "layer" / "etc" / "app.env").write_bytes(b"DB=pa=ss\n")
    (tmp_path / "token").write_text("jwt")
    roots = [tmp_path / "layer", tmp_path / "token"]
    assert podman.files_holding(roots, [b"pa=ss"]) == [str(tmp_path / "layer/etc/app.env")]
    assert podman.files_holding(roots, [b"jwt"]) == [str(tmp_path / "token")]
    assert podman.files_holding(roots, [b"absent"]) == []
