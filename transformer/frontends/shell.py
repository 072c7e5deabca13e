"""The I/O shell every command shares: the one error handler, the platform flags, reading
the input and writing the output. The only place, with the commands themselves, that
knows argv, stdin, stdout and exit codes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, TypeVar

import click

from transformer.errors import (
    EXIT_BUG,
    EXIT_PROBLEMS,
    InputError,
    LocatedInputError,
    VaultExecError,
)
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


class GuardedGroup(click.Group):
    """A command group (``vault-exec``) and every subcommand under the one handler."""

    def invoke(self, ctx: click.Context) -> Any:
        return _guarded(ctx, lambda: super(GuardedGroup, self).invoke(ctx))


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
