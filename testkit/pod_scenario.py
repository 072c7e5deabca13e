"""The whole mission on the seed's `api` chart, as steps shared by `make demo` and the e2e test.

chart --(Helm's engine)--> stream --(vault-exec render)--> injected stream
--> the Deployment's pod: init container (the agent image's `install`) and app
container (`vault-exec-agent run -- /server`), run like kubelet would
(testkit/podsim.py) in distroless root filesystems (testkit/rootfs.py),
against a real OpenBao (testkit/openbao.py), with the app being the static probe
program (testkit/probe_app.c), which reports what it sees as JSON.

Nothing here knows what the transformer injects: it reads the rendered pod spec.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testkit import REPO as ROOT
from testkit import podsim, rootfs
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    BUNDLE_MOUNT_PATH,
    INSTALL_TARGET_PATH,
)
from transformer.options import DEFAULT_AGENT_IMAGE

CHART = ROOT / "fixtures" / "charts" / "api"

RELEASE = "api"
NAMESPACE = "spitikos"
SERVICE_ACCOUNT = "api"
ROLE = "api"  # the chart's vault.hashicorp.com/role
SECRET_MOUNT = "secret"
SECRET_PATH = "spitikos/api"  # the chart's secret/data/spitikos/api
POLICY = "spitikos-api"
APP_IMAGE = "ghcr.io/spitikos/api:1.4.2"  # the chart's image (appVersion)
APP_PATH = "/server"
POD_NAME = "api-7c9d8f6b5-x2x9z"
#: The audience of the kubelet's automounted token (the API server's).
AUTOMOUNT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
#: The audience of the token the transformer projects when the automount is off
#: (Options.token_audience's default).
PROJECTED_AUDIENCE = "vault"

#: Demo values that plain-text parsing of `KEY=VALUE` output would break.
DEMO_SECRETS = {
    "DB_PASSWORD": "pa=ss \"quoted\" 'single' $(whoami) `id` ${HOME} \\n;|&",
    "TLS_KEY": (
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAu2Vt\n"
        "BBBB==\n"
        "API_KEY=not-an-entry\n"
        "-----END PRIVATE KEY-----\n"
    ),
    "GREETING": "Grüße, 世界 — ünïcødé ✓",
    "API_KEY": "ak_live_1234567890",
}


def helm_template(*, automount_token: bool = True, helm4: bool = False) -> str:
    """The chart rendered by Helm's engine, as Helm 3 (or 4) hands it to a post-renderer.

    Helm 4 also post-renders hooks, so the chart's migration Job is in its stream.
    AUTOMOUNT_TOKEN false: the chart's ServiceAccount says
    `automountServiceAccountToken: false` (a common hardening), so the pod gets no
    token unless the transformer projects one.
    """
    from testkit.helm_render import render_chart  # testkit/helm_render.py

    rendered: str = render_chart(str(CHART), RELEASE, NAMESPACE, helm4=helm4)
    if not automount_token:
        marker = "kind: ServiceAccount\n"
        assert rendered.count(marker) == 1
        rendered = rendered.replace(marker, marker + "automountServiceAccountToken: false\n")
    return rendered


def vault_exec_render(stream: str, vault_addr: str, auth_type: str = "kubernetes") -> str:
    """`vault-exec render` as a post-renderer: the stream on stdin, the result on stdout."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "transformer",
            "render",
            "--vault-addr",
            vault_addr,
            "--auth-type",
            auth_type,
            "--auth-path",
            f"auth/{auth_type}",
        ],
        input=stream,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"vault-exec render failed:\n{result.stderr}")
    return result.stdout


def deployment(docs: list[Any], kind: str = "Deployment") -> Mapping[str, Any]:
    """The chart's (only) workload of KIND: its Deployment, or with Helm 4 its hook Job."""
    return next(d for d in docs if isinstance(d, dict) and d.get("kind") == kind)


def configure_vault(client: Any, secrets: Mapping[str, str]) -> None:
    """What the platform team does once: the secret, a policy, role `api` on both auth methods.

    CLIENT is an hvac client with a root token on a server that has `auth/jwt`
    (trusting the test issuer's key) and `auth/kubernetes` (TokenReview test
    double) enabled, as testkit/openbao.py provisions them.
    """
    client.secrets.kv.v2.create_or_update_secret(
        path=SECRET_PATH, secret=dict(secrets), mount_point=SECRET_MOUNT
    )
    client.sys.create_or_update_policy(
        POLICY, f'path "{SECRET_MOUNT}/data/{SECRET_PATH}" {{ capabilities = ["read"] }}'
    )
    subject = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    client.write_data(
        f"auth/jwt/role/{ROLE}",
        data={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": subject,
            "bound_audiences": [AUTOMOUNT_AUDIENCE, PROJECTED_AUDIENCE],
            "token_policies": [POLICY],
            "token_ttl": "10m",
        },
    )
    client.write_data(
        f"auth/kubernetes/role/{ROLE}",
        data={
            "bound_service_account_names": [SERVICE_ACCOUNT],
            "bound_service_account_namespaces": [NAMESPACE],
            "token_policies": [POLICY],
            "token_ttl": "10m",
        },
    )


def images(workdir: Path, bundle: Path, probe: Path) -> dict[str, podsim.Image]:
    """The two images the pod uses, as root filesystems: the app's and the agent's."""
    app_root = rootfs.make_app_rootfs(workdir / "image-api", probe, app_path=APP_PATH)
    agent_root = rootfs.make_agent_image_rootfs(workdir / "image-agent", bundle, BUNDLE_MOUNT_PATH)
    return {
        # distroless/static:nonroot-like: USER 65532, only PATH in its config
        APP_IMAGE: podsim.Image(
            app_root,
            user=(rootfs.NONROOT_UID, rootfs.NONROOT_UID),
            env={"PATH": rootfs.DISTROLESS_PATH},
            entrypoint=[APP_PATH],
        ),
        # the Dockerfile's final stage: FROM scratch, USER 65532:65532
        DEFAULT_AGENT_IMAGE: podsim.Image(
            agent_root,
            user=(rootfs.NONROOT_UID, rootfs.NONROOT_UID),
            entrypoint=[AGENT_EXECUTABLE],
            cmd=["install", INSTALL_TARGET_PATH],
        ),
    }


@dataclass
class PodRun:
    pod: podsim.Pod
    init: list[subprocess.CompletedProcess[bytes]]
    app: rootfs.Container
    result: subprocess.CompletedProcess[bytes] | None

    @property
    def report(self) -> dict[str, Any]:
        """What the probe app printed (pid, argv, environ, ...)."""
        assert self.result is not None
        report: dict[str, Any] = json.loads(self.result.stdout.decode().splitlines()[0])
        return report

    @property
    def app_env(self) -> dict[str, str]:
        return dict(entry.split("=", 1) for entry in self.report["environ"])


def run_pod(
    rendered: str,
    images: Mapping[str, podsim.Image],
    mint_token: Callable[[str | None], str],
    workdir: Path,
    kind: str = "Deployment",
) -> PodRun:
    """Start a pod of the rendered workload of KIND: init containers, then the first app
    container."""
    docs = list(yaml.safe_load_all(rendered))
    workload = deployment(docs, kind)
    pod = podsim.Pod(
        docs=docs,
        template=workload["spec"]["template"],
        namespace=workload["metadata"].get("namespace", NAMESPACE),
        name=POD_NAME,
        images=images,
        mint_token=mint_token,
        workdir=workdir,
    )
    init = pod.run_init_containers()
    app = pod.container(pod.app_container())
    if any(r.returncode != 0 for r in init):
        return PodRun(pod, init, app, None)
    return PodRun(pod, init, app, rootfs.run(app))
