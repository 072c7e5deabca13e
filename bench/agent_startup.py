"""Agent start-up: process start -> the app's first instruction, and peak memory.

Side by side, interleaved round-robin (one run of each variant per round, a
warm-up round discarded), against a bench-local ``bao server -dev``:

* ``vault-exec-agent run -- APP`` (``--agent CMD``: any command line that runs
  the agent, e.g. the frozen bundle; default: this Python, ``-m transformer.agent``);
* ``bao agent`` in exec (process-supervisor) mode, same secret, same template;
* baselines: APP alone, and ``python -c pass``.

APP is a static C program (``gcc -static``) that prints CLOCK_MONOTONIC at the
start of ``main``; the bench takes CLOCK_MONOTONIC right before spawning, so
"to app" is spawn -> the app's first instruction. "CPU" is user+system time of
the variant's process tree (from ``wait4``): less sensitive than wall time to
other load on a shared machine.

Peak memory: every variant is started through the static peak-RSS launcher
(bench/_startup_common.py), which forks, execs the variant and reports
``ru_maxrss`` from ``wait4``. (Taking ``wait4`` from this Python instead would
count the forked copy of the bench's own ~40 MB.) The agent exec's APP in the
same process and APP is tiny, so the figure is the agent's peak before exec;
for ``bao agent`` it is bao's (its child is tiny too).

Default agent variants: ``python -S`` running the agent's entry point from this
checkout (no site-packages, like the frozen bundle), and the ``vault-exec-agent``
console script of this venv when it exists (pays site-packages start-up, and in
an editable install its import hook). ``--agent "CMD ..."`` replaces both.

    python -m bench.agent_startup [--runs 30] [--auth token|jwt|kubernetes]
        [--agent "CMD ..."] [--app PATH] [--no-bao] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._startup_common import (
    LauncherReport,
    Variant,
    build_peak_rss_launcher,
    build_static,
    read_launcher_report,
)
from testkit import REPO as ROOT
from testkit.openbao import (
    ROLE,
    ServiceAccountIssuer,
    TokenReviewStub,
    find_bao,
    provision,
    start_dev_server,
)

APP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    return 0;
}
"""

AGENT_ENTRY = "import sys; from transformer.agent.main import main; sys.exit(main())"

SECRET_PATH = "secret/data/bench"
SECRET = {
    "DB_PASSWORD": "s3cret",
    "API_KEY": "abc",
    "PEM": "-----BEGIN X-----\nAAAA==\n-----END X-----\n",
}
TEMPLATE = (
    '{{- with secret "secret/data/bench" -}}\n'
    "{{- range $key, $value := .Data.data }}\n"
    "{{ $key }}={{ $value }}\n"
    "{{- end }}\n"
    "{{- end }}\n"
)


def run_once(variant: Variant, launcher: Path) -> tuple[float, float, LauncherReport]:
    """One start of VARIANT: spawn -> the app's first instruction (ms), spawn -> the
    tree exited (ms), and the launcher's report (peak RSS, CPU time)."""
    report_file = launcher.parent / "report"
    report_file.write_text("")
    # cwd: the launcher's directory, so that `python -c` (whose sys.path starts with
    # the working directory) imports the agent from PYTHONPATH, not from where the
    # bench was started.
    start = time.monotonic_ns()
    result = subprocess.run(
        [str(launcher), str(report_file), *variant.argv],
        env=variant.env,
        capture_output=True,
        cwd=launcher.parent,
    )
    end = time.monotonic_ns()
    stamps = [line for line in result.stdout.decode().split("\n") if line.strip().isdigit()]
    report = read_launcher_report(report_file)
    if result.returncode != 0 or not stamps or report is None:
        raise SystemExit(
            f"bench: {variant.name} failed (exit {result.returncode}):\n"
            f"{result.stderr.decode()[-2000:]}"
        )
    return (int(stamps[-1]) - start) / 1e6, (end - start) / 1e6, report


def bao_agent_variant(bao: str, address: str, token: str, app: Path, workdir: Path) -> Variant:
    token_file = workdir / "bao-token"
    token_file.write_text(token)
    env_templates = "\n".join(
        f'env_template "{key}" {{\n'
        f'  contents = "{{{{ with secret \\"{SECRET_PATH}\\" }}}}'
        f'{{{{ .Data.data.{key} }}}}{{{{ end }}}}"\n'
        "  error_on_missing_key = true\n}\n"
        for key in SECRET
    )
    config = workdir / "bao-agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{address}"\n}}\n'
        'auto_auth {\n  method "token_file" {\n    config {\n'
        f'      token_file_path = "{token_file}"\n'
        "    }\n  }\n}\n"
        "template_config {\n  exit_on_retry_failure = true\n}\n"
        f"{env_templates}"
        f'exec {{\n  command = ["{app}"]\n  restart_on_secret_changes = "never"\n}}\n'
    )
    return Variant(
        "bao agent (exec mode)", [bao, "agent", f"-config={config}"], {"HOME": str(workdir)}
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--auth", choices=["token", "jwt", "kubernetes"], default="token")
    parser.add_argument(
        "--agent",
        action="append",
        help="command line that runs the agent (it gets `run -- APP` appended); repeatable",
    )
    parser.add_argument(
        "--app", help="path of the app as the agent sees it (default: the built one)"
    )
    parser.add_argument("--no-bao", action="store_true", help="skip the bao agent variant")
    parser.add_argument("--json", help="also write the raw samples to this file")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        workdir = Path(tmp)
        app = build_static(workdir, "app", APP_C)
        launcher = build_peak_rss_launcher(workdir)
        server = start_dev_server(workdir / "bao")
        stub = None
        try:
            server.client().secrets.kv.v2.create_or_update_secret(path="bench", secret=SECRET)
            auth: dict[str, object] = {"method": "token"}
            agent_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
                         "PYTHONPATH": str(ROOT)}  # fmt: skip
            if options.auth == "token":
                agent_env["VAULT_TOKEN"] = server.root_token
            else:
                issuer = ServiceAccountIssuer()
                stub = TokenReviewStub(issuer)
                vault = provision(server, issuer, stub)
                vault.client().sys.create_or_update_policy(
                    "app-read", 'path "secret/data/bench" { capabilities = ["read"] }'
                )
                token_file = workdir / "sa-token"
                token_file.write_text(vault.mint_sa_token())
                auth = {"method": options.auth, "role": ROLE, "token_path": str(token_file)}
            config = {
                "version": 1,
                "vault": {"address": server.address},
                "auth": auth,
                "templates": [{"name": "config.env", "path": SECRET_PATH, "template": TEMPLATE}],
            }
            agent_env["VAULT_EXEC_CONFIG"] = json.dumps(config)
            app_path = options.app or str(app)
            agents = {f"agent: {cmd}": shlex.split(cmd) for cmd in options.agent or []}
            if not agents:
                agents["agent: python -S (no site)"] = [sys.executable, "-S", "-c", AGENT_ENTRY]
                script = Path(sys.executable).parent / "vault-exec-agent"
                if script.exists():
                    agents["agent: venv console script"] = [str(script)]
            variants = [
                Variant(name, [*argv, "run", "--", app_path], agent_env)
                for name, argv in agents.items()
            ]
            if not options.no_bao:
                variants.append(
                    bao_agent_variant(find_bao(), server.address, server.root_token, app, workdir)
                )
            variants += [
                Variant("baseline: app alone", [str(app)], {}),
                Variant(
                    "baseline: python -S, no-op",
                    [sys.executable, "-S", "-c", "import time; print(time.monotonic_ns())"],
                    {},
                ),
            ]
            for round_number in range(options.runs + 1):
                for variant in variants:
                    to_app_ms, total_ms, report = run_once(variant, launcher)
                    if round_number > 0:  # round 0 is the warm-up: discarded
                        variant.record(to_app_ms, total_ms, report)
        finally:
            if stub is not None:
                stub.close()
            server.stop()

    print(
        f"agent start-up, {options.runs} interleaved runs, auth={options.auth}, Vault on loopback"
    )
    width = max(len(variant.name) for variant in variants)
    print(
        f"{'variant':{width}s} {'to app med':>10s} {'p10':>8s} {'p90':>8s}"
        f" {'total med':>10s} {'CPU med':>9s} {'peak RSS':>9s}"
    )
    for variant in variants:
        deciles = statistics.quantiles(variant.to_app_ms, n=10)
        print(
            f"{variant.name:{width}s} {statistics.median(variant.to_app_ms):8.1f} ms"
            f" {deciles[0]:6.1f} ms {deciles[-1]:6.1f} ms"
            f" {statistics.median(variant.total_ms):8.1f} ms"
            f" {statistics.median(variant.cpu_ms):6.1f} ms"
            f" {statistics.median(variant.maxrss_kib) / 1024:6.1f} MiB"
        )
    bao = [v for v in variants if v.name.startswith("bao agent")]
    for variant in variants[: len(agents)]:
        ours = statistics.median(variant.to_app_ms)
        peak = statistics.median(variant.maxrss_kib) / 1024
        verdict = "met" if ours <= 100 and peak <= 40 else "NOT met"
        ratio = (
            f"; bao agent takes {statistics.median(bao[0].to_app_ms) / ours:.1f}x as long"
            if bao
            else ""
        )
        print(f"{variant.name}: target <= 100 ms and <= 40 MiB {verdict}{ratio}")
    if options.json:
        Path(options.json).write_text(
            json.dumps(
                {
                    v.name: {
                        "to_app_ms": v.to_app_ms,
                        "total_ms": v.total_ms,
                        "maxrss_kib": v.maxrss_kib,
                        "cpu_ms": v.cpu_ms,
                    }
                    for v in variants
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
