"""Replace the agent with the application: ``execvp``-style lookup, then ``os.execve``.

The only place in the agent that calls ``execve``.
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from transformer.agent.errors import AgentError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: bench/)
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

#: Linux's limit for one argv or environment string, its NUL included (MAX_ARG_STRLEN).
MAX_ARG_STRLEN = 32 * 4096
#: Linux caps argv + envp at 3/4 of _STK_LIM (8 MiB) whatever the stack rlimit.
ARG_SPACE_CAP = 8 * 1024 * 1024 // 4 * 3
#: The kernel also counts one pointer per string.
POINTER_BYTES = 8 if sys.maxsize > 2**32 else 4


def resolve_command(
    command: str, env: Mapping[str, str], *, path_from_secrets: bool = False
) -> str:
    """Find ``command`` like ``execvp``: a name with a slash as is (relative to the
    working directory), else the first executable match on the child's ``PATH``.

    ``path_from_secrets``: a secret set ``PATH``, so messages name the command
    only, never a directory of that ``PATH``.
    """
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
    where = " (in the PATH a secret set)" if path_from_secrets else ""
    if found_unrunnable is not None:
        shown = command if path_from_secrets else found_unrunnable
        raise AgentError(
            f"exec: {shown}: permission denied (not executable){where}",
            exit_code=EXIT_NOT_EXECUTABLE,
        )
    raise AgentError(f"exec: {command}: command not found in PATH{where}", exit_code=EXIT_NOT_FOUND)


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


_exit_lock = _thread.allocate_lock()
_exit_owner: list[int] = []


def claim_exit() -> bool:
    """True for the one thread that ends the agent (again for that thread).

    The deadline watchdog and the main thread both may end the agent; the one
    that claims first speaks, so a failure is always exactly one line.
    """
    me = _thread.get_ident()
    with _exit_lock:
        if not _exit_owner:
            _exit_owner.append(me)
        return _exit_owner[0] == me


def exit_at(when: float, prog: str, message: str, status: int = 1) -> None:
    """Backstop for the start-up deadline: at ``when`` (``time.monotonic()``) print
    ``message`` and exit, unless the main thread is already ending the agent.

    Every Vault call is bounded by the deadline already; this also bounds what
    is not a Vault call (a template's CPU time). A bare thread: execve ends it.
    """

    def watch() -> None:
        time.sleep(max(0.0, when - time.monotonic()))
        if claim_exit():
            os.write(2, f"{prog}: {message}\n".encode())
            os._exit(status)

    _thread.start_new_thread(watch, ())


def check_exec_size(path: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
    """Fail like a person would explain it where ``execve`` would fail with E2BIG.

    Linux's limits (fs/exec.c): each string at most MAX_ARG_STRLEN bytes with
    its NUL; all of them (the path, argv, ``NAME=VALUE`` each with a NUL) plus
    one pointer per string at most a quarter of the stack rlimit (what
    ``sysconf(_SC_ARG_MAX)`` says), and never over 6 MiB. Names variables, never
    values.
    """
    sizes = {
        name: len(os.fsencode(name)) + len(os.fsencode(value)) + 2 for name, value in env.items()
    }
    for name, size in sizes.items():
        if size > MAX_ARG_STRLEN:
            raise AgentError(
                f"exec: the environment variable {name} is {size - 1:,} bytes as NAME=VALUE; "
                f"Linux allows at most {MAX_ARG_STRLEN - 1:,} bytes per variable",
                exit_code=EXIT_NOT_EXECUTABLE,
            )
    for number, arg in enumerate(argv):
        if len(os.fsencode(arg)) + 1 > MAX_ARG_STRLEN:
            raise AgentError(
                f"exec: argument {number} of the command is longer than Linux allows "
                f"({MAX_ARG_STRLEN - 1:,} bytes)",
                exit_code=EXIT_NOT_EXECUTABLE,
            )
    args_size = sum(len(os.fsencode(arg)) + 1 for arg in argv) + len(os.fsencode(path)) + 1
    env_size = sum(sizes.values())
    total = args_size + env_size + POINTER_BYTES * (max(len(argv), 1) + len(env))
    limit = exec_space()
    if total > limit:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
        listed = ", ".join(f"{name} ({_kib(sizes[name])})" for name in largest)
        raise AgentError(
            f"exec: the command's environment and arguments take {_kib(total)}, more than "
            f"Linux's limit of {_kib(limit)} (a quarter of the stack limit, at most 6 MiB); "
            f"environment {_kib(env_size)} in {len(env)} variables, largest: {listed}",
            exit_code=EXIT_NOT_EXECUTABLE,
        )


def exec_space() -> int:
    """Bytes ``execve`` allows for all strings and their pointers (see check_exec_size)."""
    try:
        arg_max = os.sysconf("SC_ARG_MAX")
    except (OSError, ValueError):
        arg_max = MAX_ARG_STRLEN
    return min(max(arg_max, MAX_ARG_STRLEN), ARG_SPACE_CAP)


def _kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB"


def exec_command(
    path: str, argv: Sequence[str], env: Mapping[str, str], keep_fds: frozenset[int]
) -> NoReturn:
    """``execve`` the application; on failure raise with 126/127 like a shell."""
    seal_agent_fds(keep_fds)
    check_exec_size(path, argv, env)
    while not claim_exit():  # the deadline watchdog is ending the agent: no app
        time.sleep(1)
    # Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal stays
    # ignored across execve, so give the app the defaults it expects. (Caught
    # signals, like the agent's SIGTERM handler, are reset by execve itself.)
    # Restored if execve fails: the agent still has its one line to write.
    saved = {
        signum: _signal.signal(signum, _signal.SIG_DFL)
        for signum in (_signal.SIGPIPE, _signal.SIGXFSZ)
    }
    try:
        os.execve(path, list(argv), dict(env))
    except OSError as exc:
        import errno

        for signum, handler in saved.items():
            _signal.signal(signum, handler)
        if exc.errno == errno.E2BIG:  # a limit check_exec_size does not know of
            raise AgentError(
                f"exec: {path}: the environment and arguments are too large for execve "
                f"({len(env)} variables)",
                exit_code=EXIT_NOT_EXECUTABLE,
            ) from None
        status = EXIT_NOT_FOUND if exc.errno == errno.ENOENT else EXIT_NOT_EXECUTABLE
        raise AgentError(f"exec: {path}: {exc.strerror or exc}", exit_code=status) from None
