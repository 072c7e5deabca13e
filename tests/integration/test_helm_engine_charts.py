"""Real charts, rendered by Helm's engine, post-rendered by the real `vault-exec render` CLI.

The seed's `api` chart (fixtures/charts/api) and the stored podinfo output
(fixtures/external) are turned into exactly what Helm 3 and Helm 4 pipe into a
post-renderer (testkit/helm_render.py), then fed to the installed console script in a
subprocess, the way Helm runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from testkit.console_scripts import console_script
from testkit.helm_render import (
    FILENAME_ANNOTATION,
    files_from_source_stream,
    helm3_stream,
    helm4_stream,
    render_chart,
)
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_TARGET_PATH,
)

REPO = Path(__file__).resolve().parents[2]
API_CHART = REPO / "fixtures" / "charts" / "api"
PODINFO = REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml"
CONFIG_SCHEMA = REPO / "schemas" / "agent-config.schema.json"
VAULT_ADDR = "https://vault.platform.example:8200"
INJECTED = "vault.hashicorp.com/agent-inject-status"
# A document starts at a line that is exactly `---` (Helm writes no `--- ` variants).
_DOCUMENT_START = re.compile(r"^---\n", re.MULTILINE)


def post_render(stream: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VAULT")}
    return subprocess.run(
        [console_script("vault-exec"), "render", "--vault-addr", VAULT_ADDR],
        input=stream,
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )


def post_render_ok(stream: str) -> str:
    result = post_render(stream)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    return result.stdout


def documents_of(stream: str) -> list[str]:
    """Each document's text (with its `# Source:` comment, without the `---` line)."""
    return [piece for piece in _DOCUMENT_START.split(stream) if piece.strip()]


def parsed(document: str) -> dict[str, Any]:
    loaded = yaml.safe_load(document)
    assert isinstance(loaded, dict)
    return loaded


def pod_templates(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = obj.get("kind")
    if kind == "Pod":
        yield obj
    elif kind == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]
    elif kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        yield obj["spec"]["template"]


def opts_in(obj: dict[str, Any]) -> bool:
    for template in pod_templates(obj):
        annotations = template.get("metadata", {}).get("annotations") or {}
        if annotations.get("vault.hashicorp.com/agent-inject") == "true":
            return True
    return False


def assert_pod_contract(
    before: dict[str, Any], after: dict[str, Any], container: str, command: list[str]
) -> dict[str, Any]:
    """The pod contract (docs/annotations.md) on one opted-in workload; returns its config."""
    (template_before,) = pod_templates(before)
    (template,) = pod_templates(after)
    spec, spec_before = template["spec"], template_before["spec"]
    annotations = template["metadata"]["annotations"]
    assert annotations[INJECTED] == "injected"
    assert {k: v for k, v in annotations.items() if k != INJECTED} == (
        template_before["metadata"]["annotations"]
    )

    # The init container comes first and runs the agent image's own `install`, no shell.
    init = spec["initContainers"][0]
    assert init["command"][0] == AGENT_EXECUTABLE
    assert init["command"][1] == "install"
    assert not {"sh", "/bin/sh", "bash", "/bin/bash", "-c"} & set(init["command"])
    assert "args" not in init or "-c" not in init["args"]
    (mount,) = [m for m in init["volumeMounts"] if m["mountPath"] == INSTALL_TARGET_PATH]
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert "emptyDir" in volume
    assert (volume["emptyDir"] or {}).get("medium") != "Memory"  # the bundle is not a secret
    assert init["resources"]["requests"]
    assert init["resources"]["limits"]
    hardening = init["securityContext"]
    assert hardening["runAsNonRoot"] is True
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    assert hardening["seccompProfile"]["type"] == "RuntimeDefault"

    app = next(c for c in spec["containers"] if c["name"] == container)
    app_before = next(c for c in spec_before["containers"] if c["name"] == container)
    assert app["command"] == [AGENT_EXECUTABLE, "run", "--", *command]
    assert app.get("args") == app_before.get("args")
    (agent_mount,) = [m for m in app["volumeMounts"] if m["name"] == mount["name"]]
    assert agent_mount == {"name": mount["name"], "mountPath": BUNDLE_MOUNT_PATH, "readOnly": True}
    # The container's own env stays, in order, and one env var carries the agent config.
    env_names = [e["name"] for e in app["env"]]
    assert env_names[: len(app_before.get("env", []))] == [
        e["name"] for e in app_before.get("env", [])
    ]
    (config_var,) = [e for e in app["env"] if e["name"] == CONFIG_ENV_VAR]
    config: dict[str, Any] = json.loads(config_var["value"])
    jsonschema.validate(config, json.loads(CONFIG_SCHEMA.read_text(encoding="utf-8")))
    assert config["vault"]["address"] == VAULT_ADDR
    # Everything else of the container is left as it was.
    untouched = {"command", "env", "volumeMounts"}
    assert {k: v for k, v in app.items() if k not in untouched} == {
        k: v for k, v in app_before.items() if k not in untouched
    }
    return config


def assert_untouched_documents_identical(stream: str, output: str) -> list[tuple[str, str]]:
    """Every input document that does not opt in is in the output byte for byte.

    Returns the (input, output) pairs of the documents that opt in.
    """
    inputs, outputs = documents_of(stream), documents_of(output)
    assert len(outputs) == len(inputs)
    changed = []
    for document_in, document_out in zip(inputs, outputs, strict=True):
        if opts_in(parsed(document_in)):
            changed.append((document_in, document_out))
        else:
            assert document_out == document_in
    return changed


def source_comment(document: str) -> str | None:
    match = re.match(r"# Source: (\S+)\n", document)
    return match[1] if match else None


# --- the seed's api chart --------------------------------------------------------------------


# The api_helm3 / api_helm4 fixtures (the chart's Helm 3 / Helm 4 streams): tests/conftest.py.


def test_api_chart_helm3_deployment_is_injected_per_the_pod_contract(api_helm3: str) -> None:
    output = post_render_ok(api_helm3)
    ((before, after),) = assert_untouched_documents_identical(api_helm3, output)
    assert source_comment(after) == "api/templates/deployment.yaml"
    config = assert_pod_contract(parsed(before), parsed(after), "api", ["/server"])
    assert config["auth"]["role"] == "api"
    (template,) = config["templates"]
    assert template["name"] == "config.env"
    assert template["path"] == "secret/data/spitikos/api"
    assert template["template"].startswith('{{- with secret "secret/data/spitikos/api" -}}')


def test_api_chart_helm3_keeps_every_source_comment_in_order(api_helm3: str) -> None:
    output = post_render_ok(api_helm3)
    assert [source_comment(d) for d in documents_of(output)] == [
        source_comment(d) for d in documents_of(api_helm3)
    ]
    assert output.startswith("---\n# Source: api/templates/serviceaccount.yaml\n")


def test_api_chart_helm4_injects_the_hook_job_and_keeps_filenames(api_helm4: str) -> None:
    output = post_render_ok(api_helm4)
    changed = assert_untouched_documents_identical(api_helm4, output)
    assert [parsed(after)["kind"] for _, after in changed] == ["Deployment", "Job"]
    for document_in, document_out in zip(
        documents_of(api_helm4), documents_of(output), strict=True
    ):
        name = parsed(document_in)["metadata"]["annotations"][FILENAME_ANNOTATION]
        assert parsed(document_out)["metadata"]["annotations"][FILENAME_ANNOTATION] == name
    (deployment_in, deployment_out), (job_in, job_out) = changed
    assert_pod_contract(parsed(deployment_in), parsed(deployment_out), "api", ["/server"])
    # The hook has its own command and args: the command is wrapped, args left alone.
    job_config = assert_pod_contract(
        parsed(job_in), parsed(job_out), "migrate", ["/server", "migrate"]
    )
    assert parsed(job_out)["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--wait-for-db=30s"
    ]
    assert parsed(job_out)["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    # A secret with no template gets the default one: every key of the KV v2 secret.
    (template,) = job_config["templates"]
    assert template["path"] == "secret/data/spitikos/api"
    assert ".Data.data" in template["template"]


@pytest.mark.parametrize("helm4", [False, True], ids=["helm3", "helm4"])
def test_api_chart_post_render_is_idempotent(helm4: bool) -> None:
    once = post_render_ok(render_chart(API_CHART, "demo", "apps", helm4=helm4))
    assert post_render_ok(once) == once


def test_api_chart_with_hooks_skipped_leaves_the_job_alone(api_helm4: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VAULT")}
    result = subprocess.run(
        [console_script("vault-exec"), "render", "--vault-addr", VAULT_ADDR, "--skip-hooks"],
        input=api_helm4, capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for document_in, document_out in zip(
        documents_of(api_helm4), documents_of(result.stdout), strict=True
    ):
        if parsed(document_in)["kind"] == "Job":
            assert document_out == document_in
        if parsed(document_in)["kind"] == "Deployment":
            assert document_out != document_in


# --- podinfo: a real public chart's output ---------------------------------------------------


@pytest.fixture(scope="module")
def podinfo_files() -> dict[str, str]:
    return files_from_source_stream(PODINFO.read_text(encoding="utf-8"))


@pytest.mark.parametrize("helm4", [False, True], ids=["helm3", "helm4"])
def test_podinfo_deployment_is_injected_and_the_rest_untouched(
    podinfo_files: dict[str, str], helm4: bool
) -> None:
    stream = helm4_stream(podinfo_files) if helm4 else helm3_stream(podinfo_files)
    output = post_render_ok(stream)
    ((before, after),) = assert_untouched_documents_identical(stream, output)
    assert parsed(after)["metadata"]["name"] == "demo-podinfo"
    original_command = parsed(before)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert original_command[0] == "./podinfo"
    config = assert_pod_contract(parsed(before), parsed(after), "podinfo", original_command)
    assert config["auth"]["role"] == "podinfo"
    if helm4:
        annotations = parsed(after)["metadata"]["annotations"]
        assert annotations[FILENAME_ANNOTATION] == "podinfo/templates/deployment.yaml"
    else:
        assert source_comment(after) == "podinfo/templates/deployment.yaml"
    assert post_render_ok(output) == output


def test_podinfo_stored_output_post_renders_as_is() -> None:
    """The stored file itself (Source headers, test hooks included) is a valid input too."""
    stream = PODINFO.read_text(encoding="utf-8")
    output = post_render_ok(stream)
    ((_, after),) = assert_untouched_documents_identical(stream, output)
    assert parsed(after)["spec"]["template"]["metadata"]["annotations"][INJECTED] == "injected"


def test_api_chart_without_token_automount_gets_a_projected_token() -> None:
    """A service account that mounts no token (set in the chart) makes vault-exec add one."""
    stream = render_chart(API_CHART, "demo", "apps", {"serviceAccount": {"automountToken": False}})
    output = post_render_ok(stream)
    ((before, after),) = assert_untouched_documents_identical(stream, output)
    config = assert_pod_contract(parsed(before), parsed(after), "api", ["/server"])
    spec = parsed(after)["spec"]["template"]["spec"]
    (token_volume,) = [v for v in spec["volumes"] if "projected" in v]
    (source,) = token_volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "vault"
    # Mounted only where the agent runs: the app container, not the install init container.
    (app,) = spec["containers"]
    (token_mount,) = [m for m in app["volumeMounts"] if m["name"] == token_volume["name"]]
    assert config["auth"]["token_path"].startswith(token_mount["mountPath"])
    assert all(m["name"] != token_volume["name"] for m in spec["initContainers"][0]["volumeMounts"])
    assert post_render_ok(output) == output
