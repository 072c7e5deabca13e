"""`make demo`: the whole mission on the seed's `api` chart, start to finish.

1. start a real OpenBao dev server (testkit/openbao.py: JWT + kubernetes auth, the
   latter's TokenReview answered by a loopback test double) and put the chart's
   secret in it (demo values);
2. render fixtures/charts/api, post-render the stream with `vault-exec render`, show
   the injected Deployment;
3. run the pod as the rendered spec says. Where podman can run (testkit/podman.py):
   the chart rendered by the real Helm 3 (testkit/helm_bin.py), the agent image built
   by `podman build` from the Dockerfile, the app a FROM scratch image, the pod run by
   `podman kube play --network host`. Elsewhere, as fallback: Helm's engine
   (testkit/helm_render.py) and root filesystems with no shell and no libc, in new PID
   and mount namespaces (`unshare`): the init container (the agent image's
   `install`), then the app container;
4. show what the app sees: PID 1, alone, its argv, its environment with the
   secrets; and that the agent's Vault token is gone. Then stop OpenBao.

Needs root (podman, or unshare and mount), gcc, and for the fallback the bundle
(`make agent-bundle`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from testkit import REPO as ROOT
from testkit import helm_bin, pod_scenario, podman, podsim, rootfs
from testkit.openbao import TestVault, running_test_vault
from transformer import __version__
from transformer.agent.contract import AGENT_EXECUTABLE_NAME

BUNDLE = ROOT / "dist" / AGENT_EXECUTABLE_NAME
AGENT_IMAGE = f"{podman.TEST_REGISTRY}/vault-exec-agent:{__version__}"
APP_IMAGE = f"{podman.TEST_REGISTRY}/api:probe"


def heading(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def deployment_text(stream: str) -> str:
    """The Deployment's document as rendered (text, comments and all)."""
    for document in stream.split("\n---"):
        if "\nkind: Deployment" in "\n" + document.lstrip("-\n"):
            return document.strip("\n-")
    raise SystemExit("demo: no Deployment in the rendered stream")


def main() -> int:
    if os.geteuid() != 0:
        print("demo: needs root (podman, or new PID/mount namespaces)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="vault-exec-demo-") as tmp:
        work = Path(tmp)
        engine = container_engine(work)
        if engine is None and not (BUNDLE / AGENT_EXECUTABLE_NAME).exists():
            print("demo: no agent bundle: run `make agent-bundle`", file=sys.stderr)
            return 1
        heading("1. a real OpenBao dev server")
        with running_test_vault(work / "openbao") as vault:
            print(f"OpenBao at {vault.address}; auth/jwt and auth/kubernetes enabled")
            pod_scenario.configure_vault(vault.client(), pod_scenario.DEMO_SECRETS)
            path = f"{pod_scenario.SECRET_MOUNT}/data/{pod_scenario.SECRET_PATH}"
            print(f"wrote {path} with keys {sorted(pod_scenario.DEMO_SECRETS)} (demo values)")
            print(
                f"role {pod_scenario.ROLE!r} bound to service account "
                f"{pod_scenario.NAMESPACE}/{pod_scenario.SERVICE_ACCOUNT}"
            )
            status = on_podman(engine, vault, work) if engine else on_unshare(vault, work)
            if status:
                return status
        heading("OpenBao stopped; done")
    return 0


def container_engine(work: Path) -> podman.Podman | None:
    """podman when it can run here; None (and why) for the unshare fallback."""
    reason = podman.unavailable_reason()
    engine = None
    if reason is None:
        engine = podman.Podman(work / "podman")
        reason = engine.works()
    if reason is not None:
        print(f"(no container engine: {reason}; the pod runs under unshare instead)")
        return None
    return engine


def on_podman(engine: podman.Podman, vault: TestVault, work: Path) -> int:
    """Steps 2-4 on the real engine: the real Helm 3, podman build, podman kube play."""
    heading("2. helm template (the real Helm 3) --post-renderer vault-exec")
    helm = helm_bin.helm(helm_bin.HELM3, work / "helm-home")
    repository, tag = APP_IMAGE.rsplit(":", 1)
    rendered = helm.check(
        "template", pod_scenario.RELEASE, str(pod_scenario.CHART), "-n", pod_scenario.NAMESPACE,
        f"--set=image.repository={repository}", f"--set=image.tag={tag}",
        "--post-renderer", "vault-exec", "--post-renderer-args", "render",
        f"--post-renderer-args=--vault-addr={vault.address}",
        env={"VAULT_EXEC_AGENT_IMAGE": AGENT_IMAGE},
    )  # fmt: skip
    print(f"chart {pod_scenario.CHART.relative_to(ROOT)}: the injected Deployment:\n")
    print(deployment_text(rendered))

    heading("3. the pod on podman: images built here, then `podman kube play --network host`")
    engine.debian_base()  # the Dockerfile's build stage starts from it; nothing is pulled
    print(f"podman build -t {AGENT_IMAGE} .   (the repository's Dockerfile)", flush=True)
    engine.build(AGENT_IMAGE, ROOT)
    probe = rootfs.build_probe_app(work / "probe")
    engine.scratch_image(APP_IMAGE, {"/server": probe}, entrypoint=["/server"])
    print(f"{APP_IMAGE}: FROM scratch, only /server (a static program), USER 65532")

    def mint(namespace: str, account: str, audience: str | None) -> str:
        return vault.issuer.mint(namespace, account, audience or pod_scenario.AUTOMOUNT_AUDIENCE)

    before = vault.bao.token_accessors()
    run = podman.play_workload(engine, rendered, "Deployment", work / "pod", mint)
    after = vault.bao.token_accessors()
    spec = run.pod.spec
    print(f"pod {run.pod.name}: init container {spec['initContainers'][0]['name']}, then "
          f"{spec['containers'][0]['name']}: exit {run.exit_code}; "
          f"read-only root: {run.host_config['ReadonlyRootfs']}")  # fmt: skip
    print(f"(left out for podman, values over 63 characters: {run.pod.dropped_annotations})")
    if run.exit_code != 0:
        print(f"demo: the pod failed: {run.stderr.strip()}", file=sys.stderr)
        return 1
    show_app(run.report, run.app_env, after == before, run.stderr)
    return 0


def on_unshare(vault: TestVault, work: Path) -> int:
    """Steps 2-4 without a container engine: Helm's engine, unshare'd root filesystems."""
    heading("2. helm template (Helm's engine) | vault-exec render")
    stream = pod_scenario.helm_template()
    rendered = pod_scenario.vault_exec_render(stream, vault.address)
    print(f"chart {pod_scenario.CHART.relative_to(ROOT)}: the injected Deployment:\n")
    print(deployment_text(rendered))

    heading("3. the pod, as its spec says, in distroless root filesystems")
    images = pod_scenario.images(work, BUNDLE, rootfs.build_probe_app(work / "probe"))
    for ref, image in images.items():
        files = sorted(
            "/" + str(p.relative_to(image.rootfs)) for p in rootfs.walk_files(image.rootfs)
        )
        shown = [f for f in files if not f.startswith("/vault-exec/_internal/")]
        hidden = len(files) - len(shown)
        more = f" (+{hidden} more under /vault-exec/_internal)" if hidden else ""
        print(f"image {ref}: {', '.join(shown)}{more}")

    def mint(audience: str | None) -> str:
        return vault.issuer.mint(
            pod_scenario.NAMESPACE,
            pod_scenario.SERVICE_ACCOUNT,
            audience or pod_scenario.AUTOMOUNT_AUDIENCE,
        )

    before = vault.bao.token_accessors()
    run = pod_scenario.run_pod(rendered, images, mint, work / "pod")
    for spec, result in zip(run.pod.spec["initContainers"], run.init, strict=False):
        print(f"init container {spec['name']}: {podsim.describe(run.pod.container(spec))}")
        print(f"  exit {result.returncode} {result.stderr.decode().strip()}")
    print(f"app container {run.pod.app_container()['name']}: {podsim.describe(run.app)}")
    if run.result is None or run.result.returncode != 0:
        err = run.result.stderr.decode() if run.result else "(init container failed)"
        print(f"demo: the pod failed: {err}", file=sys.stderr)
        return 1
    after = vault.bao.token_accessors()
    show_app(run.report, run.app_env, after == before, run.result.stderr.decode())
    return 0


def show_app(report: dict[str, Any], env: dict[str, str], revoked: bool, agent_log: str) -> None:
    """Step 4, whichever way the pod ran."""
    heading("4. what the app sees (the static probe program at /server)")
    print(f"pid {report['pid']}, ppid {report['ppid']}; processes in its namespace: "
          f"{report['pids']}; uid {report['uid']}, gid {report['gid']}")  # fmt: skip
    print(f"argv {report['argv']}; open fds {report['fds']}")
    print(f"/bin/sh exists: {report['has_sh']}; root filesystem writable: "
          f"{report['root_writable']}")  # fmt: skip
    print("environment (secret values are the demo's own):")
    for name, value in env.items():
        mark = "  <- from Vault" if name in pod_scenario.DEMO_SECRETS else ""
        print(f"  {name}={value!r}{mark}")
    agent_vars = [n for n in env if n.startswith(("VAULT_", "_PYI_", "LD_"))]
    print(f"agent variables left in the app's environment: {agent_vars or 'none'}")
    print(f"no Vault token of the agent left behind: {'yes' if revoked else 'NO'}")
    if agent_log.strip():
        print(f"agent said: {agent_log.strip()}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (
        OSError,
        RuntimeError,  # PodmanError, HelmUnavailable
        ValueError,  # kube_pod.UnsupportedPod
        subprocess.SubprocessError,
        podsim.PodSpecError,
    ) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        sys.exit(1)
