"""The ``vault-exec`` command line: the only place with I/O, argv and exit codes.

Exit codes: 0 success; 1 the input has problems (one located line each on
stderr, nothing on stdout); 2 bad usage or platform configuration; 3 a bug in
vault-exec (one line; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
from typing import Any

import click

from transformer import __version__
from transformer.errors import EXIT_PROBLEMS, VaultExecError
from transformer.frontends.argocd_cli import argocd_group
from transformer.frontends.doctor import doctor
from transformer.frontends.shell import (
    DEBUG_ENV_VAR,
    GuardedGroup,
    error_line,
    options_from_params,
    platform_options,
    read_sources,
    report,
    write_output,
)


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vault-exec")
@click.option(
    "--debug",
    is_flag=True,
    envvar=DEBUG_ENV_VAR,
    help="Show a traceback when vault-exec itself fails.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Inject the vault-exec agent into rendered Kubernetes manifests."""
    ctx.meta["vault_exec.debug"] = debug


# --- commands ----------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@platform_options
@click.option(
    "--report",
    "report_file",
    metavar="FILE",
    envvar="VAULT_EXEC_REPORT",
    help="Also write the problem lines to FILE (Helm 4 never shows a plugin's stderr).",
)
@click.pass_context
def render(
    ctx: click.Context, /, files: tuple[str, ...], report_file: str | None, **params: Any
) -> None:
    """Read manifests (stdin or FILEs), write them with the agent injected.

    \b
    Helm 3:  helm install --post-renderer vault-exec --post-renderer-args render ...
    Helm 4:  helm plugin install <this repo>; helm install --post-renderer vault-exec ...

    Pod templates opt in with vault.hashicorp.com/agent-inject: "true" and
    vault.hashicorp.com/agent-run-as-sidecar: "false". On any problem nothing is
    written to stdout and each problem is one `file:line:col: message` line on
    stderr (exit 1).
    """
    from transformer.output.report_file import write_report, write_report_text
    from transformer.pipeline import render_sources

    try:
        options = options_from_params(params)
        output, problems = render_sources(read_sources(files), options)
    except VaultExecError as error:
        # Helm 4 hides stderr: a bad setting or unreadable input must reach the report too.
        write_report_text(error_line(error) + "\n", report_file, os.environ)
        raise
    write_report(problems, report_file, os.environ)
    code = report(problems)
    if code:
        ctx.exit(code)
    write_output(output)


@main.command()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json", "github", "sarif")),
    default="text",
    show_default=True,
    help="text: path:line:col lines; github: workflow annotations; sarif: code scanning.",
)
@platform_options
@click.pass_context
def check(ctx: click.Context, /, files: tuple[str, ...], output_format: str, **params: Any) -> None:
    """Check manifests (stdin or FILEs) with the render rules; rewrite nothing.

    YAML files without a Kubernetes object (no top-level apiVersion and kind) are
    skipped. The report goes to stdout; exit 1 when any problem is found.
    """
    from transformer.frontends.check import check_sources
    from transformer.output.formats import format_problems

    options = options_from_params(params)
    problems = check_sources(read_sources(files), options)
    write_output(format_problems(problems, output_format))
    if problems:
        ctx.exit(EXIT_PROBLEMS)


@main.command()
@platform_options
@click.pass_context
def krm(ctx: click.Context, /, **params: Any) -> None:
    """KRM function (kustomize/kpt): a ResourceList on stdin, the ResourceList out.

    The functionConfig's spec (or a ConfigMap's data) holds platform defaults with the
    config file's camelCase keys, over these flags. Problems become `results` and lines
    on stderr; exit 1 when one is an error (kustomize then fails the build).
    """
    from transformer.frontends.krm import run_function

    options = options_from_params(params)
    outcome = run_function(read_sources(["-"])[0][1], options)
    report(outcome.problems)
    write_output(outcome.text)
    if outcome.exit_code:
        ctx.exit(outcome.exit_code)


# The Argo CD plugin's commands: transformer/frontends/argocd_cli.py.
main.add_command(argocd_group)

# `vault-exec doctor`: transformer/frontends/doctor.py; its checks in transformer/doctor/.
main.add_command(doctor)
