"""The agent's one exception root.

``main`` catches :class:`AgentError` and prints ``vault-exec-agent: <message>``;
every message is written so that it never contains a secret value.
"""

from __future__ import annotations


class AgentError(Exception):
    """A failure the user can act on; ``str()`` is the one line they see."""

    #: Process exit status when this error ends the agent.
    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(AgentError):
    """The JSON config is missing, unreadable or does not match the schema."""

    exit_code = 2
