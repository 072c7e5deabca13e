"""``vault-exec-agent``: the agent's one entry point and its one error handler.

``run [--config FILE] -- CMD [ARGS...]``: read the config, find CMD, log in,
fetch, render, build the environment, revoke the token, ``execve`` CMD.

Promises, whatever fails: the whole start-up ends by the deadline
(``retry.timeout_seconds``, client-timeout) plus at most one second; a token
the agent logged in for is revoked on every way out after the login (except
when the app is to use it); a missing command costs no login at all.
``install DEST``: copy the agent bundle (see :mod:`transformer.agent.install`).

Start-up cost is on every pod's critical path, so modules are imported only
when the subcommand needs them (measure with ``python -X importtime``).
Users see one line ``vault-exec-agent: <message>`` on failure, never a
traceback, and never a secret value.
"""

from __future__ import annotations

import os
import sys
import time

from transformer.agent.errors import AgentError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: bench/)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, NoReturn

    from transformer.agent.config import AgentConfig, TemplateSpec
    from transformer.agent.template import SecretFunc, Template
    from transformer.agent.vault import VaultClient

PROG = "vault-exec-agent"

#: Exit status for a bug in the agent (EX_SOFTWARE).
EXIT_INTERNAL = 70

#: When the deadline watchdog ends a start-up that is still busy (the Vault calls
#: themselves end at the deadline, a revoke up to 0.5 s later).
WATCHDOG_GRACE_SECONDS = 0.8


def main(argv: Sequence[str] | None = None) -> int:
    # The start-up deadline counts from the process's start (exec), not from
    # here: on a node starting many pods at once, the interpreter's own start
    # can take a second or more before this line runs.
    started = time.monotonic() - _process_age()
    # First thing: which descriptors the parent handed over (they stay the app's).
    from transformer.agent.execute import claim_exit, inheritable_fds

    keep_fds = inheritable_fds()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args, keep_fds, started)
    except AgentError as exc:
        message, status = str(exc), exc.exit_code
    except KeyboardInterrupt:
        message, status = "interrupted", 130
    except Exception as exc:  # one handler for the whole agent: no traceback, no value
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (
            f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb else ""
        )
        message = f"internal error: {type(exc).__name__}{where} (please report this)"
        status = EXIT_INTERNAL
    if claim_exit():  # else the deadline watchdog is saying its one line and exiting
        say(message)
    return status


def _process_age() -> float:
    """Seconds since this process was exec'd (``starttime`` in /proc/self/stat), else 0."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            text = stat.read()
        # Fields after the ")" that ends the command name: state is field 3, starttime 22.
        start_ticks = int(text[text.rindex(b")") + 2 :].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
    return min(max(age, 0.0), 3600.0)  # a clock oddity must not eat the whole deadline


def say(message: str) -> None:
    """One line on stderr. Callers never pass a secret value."""
    try:
        sys.stderr.write(f"{PROG}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # no stderr: nothing else to do


USAGE = f"""\
usage: {PROG} run [--config FILE] -- CMD [ARGS...]
       {PROG} install DEST
       {PROG} --version

  run      log in to Vault, render the secrets into the environment, exec CMD
           (config: the {{config_var}} env var, or --config FILE)
  install  copy the agent bundle to DEST (the init container's job)
"""


def _dispatch(args: list[str], keep_fds: frozenset[int], started: float) -> int:
    # Parsed by hand: argparse builds a help formatter (shutil, locale, gettext)
    # for a measurable part of the start-up (bench/agent_startup.py), for three forms.
    if not args or args[0] in ("-h", "--help", "help"):
        return _usage(stream=sys.stdout if args else sys.stderr, status=0 if args else 2)
    if args[0] == "--version":
        from transformer import __version__

        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    if args[0] == "install":
        if len(args) != 2 or args[1].startswith("-"):
            raise AgentError("usage: install DEST", exit_code=2)
        return _install(args[1])
    if args[0] != "run":
        raise AgentError(f"unknown command {args[0]!r} (try --help)", exit_code=2)
    config_file: str | None = None
    rest = args[1:]
    while rest and rest[0] != "--":
        option = rest.pop(0)
        if option in ("-h", "--help"):
            return _usage(stream=sys.stdout, status=0)
        if option == "--config":
            if not rest or rest[0] == "--":
                raise AgentError("run: --config needs a FILE", exit_code=2)
            config_file = rest.pop(0)
        elif option.startswith("--config="):
            config_file = option.partition("=")[2]
        elif option.startswith("-"):
            raise AgentError(
                f"run: unknown option {option!r} (usage: run [--config FILE] -- CMD)", exit_code=2
            )
        else:
            rest.insert(0, option)  # no "--": the command starts here
            break
    if rest and rest[0] == "--":
        rest = rest[1:]
    if not rest:
        raise AgentError(
            "run: missing the command (usage: run [--config FILE] -- CMD [ARGS...])", exit_code=2
        )
    run(config_file, rest, keep_fds, started)


def _usage(*, stream: Any, status: int) -> int:
    from transformer.agent.contract import CONFIG_ENV_VAR

    stream.write(USAGE.format(config_var=CONFIG_ENV_VAR))
    return status


def _install(dest: str) -> int:
    from transformer.agent.install import InstallError, install_bundle

    try:
        install_bundle(dest)
    except InstallError as exc:
        raise AgentError(f"install: {exc}") from None
    return 0


def run(
    config_file: str | None, command: list[str], keep_fds: frozenset[int], started: float
) -> NoReturn:
    """Everything up to the exec; raises AgentError, or never returns."""
    from transformer.agent.execute import exit_at, exit_promptly_on_signals

    exit_promptly_on_signals(PROG)
    from transformer.agent.config import parse_config
    from transformer.agent.contract import CONFIG_ENV_VAR
    from transformer.agent.errors import ConfigError
    from transformer.agent.execute import resolve_command
    from transformer.agent.vault import VaultClient

    config = parse_config(*_config_text(config_file, CONFIG_ENV_VAR))
    timeout = config.retry.timeout_seconds
    deadline = started + timeout
    exit_at(
        deadline + WATCHDOG_GRACE_SECONDS,
        PROG,
        f"gave up: the start-up ran past its deadline of {timeout:g} s (client-timeout)",
    )
    container_env = dict(os.environ)
    templates = _parse_templates(config.templates)
    # Before the login: a missing or unrunnable command costs no token.
    path = resolve_command(command[0], container_env)
    mode = config.auth.mode
    if config.token.to_app:
        if mode == "inline":
            raise ConfigError(
                "config: token.to_app (agent-inject-token) needs a token, "
                "which the auth mode inline never creates"
            )
        mode = "standard"

    client = VaultClient(config.vault, config.retry, deadline=deadline)
    client.login(config.auth, container_env, mode)
    try:
        _render_and_exec(config, templates, command, path, container_env, client, keep_fds)
    except BaseException:
        if client.logged_in:
            try:  # noqa: SIM105 (contextlib is an import the agent does not need)
                client.revoke_self()
            except AgentError:
                pass  # the error being raised is the one line; the token ends with its TTL
        raise


def _render_and_exec(
    config: AgentConfig,
    templates: list[Template],
    command: list[str],
    path: str,
    container_env: dict[str, str],
    client: VaultClient,
    keep_fds: frozenset[int],
) -> NoReturn:
    from transformer.agent.envfile import parse_output
    from transformer.agent.environment import child_environment
    from transformer.agent.execute import exec_command, resolve_command
    from transformer.agent.vault import has_lease

    prefetched = {spec.path for spec in config.templates}
    prefetched.update(p for t in templates for p in t.secret_paths())
    client.prefetch(sorted(prefetched))
    # A path the config or the template's text holds may appear in messages; a
    # path the template computed (from secret data, perhaps) never does.
    written = "\n".join([*prefetched, *(spec.template for spec in config.templates)])

    held_lease = False

    def secret(path: str, args: list[str]) -> Mapping[str, Any]:
        nonlocal held_lease
        response = client.secret(path, args, path_shown=path in written)
        held_lease = held_lease or has_lease(response)
        return response

    entries = []
    for spec, template in zip(config.templates, templates, strict=True):
        pieces = _render(template, spec.name, secret, container_env)
        entries.extend(parse_output(pieces, spec.name))

    child = child_environment(
        container_env,
        entries,
        frozen=bool(getattr(sys, "frozen", False)) or "__compiled__" in globals(),
        token_for_app=client.token if config.token.to_app else None,
    )
    for name in child.shadowed:
        say(f"secret {name} replaces the container's environment variable {name}")
    if child.env.get("PATH") != container_env.get("PATH"):
        path = resolve_command(command[0], child.env, path_from_secrets=True)

    if client.logged_in:
        if config.token.to_app:
            pass  # agent-inject-token: the app uses the token on purpose
        elif not config.token.revoke:
            say("keeping the Vault token (token.revoke is false)")
        elif held_lease:
            say("keeping the Vault token: a rendered secret holds a lease that revoking would end")
        else:
            try:
                client.revoke_self()
            except AgentError as exc:
                # The token expires with its TTL; failing the pod for it helps no one.
                say(f"warning: could not revoke the Vault token: {exc}")
    exec_command(path, command, child.env, keep_fds)


def _config_text(config_file: str | None, env_var: str) -> tuple[str, str]:
    from transformer.agent.errors import ConfigError

    if config_file is not None:
        try:
            with open(config_file, encoding="utf-8") as f:
                return f.read(), config_file
        except OSError as exc:
            raise ConfigError(f"config: cannot read {config_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config: {config_file} is not UTF-8 text") from None
    text = os.environ.get(env_var)
    if text is None:
        raise ConfigError(f"config: set {env_var} or pass --config FILE")
    return text, env_var


def _parse_templates(specs: Sequence[TemplateSpec]) -> list[Template]:
    from transformer.agent.template import TemplateError, parse

    parsed = []
    for spec in specs:
        try:
            parsed.append(parse(spec.template, spec.name))
        except TemplateError as exc:
            raise AgentError(str(exc)) from None
    return parsed


def _render(
    template: Template, name: str, secret: SecretFunc, env: Mapping[str, str]
) -> list[tuple[str, bool]]:
    from transformer.agent.template import TemplateError

    try:
        return template.render(secret, env)
    except TemplateError as exc:
        raise AgentError(str(exc)) from None
    except AgentError as exc:  # a Vault call the template made
        raise AgentError(f"template {name}: {exc}", exit_code=exc.exit_code) from None
