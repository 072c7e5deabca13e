"""Where the console scripts of `pip install -e .` are, for tests that run them as users do."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def console_script(name: str) -> str:
    """The installed console script NAME (beside this interpreter, or on PATH); fails the
    test, saying how to install it, when there is none."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"no {name} console script: run `pip install -e .`")
    return found
