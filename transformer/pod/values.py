"""Annotation values with a syntax of their own: Go durations, command lines."""

from __future__ import annotations

import re
import shlex

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go-style ``1m30s`` (or a plain number of seconds) -> seconds."""
    text = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))


def split_command(text: str) -> tuple[str, ...]:
    """``/server --port 8080`` -> its words, like a shell would split them (none runs)."""
    return tuple(shlex.split(text))
