"""`make demo`: the whole mission on the seed's `api` chart, start to finish.

1. start a real OpenBao dev server (testkit/openbao.py: JWT + kubernetes auth, the
   latter's TokenReview answered by a loopback test double) and put the chart's
   secret in it (demo values);
2. render fixtures/charts/api with Helm's own engine, post-render the stream with
   `vault-exec render`, show the injected Deployment;
3. run the pod as the rendered spec says, in root filesystems with no shell and
   no libc, in new PID and mount namespaces (`unshare`): the init container (the
   agent image's `install`), then the app container;
4. show what the app sees: PID 1, alone, its argv, its environment with the
   secrets; and that the agent's Vault token is gone. Then stop OpenBao.

Needs root (unshare, mount), gcc, and the bundle (`make agent-bundle`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit import REPO as ROOT
from testkit import pod_scenario, podsim, rootfs
from testkit.openbao import running_test_vault
from transformer.agent.contract import AGENT_EXECUTABLE_NAME

BUNDLE = ROOT / "dist" / AGENT_EXECUTABLE_NAME


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
        print("demo: needs root (new PID/mount namespaces, bind mounts)", file=sys.stderr)
        return 1
    if not (BUNDLE / AGENT_EXECUTABLE_NAME).exists():
        print("demo: no agent bundle: run `make agent-bundle`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="vault-exec-demo-") as tmp:
        work = Path(tmp)
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

            heading("4. what the app sees (the static probe program at /server)")
            report = run.report
            print(f"pid {report['pid']}, ppid {report['ppid']}; processes in its namespace: "
                  f"{report['pids']}; uid {report['uid']}, gid {report['gid']}")  # fmt: skip
            print(f"argv {report['argv']}; open fds {report['fds']}")
            print(f"/bin/sh exists: {report['has_sh']}; root filesystem writable: "
                  f"{report['root_writable']}")  # fmt: skip
            print("environment (secret values are the demo's own):")
            for name, value in run.app_env.items():
                mark = "  <- from Vault" if name in pod_scenario.DEMO_SECRETS else ""
                print(f"  {name}={value!r}{mark}")
            agent_vars = [n for n in run.app_env if n.startswith(("VAULT_", "_PYI_", "LD_"))]
            print(f"agent variables left in the app's environment: {agent_vars or 'none'}")
            revoked = "yes" if after == before else "NO"
            print(f"agent's Vault token revoked before exec: {revoked}")
            if run.result.stderr:
                print(f"agent said: {run.result.stderr.decode().strip()}")
        heading("OpenBao stopped; done")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, subprocess.SubprocessError, podsim.PodSpecError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        sys.exit(1)
