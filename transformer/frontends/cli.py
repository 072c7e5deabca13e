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
from transformer.doctor.command import doctor_command
from transformer.errors import (
    EXIT_BUG,
    EXIT_PROBLEMS,
    InputError,
    LocatedInputError,
    VaultExecError,
)
from transformer.frontends.argocd_cli import argocd_group
from transformer.options import (
    CONFIG_FILE_ENV_VAR,
    SETTINGS,
    Options,
    Setting,
    load_options,
)
from transformer.problems import Problem, has_errors, one_line

DEBUG_ENV_VAR = "VAULT_EXEC_DEBUG"

F = TypeVar("F", bound=Callable[..., Any])


def error_line(error: VaultExecError) -> str:
    """The one line a user sees for an error: a located one is a problem line like any
    other; the rest say who speaks."""
    prefix = "" if isinstance(error, LocatedInputError) else "vault-exec: "
    return one_line(f"{prefix}{error}")


def _guarded(ctx: click.Context, run: Callable[[], Any]) -> Any:
    """The one handler: users see one line per error, never a traceback (exit codes in
    :mod:`transformer.errors`), and never a library's Python warning either."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run()
    except (click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except VaultExecError as error:
        click.echo(error_line(error), err=True)
        ctx.exit(error.exit_code)
    except BrokenPipeError:
        # The reader went away (| head): nothing useful left to say.
        sys.stderr.close()
        ctx.exit(EXIT_PROBLEMS)
    except Exception as error:
        if ctx.meta.get("vault_exec.debug") or os.environ.get(DEBUG_ENV_VAR):
            raise
        click.echo(
            one_line(
                f"vault-exec: internal error: {type(error).__name__}: {error} "
                f"(this is a bug in vault-exec; run with --debug or {DEBUG_ENV_VAR}=1 for details)"
            ),
            err=True,
        )
        ctx.exit(EXIT_BUG)


class GuardedCommand(click.Command):
    """A console script of its own (the kustomize exec plugin) under the one handler."""

    def invoke(self, ctx: click.Context) -> Any:
        return _guarded(ctx, lambda: super(GuardedCommand, self).invoke(ctx))


class _Main(click.Group):
    """``vault-exec`` and every subcommand under the one handler."""

    def invoke(self, ctx: click.Context) -> Any:
        return _guarded(ctx, lambda: super(_Main, self).invoke(ctx))


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

_PLATFORM_PARAMS = (*(setting.field for setting in SETTINGS), "config_file")
_METAVARS = {"address": "URL", "addresses": "URL", "path": "PATH", "paths": "PATH"}


def _flag(setting: Setting) -> Callable[[F], F]:
    if setting.kind == "bool":
        name = setting.option[2:]
        return click.option(f"--{name}/--no-{name}", setting.field, default=None, help=setting.help)
    if setting.kind == "choice":
        choice = click.Choice(setting.choices)
        return click.option(setting.option, setting.field, type=choice, help=setting.help)
    return click.option(
        setting.option,
        setting.field,
        metavar=_METAVARS.get(setting.kind, "VALUE"),
        multiple=setting.is_list,
        help=setting.help,
    )


def platform_options(function: F) -> F:
    """Add a flag for every platform setting (:data:`transformer.options.SETTINGS`) and
    ``--config``; read them back with :func:`options_from_params`."""
    function = click.option(
        "--config",
        "config_file",
        metavar="FILE",
        envvar=CONFIG_FILE_ENV_VAR,
        help=f"YAML/JSON file of platform settings (env {CONFIG_FILE_ENV_VAR}).",
    )(function)
    for setting in reversed(SETTINGS):
        function = _flag(setting)(function)
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


# The Argo CD plugin's commands live beside their decisions (transformer/argocd.py).
main.add_command(argocd_group)

# `vault-exec doctor` lives in transformer/doctor/ and takes the platform flags above.
main.add_command(doctor_command(platform_options))
