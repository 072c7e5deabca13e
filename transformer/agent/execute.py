"""Replace the agent with the application: ``execvp``-style lookup, then ``os.execve``.

The only place in the agent that calls ``execve``.
"""

from __future__ import annotations

import os

from transformer.agent.errors import AgentError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms)
if TYPE_CHECKING:
    import signal as _signal  # the same API, with stubs
    from collections.abc import Mapping, Sequence
    from typing import NoReturn
else:
    # _signal, not signal: the signal module's import converts its constants to
    # enums, start-up time the agent otherwise does not pay.
    import _signal

#: Exit statuses of a shell for "not found" and "found but cannot run".
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def resolve_command(command: str, env: Mapping[str, str]) -> str:
    """Find ``command`` like ``execvp``: a name with a slash as is (relative to the
    working directory), else the first executable match on the child's ``PATH``."""
    if not command:
        raise AgentError("exec: empty command", exit_code=EXIT_NOT_FOUND)
    if "/" in command:
        _check_runnable(command)
        return command
    search_path = env.get("PATH")
    if search_path is None:
        search_path = os.defpath
    found_unrunnable = None
    for directory in search_path.split(os.pathsep):
        candidate = os.path.join(directory or ".", command)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            found_unrunnable = found_unrunnable or candidate
    if found_unrunnable is not None:
        raise AgentError(
            f"exec: {found_unrunnable}: permission denied (not executable)",
            exit_code=EXIT_NOT_EXECUTABLE,
        )
    raise AgentError(f"exec: {command}: command not found in PATH", exit_code=EXIT_NOT_FOUND)


def _check_runnable(path: str) -> None:
    if not os.path.exists(path):
        raise AgentError(f"exec: {path}: no such file", exit_code=EXIT_NOT_FOUND)
    if os.path.isdir(path):
        raise AgentError(f"exec: {path}: is a directory", exit_code=EXIT_NOT_EXECUTABLE)
    if not os.access(path, os.X_OK):
        raise AgentError(
            f"exec: {path}: permission denied (not executable)", exit_code=EXIT_NOT_EXECUTABLE
        )


def open_fds() -> set[int]:
    """The descriptors above 2 open in this process (empty without /proc)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return set()
    return {int(name) for name in names if name.isdigit() and int(name) > 2}


def inheritable_fds() -> frozenset[int]:
    """Descriptors above 2 the agent's parent handed it on purpose (call first thing).

    They belong to the app (e.g. a socket passed by the runtime) and stay open.
    """
    kept = set()
    for fd in open_fds():
        try:
            if os.get_inheritable(fd):
                kept.add(fd)
        except OSError:
            pass  # the descriptor listdir itself used, already closed
    return frozenset(kept)


def seal_agent_fds(keep: frozenset[int]) -> None:
    """Mark every descriptor above 2 not in ``keep`` close-on-exec.

    Python opens descriptors non-inheritable already (PEP 446); this also covers
    any a library made inheritable. Without /proc there is nothing to list, and
    PEP 446 is what remains.
    """
    for fd in open_fds() - keep:
        try:  # noqa: SIM105 (contextlib is an import the agent does not need)
            os.set_inheritable(fd, False)
        except OSError:
            pass  # closed meanwhile (e.g. the listdir's own descriptor)


def exit_promptly_on_signals(prog: str) -> None:
    """As PID 1 the kernel ignores signals without a handler: exit on SIGTERM/SIGINT
    until the exec (execve resets caught signals to their defaults for the app)."""
    names: dict[int, str] = {_signal.SIGTERM: "SIGTERM", _signal.SIGINT: "SIGINT"}

    def stop(signum: int, _frame: object) -> None:
        os.write(2, f"{prog}: stopped by {names[signum]} before starting the command\n".encode())
        os._exit(128 + signum)

    for signum in names:
        _signal.signal(signum, stop)


def exec_command(
    path: str, argv: Sequence[str], env: Mapping[str, str], keep_fds: frozenset[int]
) -> NoReturn:
    """``execve`` the application; on failure raise with 126/127 like a shell."""
    seal_agent_fds(keep_fds)
    # Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal stays
    # ignored across execve, so give the app the defaults it expects. (Caught
    # signals, like the agent's SIGTERM handler, are reset by execve itself.)
    for signum in (_signal.SIGPIPE, _signal.SIGXFSZ):
        _signal.signal(signum, _signal.SIG_DFL)
    try:
        os.execve(path, list(argv), dict(env))
    except OSError as exc:
        import errno

        status = EXIT_NOT_FOUND if exc.errno == errno.ENOENT else EXIT_NOT_EXECUTABLE
        raise AgentError(f"exec: {path}: {exc.strerror or exc}", exit_code=status) from None
