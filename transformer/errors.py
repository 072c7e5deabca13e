"""The deploy-time exception root and the exit codes.

Every error a user can cause derives from :class:`VaultExecError`; every console
script and subcommand runs under one handler (:mod:`transformer.frontends.cli`) that
turns them into one line on stderr. Anything else reaching that handler is a bug in
vault-exec (exit 3). The agent has its own (``transformer/agent/errors.py``).
"""

from __future__ import annotations

EXIT_OK = 0
#: The input has problems (one located line each on stderr).
EXIT_PROBLEMS = 1
#: Bad usage or platform configuration: the invocation, not the manifests, is wrong.
EXIT_USAGE = 2
#: A bug in vault-exec.
EXIT_BUG = 3


class VaultExecError(Exception):
    """Root of every error vault-exec reports to a user as one clear line."""

    #: The process exit status when this error ends a command.
    exit_code = EXIT_PROBLEMS


class ConfigError(VaultExecError):
    """A platform default (flag, config file, environment) has a bad value."""

    exit_code = EXIT_USAGE


class InputError(VaultExecError):
    """The manifest input cannot be read (missing file, not UTF-8, ...)."""


class LocatedInputError(InputError):
    """An input problem at a known place: reported as ``file:line:col: message``."""

    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{filename}:{line}:{col}: {message}")
        self.location = (filename, line, col)


class ToolError(VaultExecError):
    """A renderer vault-exec runs (helm, kustomize) could not be run or failed."""
