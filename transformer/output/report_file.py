"""Where problems go besides stderr, for hosts that hide it (I/O only).

Helm 4 runs a post-renderer plugin with its stderr captured and never shown, not even
when the plugin fails: the user sees only `plugin "vault-exec" exited with error`
(docs/helm4-errors.md). Helm 3 hides stderr on success (warnings). So ``render`` can
also write its problem lines (the same lines as on stderr) to a report file
(``--report FILE`` or ``VAULT_EXEC_REPORT``), and, when it runs as a Helm plugin
(``HELM_PLUGIN_NAME`` is set), to the controlling terminal when there is one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from transformer.errors import InputError
from transformer.problems import Problem

REPORT_ENV_VAR = "VAULT_EXEC_REPORT"
HELM_PLUGIN_ENV_VAR = "HELM_PLUGIN_NAME"
TERMINAL = "/dev/tty"


def _lines(problems: Sequence[Problem]) -> str:
    return "".join(f"{problem.format()}\n" for problem in problems)


def write_report(
    problems: Sequence[Problem],
    report_file: str | None,
    environ: Mapping[str, str],
    terminal: str = TERMINAL,
) -> None:
    """Write the problem lines to ``report_file`` (always, so an empty file means a
    clean run) and, under Helm with problems, to the terminal."""
    write_report_text(_lines(problems), report_file, environ, terminal)


def write_report_text(
    text: str, report_file: str | None, environ: Mapping[str, str], terminal: str = TERMINAL
) -> None:
    """Write ``text`` (lines, or "" for a clean run) where Helm would otherwise hide it:
    the report file, and under Helm the terminal when there is something to say."""
    if report_file:
        try:
            Path(report_file).write_text(text, encoding="utf-8")
        except OSError as error:
            raise InputError(
                f"cannot write the report file {report_file}: {error.strerror or error}"
            ) from None
    if text and environ.get(HELM_PLUGIN_ENV_VAR):
        try:
            # O_NOCTTY: never make this terminal ours; no tty (CI) is not an error.
            fd = os.open(terminal, os.O_WRONLY | os.O_NOCTTY)
        except OSError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
