"""The ``vault-exec`` command line: the only place with I/O, argv and exit codes.

Exit codes: 0 success; 1 the input has problems (one located line each on
stderr, nothing on stdout); 2 bad usage or platform configuration; 3 a bug in
vault-exec (one line; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, TypeVar

import click

from transformer import __version__
from transformer.cli_argocd import argocd_group
from transformer.errors import InputError, LocatedInputError, VaultExecError
from transformer.options import (
    AUTH_MODES,
    AUTH_TYPES,
    CONFIG_FILE_ENV_VAR,
    KEYS,
    Options,
    load_options,
)
from transformer.problems import Problem, has_errors

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_BUG = 3
DEBUG_ENV_VAR = "VAULT_EXEC_DEBUG"

F = TypeVar("F", bound=Callable[..., Any])


class _Main(click.Group):
    """One handler for the whole program: users see one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except VaultExecError as error:
            # A located problem is a problem line like any other; the rest say who speaks.
            prefix = "" if isinstance(error, LocatedInputError) else "vault-exec: "
            click.echo(f"{prefix}{error}", err=True)
            ctx.exit(error.exit_code)
        except BrokenPipeError:
            # The reader went away (| head): nothing useful left to say.
            sys.stderr.close()
            ctx.exit(EXIT_PROBLEMS)
        except Exception as error:
            if ctx.meta.get("vault_exec.debug"):
                raise
            click.echo(
                f"vault-exec: internal error: {type(error).__name__}: {error} "
                "(this is a bug in vault-exec; run with --debug for details)",
                err=True,
            )
            ctx.exit(EXIT_BUG)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
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


# --- shared by every command that takes platform defaults -------------------

_PLATFORM_PARAMS = (*KEYS.values(), "config_file")


def platform_options(function: F) -> F:
    """Add the platform-default flags; read them back with :func:`options_from_params`."""
    decorators = [
        click.option(
            "--vault-addr",
            metavar="URL",
            help="Default Vault address (else config file, VAULT_EXEC_VAULT_ADDR, VAULT_ADDR).",
        ),
        click.option(
            "--allowed-vault-addr",
            "allowed_vault_addrs",
            metavar="URL",
            multiple=True,
            help="Another address vault.hashicorp.com/service may pick (repeatable).",
        ),
        click.option("--agent-image", metavar="IMAGE", help="Agent image for the init container."),
        click.option("--auth-path", metavar="PATH", help="Default auth mount (auth/kubernetes)."),
        click.option("--auth-type", type=click.Choice(AUTH_TYPES), help="Default auth method."),
        click.option(
            "--auth-mode",
            type=click.Choice(AUTH_MODES),
            help="How agents log in: inline (OpenBao >= 2.4, no token), standard, auto (default).",
        ),
        click.option(
            "--token-audience",
            metavar="AUD",
            help="Audience of the projected token when the pod does not automount one (vault).",
        ),
        click.option(
            "--skip-hooks/--no-skip-hooks",
            default=None,
            help="Leave Helm hook documents (helm.sh/hook) alone.",
        ),
        click.option(
            "--config",
            "config_file",
            metavar="FILE",
            envvar=CONFIG_FILE_ENV_VAR,
            help=f"YAML/JSON file of platform defaults (env {CONFIG_FILE_ENV_VAR}).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def options_from_params(
    params: MutableMapping[str, Any], environ: Mapping[str, str] | None = None
) -> Options:
    """Pop the :func:`platform_options` values from ``params`` and build the Options."""
    values = {name: params.pop(name, None) for name in _PLATFORM_PARAMS}
    config_file = values.pop("config_file")
    return load_options(values, config_file, os.environ if environ is None else environ)


def report(problems: Iterable[Problem]) -> int:
    """Write one line per problem to stderr; the exit code they amount to."""
    problems = list(problems)
    for problem in problems:
        click.echo(problem.format(), err=True)
    return EXIT_PROBLEMS if has_errors(problems) else 0


def read_sources(files: Iterable[str]) -> list[tuple[str, str]]:
    """(name, text) of each input; no files or ``-`` means stdin."""
    names = list(files) or ["-"]
    sources = []
    for name in names:
        if name == "-" and sys.stdin.isatty():
            # Waiting for a terminal to type YAML helps nobody.
            raise InputError(
                "no input: pipe a manifest stream in (helm template ... | vault-exec render) "
                "or name files"
            )
        try:
            data = sys.stdin.buffer.read() if name == "-" else _read_file(name)
        except OSError as error:
            raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
        try:
            # utf-8-sig: a byte-order mark would hide the first `---` from the split.
            sources.append((name, data.decode("utf-8-sig")))
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
            raise LocatedInputError(
                name, line, col, f"not UTF-8 text (byte {error.start}): {error.reason}"
            ) from None
    return sources


def _read_file(name: str) -> bytes:
    with open(name, "rb") as handle:
        return handle.read()


def write_output(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


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
    from transformer.cli_report import write_report
    from transformer.render import render_sources

    options = options_from_params(params)
    output, problems = render_sources(read_sources(files), options)
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
    from transformer.check import check_sources
    from transformer.report import format_problems

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
    from transformer.krm import run_function

    options = options_from_params(params)
    outcome = run_function(read_sources(["-"])[0][1], options)
    for result in outcome.results:
        click.echo(f"vault-exec krm: {result.format()}", err=True)
    write_output(outcome.text)
    if outcome.failed:
        ctx.exit(EXIT_PROBLEMS)


# The Argo CD plugin's commands live beside their decisions (transformer/argocd.py).
main.add_command(argocd_group)
