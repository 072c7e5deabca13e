"""The agent's promises under faults (issue 9 §3): a hard deadline, a token
revoked on every way out, no secret in any message, a clear E2BIG, Retry-After.

Servers that misbehave are loopback TEST DOUBLES (a real Vault does not trickle
or hang on purpose): :class:`FaultServer` answers each connection with a
scripted behaviour. A resolver that never answers is injected at the agent's
one resolver seam (``transformer.agent.wire.getaddrinfo``) in a real agent
process. Token accounting runs against the real OpenBao (``test_vault``).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_main import BASE_ENV, config_for, kube_auth, kv2_secret, run_agent, seed_template

from testkit.openbao import TestVault, free_port_pair
from transformer.agent.config import AuthSettings, RetrySettings, VaultSettings
from transformer.agent.errors import AgentError
from transformer.agent.execute import MAX_ARG_STRLEN, check_exec_size, exec_space
from transformer.agent.vault import VaultClient, VaultError
from transformer.agent.wire import Endpoint, WireError

#: The agent's promise: give up within the deadline plus this.
DEADLINE_SLACK = 1.0

#: (connection, its number from 1, the request's bytes up to the end of its head)
Behaviour = Callable[[socket.socket, int, bytes], None]


class FaultServer:
    """Loopback TEST DOUBLE: runs ``behaviour(connection, n, request)`` for the n-th connection."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.arrivals: list[float] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.arrivals.append(time.monotonic())
            number = len(self.arrivals)
            threading.Thread(target=self._one, args=(conn, number), daemon=True).start()

    def _one(self, conn: socket.socket, number: int) -> None:
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn, number, _read_request(conn))

    def close(self) -> None:
        stop_listening(self.sock, self._thread)
        self._stop.set()


def stop_listening(sock: socket.socket, acceptor: threading.Thread) -> None:
    """Close a listening socket and end the thread blocked in its accept().

    close() alone leaves that accept() waiting, and a later socket may get the
    same descriptor number: the stale thread then accepts connections meant for
    another server (seen: the TokenReview double's). shutdown() wakes it.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    acceptor.join(10)
    sock.close()


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(65536)
        if not chunk:
            break
        request += chunk
    return request


@pytest.fixture
def fault_server(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    server = FaultServer(request.param)
    yield server
    server.close()


def trickle(conn: socket.socket, _number: int, _request: bytes) -> None:
    """One byte of a never-ending response every 0.2 s (each under any socket timeout)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    for index in range(600):  # bounded: 120 s at most
        conn.sendall(head[index : index + 1] or b" ")
        time.sleep(0.2)


def reply(status: int, body: bytes = b"{}", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode() + body


OK_SECRET = reply(200, b'{"data": {"data": {"A": "1"}}}')


def jwt_auth(token_file: Path) -> dict[str, Any]:
    # jwt, not kubernetes: no TokenReview round trip to the test's apiserver double.
    return kube_auth(token_file, "jwt")


def token_client(address: str, timeout: float, retries: int = 1000) -> VaultClient:
    client = VaultClient(VaultSettings(address), RetrySettings(timeout, retries))
    client.login(AuthSettings("token", "auth/token", None, ""), {"VAULT_TOKEN": "t"})
    return client


def agent_config(address: str, timeout: float, path: str = "secret/data/app/x") -> dict[str, Any]:
    return {
        "version": 1,
        "vault": {"address": address},
        "auth": {"method": "token"},
        "retry": {"timeout_seconds": timeout},
        "templates": [{"name": "t", "path": path, "template": seed_template("t", path)[2]}],
    }


# ---- a hard deadline ----------------------------------------------------------


@pytest.mark.parametrize("fault_server", [trickle], indirect=True)
def test_a_trickling_server_is_cut_at_the_deadline(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    # Each byte arrives well within any per-read timeout: only a deadline stops it.
    started = time.monotonic()
    run = run_agent(
        tmp_path,
        agent_config(fault_server.address, 2),
        env={"VAULT_TOKEN": "t"},
        command=["/bin/true"],
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1, run.stderr
    assert "timed out" in run.stderr
    assert "deadline of 2 s" in run.stderr
    assert elapsed < 2 + DEADLINE_SLACK, elapsed


HANGING_RESOLVER = """\
import sys, time
import transformer.agent.wire as wire

def resolver_that_never_answers(*args, **kwargs):
    time.sleep(3600)  # a DNS server that never answers, as seen from getaddrinfo

wire.getaddrinfo = resolver_that_never_answers
from transformer.agent.main import main
sys.exit(main())
"""


def test_a_resolver_that_never_answers_is_cut_at_the_deadline(tmp_path: Path) -> None:
    launcher = tmp_path / "agent_with_hanging_resolver.py"
    launcher.write_text(HANGING_RESOLVER)
    started = time.monotonic()
    run = run_agent(
        tmp_path,
        agent_config("http://vault.example.test:8200", 2),
        env={"VAULT_TOKEN": "t"},
        command=["/bin/true"],
        agent=[sys.executable, str(launcher)],
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert run.stderr == (
        "vault-exec-agent: template t: GET secret/data/app/x: cannot reach Vault at "
        "vault.example.test:8200: timed out (gave up after 1 attempts: deadline of 2 s)\n"
    )
    assert elapsed < 2 + DEADLINE_SLACK, elapsed


def test_the_deadline_counts_from_the_process_start() -> None:
    # What main() subtracts: this process's age from /proc/self/stat.
    from transformer.agent.main import _process_age

    age = _process_age()
    assert 0 < age < time.clock_gettime(time.CLOCK_BOOTTIME)
    started = time.monotonic() - age
    elapsed = subprocess.run(
        [sys.executable, "-c", "from transformer.agent.main import _process_age as a; print(a())"],
        env=BASE_ENV,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert 0 < float(elapsed.stdout) < 10  # a fresh process: young
    assert started < time.monotonic()


def test_a_hung_lookup_is_shared_by_later_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    release = threading.Event()

    def hanging(*args: object) -> list[Any]:
        calls.append(args)
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr("transformer.agent.wire.getaddrinfo", hanging)
    endpoint = Endpoint("http://vault.example.test:8200")
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(WireError, match=r"^timed out$"):
            endpoint.request("GET", "/v1/x", timeout=0.2)
        assert time.monotonic() - started < 1
    assert len(calls) == 1  # one thread waits on the resolver, not one per attempt
    release.set()


def test_the_watchdog_ends_a_start_up_that_runs_past_its_deadline(tmp_path: Path) -> None:
    # What no Vault call bounds (a template's CPU time): the backstop ends it.
    script = (
        "import time\n"
        "from transformer.agent.execute import exit_at\n"
        "exit_at(time.monotonic() + 0.5, 'vault-exec-agent', 'gave up: deadline')\n"
        "while True: sum(range(10000))\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=BASE_ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr == "vault-exec-agent: gave up: deadline\n"
    assert time.monotonic() - started < 5


# ---- Retry-After, oversized answers --------------------------------------------


def _retry_after_then_ok(seconds: int) -> Behaviour:
    def behaviour(conn: socket.socket, number: int, _request: bytes) -> None:
        if number == 1:
            conn.sendall(reply(429, b'{"errors": ["rate limited"]}', f"Retry-After: {seconds}\r\n"))
        else:
            conn.sendall(OK_SECRET)

    return behaviour


@pytest.mark.parametrize("fault_server", [_retry_after_then_ok(1)], indirect=True)
def test_retry_after_is_honoured(fault_server: FaultServer) -> None:
    client = token_client(fault_server.address, 10)
    assert client.secret("secret/data/app/x")["data"]["data"] == {"A": "1"}
    first, second = fault_server.arrivals
    assert second - first >= 1.0  # the backoff alone would be 0.125-0.25 s


@pytest.mark.parametrize("fault_server", [_retry_after_then_ok(30)], indirect=True)
def test_retry_after_past_the_deadline_gives_up_at_once(fault_server: FaultServer) -> None:
    client = token_client(fault_server.address, 5)
    started = time.monotonic()
    with pytest.raises(VaultError) as info:
        client.secret("secret/data/app/x")
    assert time.monotonic() - started < 1
    assert str(info.value) == (
        "GET secret/data/app/x: Vault is unavailable (standby or rate limited) (429): "
        "rate limited (gave up after 1 attempts; Vault asked to retry after 30 s: "
        "deadline of 5 s)"
    )
    assert len(fault_server.arrivals) == 1


def _oversized(conn: socket.socket, _number: int, _request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n{")


@pytest.mark.parametrize("fault_server", [_oversized], indirect=True)
def test_an_oversized_answer_is_not_retried(fault_server: FaultServer) -> None:
    client = token_client(fault_server.address, 10)
    with pytest.raises(VaultError, match=r"larger than 32 MiB$"):
        client.secret("secret/data/app/x")
    assert len(fault_server.arrivals) == 1


# ---- the token is revoked on every way out ---------------------------------------


def _failing_runs(vault: TestVault, tmp_path: Path) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(what, config, command) for runs that fail after a standard login."""
    good = kv2_secret(vault, {"X": "x", "B64": "not base64!"})
    (tmp_path / "garbage").write_bytes(b"\x7fELF garbage")
    (tmp_path / "garbage").chmod(0o755)
    token_file = tmp_path / "sa-token"
    token_file.write_text(vault.mint_sa_token())
    auth = jwt_auth(token_file)
    child = [sys.executable, str(tmp_path / "child.py")]
    with_to_app = config_for(vault, [seed_template("t", good)], auth=auth, token={"to_app": True})
    no_revoke = config_for(vault, [seed_template("t", good)], auth=auth, token={"revoke": False})
    return [
        ("403", config_for(vault, [seed_template("t", "secret/data/other/x")], auth=auth), child),
        (
            "template error",
            config_for(
                vault,
                [
                    (
                        "t",
                        good,
                        f'{{{{ with secret "{good}" }}}}B={{{{ base64Decode .Data.data.B64 }}}}'
                        "{{ end }}",
                    )
                ],
                auth=auth,
            ),
            child,
        ),
        (
            "output error",
            config_for(vault, [("t", good, "not an entry\n")], auth=auth),
            child,
        ),
        ("exec error, token for the app", with_to_app, [str(tmp_path / "garbage")]),
        ("exec error, token kept", no_revoke, [str(tmp_path / "garbage")]),
    ]


def test_no_failure_after_a_login_leaves_a_live_token(
    test_vault: TestVault, tmp_path: Path
) -> None:
    for what, config, command in _failing_runs(test_vault, tmp_path):
        before = test_vault.bao.token_accessors()
        run = run_agent(tmp_path, config, command=command)
        assert run.returncode != 0, what
        problems = [line for line in run.stderr.splitlines() if ": keeping the " not in line]
        assert len(problems) == 1, (what, run.stderr)
        assert test_vault.bao.token_accessors() == before, what


def test_a_missing_command_costs_no_login(tmp_path: Path) -> None:
    # Nothing listens at the address: a login attempt would fail differently.
    config = agent_config(f"http://127.0.0.1:{free_port_pair()}", 5)
    config["auth"] = {
        "method": "jwt",
        "role": "app",
        "token_path": "/nonexistent",
        "mode": "standard",
    }
    run = run_agent(tmp_path, config, command=["no-such-program-here"])
    assert run.returncode == 127
    assert run.stderr == "vault-exec-agent: exec: no-such-program-here: command not found in PATH\n"


# ---- no secret value in any message ------------------------------------------------


def test_a_read_path_built_from_secret_data_is_not_shown(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    first = kv2_secret(test_vault, {"next": "hunter2-path"})
    template = (
        f'{{{{ with secret "{first}" }}}}'
        '{{ with secret (printf "secret/data/app/%s" .Data.data.next) }}A=1{{ end }}{{ end }}'
    )
    config = config_for(test_vault, [("t", first, template)], auth=jwt_auth(sa_token_file))
    run = run_agent(tmp_path, config)
    assert run.returncode == 1
    assert "hunter2" not in run.stderr
    assert run.stderr == (
        "vault-exec-agent: template t: GET (a secret path computed by the template, "
        "not shown): not found (404)\n"
    )


def test_a_read_path_written_in_the_template_is_shown(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    config = config_for(
        test_vault,
        [seed_template("t", "secret/data/app/missing-for-faults")],
        auth=jwt_auth(sa_token_file),
    )
    run = run_agent(tmp_path, config)
    assert run.stderr == (
        "vault-exec-agent: template t: GET secret/data/app/missing-for-faults: not found (404)\n"
    )


def test_a_secret_value_as_a_key_is_not_shown(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"pw": "hunter2-x y"})
    template = f'{{{{ with secret "{path}" }}}}{{{{ .Data.data.pw }}}}=1{{{{ end }}}}'
    config = config_for(test_vault, [("t", path, template)], auth=jwt_auth(sa_token_file))
    run = run_agent(tmp_path, config)
    assert run.returncode == 1
    assert "hunter2" not in run.stderr
    assert run.stderr == (
        "vault-exec-agent: template t: output line 1: a key from secret data (not shown: "
        "it may be a secret value) is not a valid environment variable name\n"
    )


# ---- an environment too large for execve ---------------------------------------------


def _kernel_accepts(path: str, argv: list[str], env: dict[str, str]) -> bool:
    try:
        subprocess.run(argv, executable=path, env=env, check=True, timeout=30)
    except OSError as exc:
        if exc.errno != errno.E2BIG:
            raise
        return False
    return True


def _our_check_accepts(path: str, argv: list[str], env: dict[str, str]) -> bool:
    try:
        check_exec_size(path, argv, env)
    except AgentError:
        return False
    return True


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_size_check_agrees_with_the_kernel_on_one_variable(extra: int) -> None:
    env = {"BIG": "v" * (MAX_ARG_STRLEN - len("BIG=") - 1 + extra)}
    argv = ["/bin/true"]
    assert _our_check_accepts("/bin/true", argv, env) == _kernel_accepts("/bin/true", argv, env)
    assert _kernel_accepts("/bin/true", argv, env) == (extra <= 0)


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_size_check_agrees_with_the_kernel_on_the_total(extra: int) -> None:
    limit = exec_space()
    size = MAX_ARG_STRLEN - 100
    # As many big variables as fit, then PAD fills the rest to the limit (+ extra).
    env = {f"V{i:04d}": "v" * size for i in range(limit // (size + 14))}
    argv = ["/bin/true", "x"]
    env["PAD"] = ""
    used = sum(len(a) + 1 for a in argv) + len("/bin/true") + 1
    used += sum(len(k) + len(v) + 2 for k, v in env.items()) + 8 * (len(argv) + len(env))
    assert 0 < limit - used < MAX_ARG_STRLEN - 10  # PAD itself stays under the per-string limit
    env["PAD"] = "p" * (limit - used + extra)
    assert _kernel_accepts("/bin/true", argv, env) == (extra <= 0)
    assert _our_check_accepts("/bin/true", argv, env) == (extra <= 0)


def test_too_large_an_environment_names_variables_never_values(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    secret = {f"PART{i}": f"hunter2{i}" + "x" * 120_000 for i in range(30)}
    path = kv2_secret(test_vault, secret)
    config = config_for(test_vault, [seed_template("t", path)], auth=jwt_auth(sa_token_file))
    before = test_vault.bao.token_accessors()
    run = run_agent(tmp_path, config, command=["/bin/true"])
    assert run.returncode == 126
    assert "hunter2" not in run.stderr
    assert run.stderr.startswith("vault-exec-agent: exec: the command's environment and ")
    assert "more than Linux's limit of" in run.stderr
    assert "largest: PART" in run.stderr
    assert run.stderr.count("\n") == 1
    assert test_vault.bao.token_accessors() == before

    one = kv2_secret(test_vault, {"HUGE": "hunter2" + "x" * 140_000})
    config = config_for(test_vault, [seed_template("t", one)], auth=jwt_auth(sa_token_file))
    run = run_agent(tmp_path, config, command=["/bin/true"])
    assert run.returncode == 126
    assert run.stderr == (
        "vault-exec-agent: exec: the environment variable HUGE is 140,012 bytes as NAME=VALUE; "
        "Linux allows at most 131,071 bytes per variable\n"
    )


# ---- start-up cost -----------------------------------------------------------------

#: The agent's entry point as the bundle and the console script call it.
AGENT_ENTRY = "import sys; from transformer.agent.main import main; sys.exit(main())"

#: Kept off the agent's run path on purpose (start-up time, bench/agent_startup.py).
NOT_ON_THE_RUN_PATH = (
    "re",
    "typing",
    "json",
    "dataclasses",
    "enum",
    "collections",
    "encodings.idna",  # what a str host costs getaddrinfo
    "threading",
    "socket",
)


@pytest.mark.parametrize("mode", ["inline", "standard"])
def test_the_run_path_imports_none_of_the_costly_modules(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path, mode: str
) -> None:
    path = kv2_secret(test_vault, {"A": "1"})
    config = config_for(
        test_vault, [seed_template("t", path)], auth=kube_auth(sa_token_file, "jwt", mode)
    )
    run = run_agent(
        tmp_path,
        config,
        command=["/bin/true"],
        # -c, not -m: runpy itself imports contextlib, functools and collections
        agent=[sys.executable, "-S", "-X", "importtime", "-c", AGENT_ENTRY],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "transformer.agent.vault" in imported  # the measurement saw the run path
    assert sorted(imported & set(NOT_ON_THE_RUN_PATH)) == []
