"""execvp-style resolution, 126/127, and no descriptor of the agent reaching the app.

The exec itself is tested in a forked child (execve replaces the process).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from transformer.agent.errors import AgentError
from transformer.agent.execute import (
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    exec_command,
    inheritable_fds,
    resolve_command,
    seal_agent_fds,
)


def _tool(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def test_a_name_is_looked_up_in_the_childs_path(tmp_path: Path) -> None:
    _tool(tmp_path / "a" / "app", 0o644)  # not executable: skipped like execvp does
    found = _tool(tmp_path / "b" / "app")
    env = {"PATH": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'b'}"}
    assert resolve_command("app", env) == str(found)


def test_an_empty_path_entry_means_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tool(tmp_path / "app")
    monkeypatch.chdir(tmp_path)
    assert resolve_command("app", {"PATH": "/nonexistent:"}) == "./app"


def test_a_relative_path_with_a_slash_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tool(tmp_path / "bin" / "app")
    monkeypatch.chdir(tmp_path)
    assert resolve_command("bin/app", {"PATH": "/nonexistent"}) == "bin/app"


@pytest.mark.parametrize(
    ("command", "status", "message"),
    [
        ("nope", EXIT_NOT_FOUND, "exec: nope: command not found in PATH"),
        ("/nonexistent/app", EXIT_NOT_FOUND, "exec: /nonexistent/app: no such file"),
        ("noexec", EXIT_NOT_EXECUTABLE, "not executable"),
        ("./noexec", EXIT_NOT_EXECUTABLE, "exec: ./noexec: permission denied (not executable)"),
        ("./", EXIT_NOT_EXECUTABLE, "exec: ./: is a directory"),
    ],
)
def test_missing_is_127_and_not_executable_is_126(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, status: int, message: str
) -> None:
    _tool(tmp_path / "noexec", 0o644)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AgentError) as info:
        resolve_command(command, {"PATH": str(tmp_path)})
    assert info.value.exit_code == status
    assert message in str(info.value)


def test_only_inherited_descriptors_stay_open_across_exec(tmp_path: Path) -> None:
    """Fork; the child opens descriptors like the agent does, then execs a program
    that reports which descriptors it has."""
    handed_read, handed_write = os.pipe()
    os.set_inheritable(handed_write, True)  # what a parent hands over on purpose
    report = tmp_path / "fds.json"
    probe = (
        "import json, os, sys; "
        "fds = sorted(int(f) for f in os.listdir('/proc/self/fd')); "
        f"open({str(report)!r}, 'w').write(json.dumps(fds))"
    )
    handed_over = inheritable_fds()  # incl. any the test runner itself inherited
    assert handed_write in handed_over
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        try:
            keep = inheritable_fds()
            leaked = os.open(os.devnull, os.O_RDONLY)
            os.set_inheritable(leaked, True)  # a library's inheritable descriptor
            os.open(os.devnull, os.O_RDONLY)  # an ordinary (close-on-exec) one
            exec_command(sys.executable, [sys.executable, "-c", probe], dict(os.environ), keep)
        finally:
            os._exit(99)
    os.close(handed_read)
    _, status = os.waitpid(pid, 0)
    os.close(handed_write)
    assert os.waitstatus_to_exitcode(status) == 0
    fds = json.loads(report.read_text())
    assert handed_write in fds
    # Beyond 0-2 and what was handed over: only the probe's own listdir descriptor.
    assert len(set(fds) - {0, 1, 2} - handed_over) == 1


def test_seal_marks_new_descriptors_close_on_exec() -> None:
    keep = inheritable_fds()
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        seal_agent_fds(keep)
        assert not os.get_inheritable(fd)
    finally:
        os.close(fd)


def test_exec_failure_is_reported_with_shell_status(tmp_path: Path) -> None:
    script = tmp_path / "bad"
    script.write_bytes(b"\x7fELF-not-really")
    script.chmod(stat.S_IRWXU)
    with pytest.raises(AgentError) as info:
        exec_command(str(script), [str(script)], {}, frozenset())
    assert info.value.exit_code == EXIT_NOT_EXECUTABLE
    assert str(info.value).startswith(f"exec: {script}: ")
