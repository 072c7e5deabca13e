"""The product's proof, end to end, in a root filesystem with no shell and no libc.

The seed's `api` chart -> Helm's engine -> `vault-exec render` -> the rendered
Deployment's pod, run as its spec says (testkit/podsim.py stands in for
kubelet and the container runtime, which cannot run here): the init container
runs the agent image's own `install` into the emptyDir, then the app container
(`vault-exec-agent run -- /server`, read-only root, UID 65532, the emptyDir
mounted read-only at the bundle's path) runs in new PID and mount namespaces
against a real OpenBao, logging in with a service-account token signed by a key
the test generated (JWT auth), or checked by the TokenReview test double
(kubernetes auth). The app is a static probe program that reports what it sees.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit import pod_scenario, rootfs
from testkit.distroless import ensure_bundle, probe_app
from testkit.openbao import TestVault
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_TARGET_PATH,
)

pytestmark = pytest.mark.slow

NONCE = os.urandom(6).hex()
#: The demo's awkward values, each made unique to this run so that finding one
#: on disk cannot be a coincidence.
SECRETS = {
    name: value.replace("-----BEGIN", f"-----BEGIN {NONCE}") if name == "TLS_KEY" else value + NONCE
    for name, value in pod_scenario.DEMO_SECRETS.items()
}


@pytest.fixture(scope="module")
def vault(test_vault: TestVault) -> TestVault:
    pod_scenario.configure_vault(test_vault.client(), SECRETS)
    return test_vault


@dataclass
class E2E:
    run: pod_scenario.PodRun
    rendered: str
    workdir: Path
    #: Vault's live token accessors before and right after the pod started.
    accessors_before: set[str]
    accessors_after: set[str]


@pytest.fixture(
    scope="module",
    params=[
        ("kubernetes", "automounted token"),
        ("jwt", "automounted token"),
        ("jwt", "projected token"),  # the ServiceAccount turns the automount off
    ],
    ids=lambda p: "-".join(p).replace(" ", "-"),
)
def e2e(
    request: pytest.FixtureRequest, vault: TestVault, tmp_path_factory: pytest.TempPathFactory
) -> E2E:
    auth_type, token_kind = request.param
    workdir = tmp_path_factory.mktemp(f"pod-{auth_type}")
    stream = pod_scenario.helm_template(automount_token=token_kind == "automounted token")
    rendered = pod_scenario.vault_exec_render(stream, vault.address, auth_type)
    images = pod_scenario.images(workdir, ensure_bundle(), probe_app())
    audiences: list[str] = []

    def mint(audience: str | None) -> str:  # what the API server signs for the kubelet
        audiences.append(audience or pod_scenario.AUTOMOUNT_AUDIENCE)
        return vault.issuer.mint(
            pod_scenario.NAMESPACE, pod_scenario.SERVICE_ACCOUNT, audiences[-1]
        )

    before = vault.bao.token_accessors()
    run = pod_scenario.run_pod(rendered, images, mint, workdir / "pod")
    expected = (
        pod_scenario.AUTOMOUNT_AUDIENCE
        if token_kind == "automounted token"
        else pod_scenario.PROJECTED_AUDIENCE
    )
    assert set(audiences) == {expected}  # the pod had exactly the token this variant is about
    return E2E(run, rendered, workdir, before, vault.bao.token_accessors())


def _secret_fragments() -> Iterator[bytes]:
    for value in SECRETS.values():
        yield value.encode()
        for line in value.splitlines():
            if NONCE in line:
                yield line.encode()


def _files_holding_a_secret(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in rootfs.walk_files(root):
            data = path.read_bytes()
            if any(fragment in data for fragment in _secret_fragments()):
                found.append(str(path))
    return found


def test_app_is_pid_1_alone_with_its_argv_and_every_secret_byte_exact(
    e2e: E2E,
) -> None:
    run = e2e.run
    assert [r.returncode for r in run.init] == [0]
    assert run.result is not None
    assert run.result.returncode == 0, run.result.stderr.decode()
    report = run.report
    assert report["pid"] == 1
    assert report["pids"] == [1]  # the only process in the pod's PID namespace
    assert report["fds"] == [0, 1, 2]  # no agent descriptor leaked
    # the chart's original command (agent-exec-command "/server"), no args
    assert report["argv"] == [pod_scenario.APP_PATH]
    env = run.app_env
    for name, value in SECRETS.items():
        assert env[name] == value, name  # byte-exact: PEM lines, =, quotes, $(), backticks, UTF-8


def test_app_keeps_the_container_env_and_gets_nothing_of_the_agent(
    e2e: E2E,
) -> None:
    run = e2e.run
    container_env = dict(run.app.env)
    assert CONFIG_ENV_VAR in container_env  # the spec gave it to the agent...
    expected = {k: v for k, v in container_env.items() if k != CONFIG_ENV_VAR} | SECRETS
    assert run.app_env == expected  # ...and nothing else of the agent reaches the app
    assert {"POD_NAME", "LOG_LEVEL", "LISTEN_ADDR", "HOSTNAME", "PATH"} <= run.app_env.keys()
    assert run.app_env["LOG_LEVEL"] == "info"  # from the chart's ConfigMap
    assert not [
        k
        for k in run.app_env
        if k.startswith(("_PYI_", "VAULT_")) or k in ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG")
    ]


def test_agent_token_is_revoked_and_no_secret_touches_a_disk(e2e: E2E) -> None:
    run = e2e.run
    assert run.result is not None
    assert run.result.returncode == 0
    assert e2e.accessors_after == e2e.accessors_before  # the login token is gone
    # every filesystem the pod had: both images, the emptyDir, the token dir
    assert _files_holding_a_secret([e2e.workdir]) == []
    # and not in the manifests, nor in what the agent logged
    assert not any(f in e2e.rendered.encode() for f in _secret_fragments())
    assert not any(f in run.result.stderr for f in _secret_fragments())


def test_pod_runs_as_non_root_with_read_only_roots(
    e2e: E2E,
) -> None:
    run = e2e.run
    assert run.app.uid == rootfs.NONROOT_UID
    assert run.app.read_only_root
    assert (run.report["uid"], run.report["gid"]) == (rootfs.NONROOT_UID, rootfs.NONROOT_UID)
    assert run.report["root_writable"] is False
    init = run.pod.container(run.pod.spec["initContainers"][0])
    assert init.uid == rootfs.NONROOT_UID
    assert init.read_only_root


def test_the_spec_is_run_as_written(e2e: E2E) -> None:
    run = e2e.run
    spec: Mapping[str, Any] = pod_scenario.deployment(list(yaml.safe_load_all(e2e.rendered)))[
        "spec"
    ]["template"]["spec"]
    (init,) = spec["initContainers"]
    app = spec["containers"][0]
    assert init["command"] == [AGENT_EXECUTABLE, "install", INSTALL_TARGET_PATH]
    assert list(run.app.argv) == app["command"] + app.get("args", [])
    assert list(run.app.argv)[:3] == [AGENT_EXECUTABLE, "run", "--"]
    mounts = {m.target: m for m in run.app.mounts}
    assert mounts[BUNDLE_MOUNT_PATH].read_only


def test_root_filesystems_hold_no_shell_and_no_libc_outside_the_bundle(e2e: E2E) -> None:
    run = e2e.run
    tmp_path = e2e.workdir
    assert run.report["has_sh"] is False
    for image in ("image-api", "image-agent"):
        names = {p.name for p in rootfs.walk_files(tmp_path / image)}
        bundle_dir = tmp_path / image / BUNDLE_MOUNT_PATH.lstrip("/")
        outside = {
            p.name for p in rootfs.walk_files(tmp_path / image) if bundle_dir not in p.parents
        }
        assert not {"sh", "bash", "ash", "dash", "busybox"} & names
        assert not [n for n in outside if n.startswith(("libc.so", "ld-linux", "libpython"))]


def test_helm4_hook_job_runs_its_own_command_and_args_after_the_agent(
    vault: TestVault, tmp_path: Path
) -> None:
    # Helm 4 post-renders hooks: the chart's migration Job (command ["/server", "migrate"],
    # args ["--wait-for-db=30s"], no agent-exec-command annotation) is injected too.
    rendered = pod_scenario.vault_exec_render(
        pod_scenario.helm_template(helm4=True), vault.address, "jwt"
    )
    images = pod_scenario.images(tmp_path, ensure_bundle(), probe_app())

    def mint(audience: str | None) -> str:
        return vault.issuer.mint(
            pod_scenario.NAMESPACE,
            pod_scenario.SERVICE_ACCOUNT,
            audience or pod_scenario.AUTOMOUNT_AUDIENCE,
        )

    run = pod_scenario.run_pod(rendered, images, mint, tmp_path / "pod", kind="Job")
    assert [r.returncode for r in run.init] == [0]
    assert run.result is not None
    assert run.result.returncode == 0, run.result.stderr.decode()
    assert run.report["pid"] == 1
    assert run.report["pids"] == [1]
    assert run.report["argv"] == ["/server", "migrate", "--wait-for-db=30s"]
    assert run.app_env == {k: v for k, v in run.app.env.items() if k != CONFIG_ENV_VAR} | SECRETS
