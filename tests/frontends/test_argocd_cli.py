"""The Argo CD plugin, run as argocd-cmp-server runs it.

The commands are read from argocd/plugin.yaml itself, run with the working directory
set to a copy of the Application's source and the environment Argo CD gives a plugin.
Helm charts are rendered by Helm's engine through testkit/helm_cli.py (a stand-in for
the helm binary, which cannot be installed here); kustomize is the real one in kubectl.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN = yaml.safe_load((REPO_ROOT / "argocd" / "plugin.yaml").read_text())
API_CHART = REPO_ROOT / "fixtures" / "charts" / "api"
BIN = Path(sys.executable).parent
VAULT_ADDR = "https://vault.example:8200"


def _argv(spec: dict[str, Any]) -> list[str]:
    # argocd-cmp-server: exec.Command(command[0], command[1:] + args...), no shell.
    return [*spec["command"], *spec.get("args", [])]


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        # The sidecar's own environment: PATH with vault-exec, platform defaults.
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "VAULT_EXEC_VAULT_ADDR": VAULT_ADDR,
        "VAULT_EXEC_ALLOWED_VAULT_ADDRS": "https://vault-dr.example:8200",
        # The Helm stand-in runs as a module of the checkout's testkit package.
        "VAULT_EXEC_HELM": f"{sys.executable} -m testkit.helm_cli",
        "PYTHONPATH": str(REPO_ROOT),
        "VAULT_EXEC_KUSTOMIZE": f"{BIN / 'kubectl'} kustomize",
        "HELM_CLI_ARGV_LOG": str(tmp_path / "helm-argv.jsonl"),
        # What the repo-server adds for the Application (Argo CD's CMP environment).
        "ARGOCD_APP_NAME": "argocd_shop",
        "ARGOCD_APP_NAMESPACE": "shop",
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_REVISION_SHORT": "0123456",
        "ARGOCD_APP_REVISION_SHORT_8": "01234567",
        "ARGOCD_APP_SOURCE_PATH": "charts/api",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example/apps.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.31.4",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1",
    }
    env.update(extra)
    return env


def _run(phase: str, source: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    spec = PLUGIN["spec"]["discover"]["find"] if phase == "discover" else PLUGIN["spec"][phase]
    return subprocess.run(
        _argv(spec), cwd=source, env=env, capture_output=True, text=True, timeout=300
    )


def _source(tmp_path: Path, chart: Path = API_CHART) -> Path:
    source = tmp_path / "repo" / "charts" / "api"
    shutil.copytree(chart, source)
    return source


def _documents(stream: str) -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(stream) if d is not None]
    assert all(isinstance(d, dict) and d.get("kind") for d in documents)
    return documents


def test_plugin_file_is_a_valid_v2_config_management_plugin() -> None:
    # cmpserver/plugin/config.go ValidatePluginConfig, plus the sidecar form's fields.
    assert PLUGIN["apiVersion"] == "argoproj.io/v1alpha1"
    assert PLUGIN["kind"] == "ConfigManagementPlugin"
    assert PLUGIN["metadata"]["name"] == "vault-exec"
    spec = PLUGIN["spec"]
    assert spec["generate"]["command"]
    assert set(spec) <= {
        "version", "init", "generate", "discover", "parameters", "preserveFileMode",
        "provideGitCreds",
    }  # fmt: skip
    names = {p["name"] for p in spec["parameters"]["static"]}
    from transformer.frontends.argocd import PARAMETERS

    assert names == set(PARAMETERS)


@pytest.mark.slow
def test_helm_chart_is_rendered_injected_and_printed(tmp_path: Path) -> None:
    source = _source(tmp_path)
    env = _environ(tmp_path)
    assert _run("discover", source, env).stdout.strip()
    init = _run("init", source, env)
    assert init.returncode == 0, init.stderr
    generated = _run("generate", source, env)
    assert generated.returncode == 0, generated.stderr
    documents = _documents(generated.stdout)
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["ConfigMap", "Deployment", "Job", "Service", "ServiceAccount"]
    assert "kind: List" not in generated.stdout
    for kind in ("Deployment", "Job"):  # the Job is a pre-install hook: injected too
        (workload,) = [d for d in documents if d["kind"] == kind]
        template = workload["spec"]["template"]
        assert template["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"] == (
            "injected"
        )
        command = template["spec"]["containers"][0]["command"]
        assert command[:4] == ["/vault-exec/vault-exec-agent", "run", "--", "/server"]
    (job,) = [d for d in documents if d["kind"] == "Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "shop-api"  # release: app name minus "argocd_"
    env_vars = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    config = json.loads(next(e["value"] for e in env_vars if e["name"] == "VAULT_EXEC_CONFIG"))
    assert config["vault"]["address"] == VAULT_ADDR
    # What the plugin asked helm for: Argo CD's release, namespace and capabilities.
    log = Path(env["HELM_CLI_ARGV_LOG"]).read_text().splitlines()
    (template_argv,) = [json.loads(line) for line in log]
    assert template_argv[:3] == ["template", "shop", "."]
    joined = " ".join(template_argv)
    assert "--namespace shop" in joined
    assert "--kube-version 1.31.4" in joined
    assert "--api-versions apps/v1" in joined


@pytest.mark.slow
def test_parameters_reach_helm_and_the_render(tmp_path: Path) -> None:
    source = _source(tmp_path)
    (source / "values-prod.yaml").write_text("deployment:\n  replicaCount: 5\n")
    params = [
        {"name": "values-files", "array": ["values-prod.yaml"]},
        {"name": "set", "map": {"service.port": "8080"}},
        {"name": "vault-addr", "string": "https://vault-dr.example:8200"},
    ]
    env = _environ(tmp_path, ARGOCD_APP_PARAMETERS=json.dumps(params))
    generated = _run("generate", source, env)
    assert generated.returncode == 0, generated.stderr
    documents = _documents(generated.stdout)
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 5
    (service,) = [d for d in documents if d["kind"] == "Service"]
    assert service["spec"]["ports"][0]["port"] == 8080
    assert "https://vault-dr.example:8200" in generated.stdout


@pytest.mark.slow
def test_a_bad_chart_prints_nothing_and_fails_with_the_problem(tmp_path: Path) -> None:
    source = _source(tmp_path)
    values = (source / "values.yaml").read_text()
    (source / "values.yaml").write_text(
        values.replace('vault.hashicorp.com/role: "api"', 'vault.hashicorp.com/rolee: "api"', 1)
    )
    generated = _run("generate", source, _environ(tmp_path))
    assert generated.returncode == 1
    assert generated.stdout == ""
    assert "unknown annotation vault.hashicorp.com/rolee" in generated.stderr
    assert "(Deployment/shop/shop-api)" in generated.stderr


@pytest.mark.slow
def test_a_chart_helm_cannot_render_and_a_foreign_vault_address_fail(tmp_path: Path) -> None:
    source = _source(tmp_path)
    (source / "templates" / "broken.yaml").write_text("kind: {{ .Values.nope.deeper }}\n")
    failed = _run("generate", source, _environ(tmp_path))
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert "helm template failed" in failed.stderr
    (source / "templates" / "broken.yaml").unlink()
    params = [{"name": "vault-addr", "string": "https://attacker.example"}]
    env = _environ(tmp_path, ARGOCD_APP_PARAMETERS=json.dumps(params))
    refused = _run("generate", source, env)
    assert refused.returncode == 2  # refused by the platform's settings, like a bad flag
    assert refused.stdout == ""
    assert refused.stderr.startswith(
        "vault-exec: plugin parameter vault-addr: https://attacker.example is not an allowed"
    )


@pytest.mark.slow
def test_kustomize_and_plain_directories(tmp_path: Path) -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
        '    vault.hashicorp.com/agent-inject: "true"\n'
        '    vault.hashicorp.com/agent-run-as-sidecar: "false"\n'
        "    vault.hashicorp.com/role: web\n"
        "    vault.hashicorp.com/agent-inject-secret-config.env: secret/data/web\n"
        "spec:\n  containers:\n  - name: web\n    image: x\n    command: [/web]\n"
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "pod.yaml").write_text(pod)
    (overlay / "kustomization.yaml").write_text("namespace: shop\nresources: [pod.yaml]\n")
    built = _run("generate", overlay, _environ(tmp_path))
    assert built.returncode == 0, built.stderr
    (document,) = _documents(built.stdout)
    assert document["metadata"]["namespace"] == "shop"
    assert document["spec"]["initContainers"][0]["name"] == "vault-exec-install"

    plain = tmp_path / "plain"
    plain.mkdir()
    items = yaml.safe_load(pod)
    a_list = {"apiVersion": "v1", "kind": "List", "items": [items]}
    (plain / "a-list.yaml").write_text(yaml.safe_dump(a_list))
    (plain / "b.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    (plain / "README.md").write_text("not a manifest\n")
    (plain / "c-notes.yaml").write_text("# comments only: no object, no problem\n")
    printed = _run("generate", plain, _environ(tmp_path))
    assert printed.returncode == 0, printed.stderr
    documents = _documents(printed.stdout)
    assert [d["kind"] for d in documents] == ["Pod", "ConfigMap"]  # the List is unpacked
    assert documents[0]["spec"]["containers"][0]["command"][0] == "/vault-exec/vault-exec-agent"


def test_empty_source_is_refused_rather_than_printing_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "only-comments.yaml").write_text("# nothing here\n")
    result = _run("generate", empty, _environ(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Kubernetes objects" in result.stderr


def test_discover_ignores_sources_without_vault_exec(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    result = _run("discover", other, _environ(tmp_path))
    assert result.returncode == 0
    assert result.stdout == ""  # Argo CD: a match needs exit 0 and non-empty stdout


@pytest.mark.slow
def test_install_component_adds_the_sidecar_and_the_plugin_config(tmp_path: Path) -> None:
    """argocd/ as a kustomize Component, built by the real kustomize. The repo-server
    Deployment here is a small stand-in for Argo CD's install.yaml (not fetchable here):
    just the volumes the sidecar mounts."""
    (tmp_path / "argocd").symlink_to(REPO_ROOT / "argocd")
    (tmp_path / "repo-server.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: argocd-repo-server}\n"
        "spec:\n  template:\n    spec:\n"
        "      containers: [{name: argocd-repo-server, image: quay.io/argoproj/argocd}]\n"
        "      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}]\n"
    )
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: argocd\nresources: [repo-server.yaml]\ncomponents: [argocd]\n"
    )
    built = subprocess.run(
        [
            str(BIN / "kubectl"),
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    by_kind = {d["kind"]: d for d in yaml.safe_load_all(built.stdout)}
    config_map = by_kind["ConfigMap"]
    assert config_map["metadata"]["name"] == "vault-exec-cmp-plugin"
    assert yaml.safe_load(config_map["data"]["plugin.yaml"]) == PLUGIN
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    (sidecar,) = [c for c in pod["containers"] if c["name"] == "vault-exec"]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/home/argocd/cmp-server/config/plugin.yaml"]["subPath"] == "plugin.yaml"
    assert {"/var/run/argocd", "/home/argocd/cmp-server/plugins", "/tmp"} <= set(mounts)
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in sidecar["volumeMounts"]} <= volumes
    assert {c["name"] for c in pod["containers"]} == {"argocd-repo-server", "vault-exec"}
