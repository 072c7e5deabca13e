"""The deploy-time exception root.

Every error a user can cause derives from :class:`VaultExecError`; the CLI has
one handler that turns them into one line on stderr. Anything else reaching
that handler is a bug in vault-exec (exit 3).
"""

from __future__ import annotations


class VaultExecError(Exception):
    """Root of every error vault-exec reports to a user as one clear line."""

    #: The process exit status when this error ends a command.
    exit_code = 1


class ConfigError(VaultExecError):
    """A platform default (flag, config file, environment) has a bad value."""

    exit_code = 2  # like a usage error: the invocation, not the manifests, is wrong


class InputError(VaultExecError):
    """The manifest input cannot be read (missing file, not UTF-8, ...)."""


class LocatedInputError(InputError):
    """An input problem at a known place: reported as ``file:line:col: message``."""

    def __init__(self, filename: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{filename}:{line}:{col}: {message}")
        self.location = (filename, line, col)
