"""The exception root: what each error class means for the exit status and the line."""

from __future__ import annotations

import subprocess
import sys

from transformer.errors import ConfigError, InputError, LocatedInputError, VaultExecError


def test_exit_codes() -> None:
    assert issubclass(ConfigError, VaultExecError)
    assert issubclass(LocatedInputError, InputError)
    assert ConfigError("x").exit_code == 2  # the invocation is wrong
    assert InputError("x").exit_code == 1  # the input is wrong


def test_located_input_error_is_a_problem_line() -> None:
    error = LocatedInputError("a.yaml", 3, 7, "not UTF-8 text")
    assert str(error) == "a.yaml:3:7: not UTF-8 text"
    assert error.location == ("a.yaml", 3, 7)


def test_python_dash_m_is_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "transformer", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("vault-exec, version ")
