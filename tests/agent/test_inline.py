"""Zero-token pod starts (issue 11): inline auth, its fallback, batch tokens.

Against the real OpenBao 2.7 dev server (``test_vault``); what reached Vault is
counted by :class:`CountingProxy`, a forwarder the agent talks through (2.7
refuses to enable an audit device through the API on a running server). A
server WITHOUT inline auth (HashiCorp Vault, OpenBao < 2.4) cannot run here,
so :class:`FaultServer` stands in for one (a TEST DOUBLE that answers like such
a server: an inline request is just an anonymous one, 403).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_faults import FaultServer, reply, stop_listening
from test_main import config_for, kube_auth, kv2_secret, run_agent, seed_template

from testkit.openbao import NAMESPACE, POLICY, SERVICE_ACCOUNT, TestVault
from transformer.agent.config import AuthSettings, RetrySettings, VaultSettings
from transformer.agent.vault import VaultClient, inline_auth_headers

BATCH_ROLE = "app-batch"


class CountingProxy:
    """A loopback forwarder in front of the real server that records each request.

    The agent sends one request per connection (``Connection: close``), so each
    connection is one request: its head is read, recorded as ``(METHOD, path)``
    (path without ``/v1/``), forwarded with its body, and the answer piped back.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port))
        self.seen: list[tuple[str, str]] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def take(self) -> list[tuple[str, str]]:
        seen, self.seen = self.seen, []
        return seen

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(self.upstream, timeout=30) as upstream:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    while len(body) < int(value):
                        body += conn.recv(65536)
            method, target = head.split(b" ")[:2]
            self.seen.append((method.decode(), target.decode().removeprefix("/v1/")))
            upstream.sendall(head + b"\r\n\r\n" + body)
            while chunk := upstream.recv(65536):
                conn.sendall(chunk)

    def close(self) -> None:
        stop_listening(self.sock, self._thread)


@pytest.fixture(scope="module")
def proxy(test_vault: TestVault) -> Iterator[CountingProxy]:
    test_vault.client().write_data(
        f"auth/jwt/role/{BATCH_ROLE}",
        data={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            "bound_audiences": ["vault"],
            "token_policies": [POLICY],
            "token_type": "batch",
            "token_ttl": "10m",
        },
    )
    counting = CountingProxy(test_vault.address)
    yield counting
    counting.close()


#: A template whose write issues a certificate: a secret that holds a lease.
LEASED_WRITE = (
    '{{ with secret "pki/issue/leased" "common_name=a.example.test" }}'
    "SERIAL={{ .Data.serial_number }}{{ end }}"
)


def through(proxy: CountingProxy, config: dict[str, Any]) -> dict[str, Any]:
    config["vault"]["address"] = proxy.address
    return config


def jwt_auth(token_file: Path, mode: str, role: str | None = None) -> dict[str, Any]:
    auth = kube_auth(token_file, "jwt", mode)
    if role:
        auth["role"] = role
    return auth


@pytest.mark.parametrize("mode", ["auto", "inline"])
def test_inline_reads_one_request_per_path_and_no_token(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path, mode: str
) -> None:
    first = kv2_secret(test_vault, {"A": "a\nb", "B": "=x="})
    second = kv2_secret(test_vault, {"C": "ü"})
    config = config_for(
        test_vault,
        [seed_template("one", first), seed_template("two", second)],
        auth=jwt_auth(sa_token_file, mode),
    )
    before = test_vault.bao.token_accessors()
    proxy.take()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.child is not None
    assert {k: run.child["env"][k] for k in "ABC"} == {"A": "a\nb", "B": "=x=", "C": "ü"}
    assert sorted(proxy.take()) == sorted([("GET", first), ("GET", second)])
    assert test_vault.bao.token_accessors() == before


def test_standard_mode_logs_in_reads_and_revokes(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"A": "1"})
    config = config_for(
        test_vault, [seed_template("t", path)], auth=jwt_auth(sa_token_file, "standard")
    )
    before = test_vault.bao.token_accessors()
    proxy.take()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 0, run.stderr
    assert proxy.take() == [
        ("POST", "auth/jwt/login"),
        ("GET", path),
        ("POST", "auth/token/revoke-self"),
    ]
    assert test_vault.bao.token_accessors() == before


def test_a_batch_token_is_not_revoked_and_no_warning(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"A": "1"})
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=jwt_auth(sa_token_file, "standard", BATCH_ROLE),
    )
    before = test_vault.bao.token_accessors()
    proxy.take()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert proxy.take() == [("POST", "auth/jwt/login"), ("GET", path)]
    assert test_vault.bao.token_accessors() == before  # a batch token is never stored


def test_auto_mode_logs_in_for_a_write_that_makes_a_lease(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path
) -> None:
    template = LEASED_WRITE
    config = config_for(
        test_vault,
        [("t", "pki/issue/leased", template)],
        auth=jwt_auth(sa_token_file, "auto"),
    )
    before = test_vault.bao.token_accessors()
    proxy.take()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["SERIAL"]
    requests = proxy.take()
    # the config's path is also prefetched inline (a read pki refuses); then one
    # login for the write, which holds a lease: the token stays for it
    assert ("POST", "auth/jwt/login") in requests
    assert requests.count(("PUT", "pki/issue/leased")) == 1
    assert ("POST", "auth/token/revoke-self") not in requests
    assert len(test_vault.bao.token_accessors() - before) == 1
    assert "holds a lease" in run.stderr


def test_inline_mode_refuses_a_secret_that_makes_a_lease(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path
) -> None:
    template = LEASED_WRITE
    config = config_for(
        test_vault,
        [("t", "secret/data/app/none", template)],
        auth=jwt_auth(sa_token_file, "inline"),
    )
    before = test_vault.bao.token_accessors()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 1
    assert run.stderr == (
        "vault-exec-agent: template t: PUT pki/issue/leased: the secret creates a lease, "
        "which inline auth cannot hold (the platform's auth mode is inline: auto or standard "
        "can read secrets that create leases)\n"
    )
    assert test_vault.bao.token_accessors() == before


def test_auto_mode_a_forbidden_path_falls_back_and_leaves_no_token(
    test_vault: TestVault, proxy: CountingProxy, sa_token_file: Path, tmp_path: Path
) -> None:
    config = config_for(
        test_vault,
        [seed_template("t", "secret/data/other/x")],
        auth=jwt_auth(sa_token_file, "auto"),
    )
    before = test_vault.bao.token_accessors()
    proxy.take()
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 1
    assert run.stderr.startswith(
        "vault-exec-agent: template t: GET secret/data/other/x: permission denied (403)"
    )
    assert run.stderr.count("\n") == 1
    assert proxy.take() == [
        ("GET", "secret/data/other/x"),
        ("POST", "auth/jwt/login"),
        ("GET", "secret/data/other/x"),
        ("POST", "auth/token/revoke-self"),
    ]
    assert test_vault.bao.token_accessors() == before


def test_a_failed_inline_login_is_one_clear_line(
    test_vault: TestVault, proxy: CountingProxy, tmp_path: Path
) -> None:
    token_file = tmp_path / "foreign"
    token_file.write_text(test_vault.mint_sa_token("other-ns", "api"))
    path = kv2_secret(test_vault, {"A": "1"})
    config = config_for(test_vault, [seed_template("t", path)], auth=jwt_auth(token_file, "auto"))
    run = run_agent(tmp_path, through(proxy, config))
    assert run.returncode == 1
    assert run.stderr.startswith(
        f"vault-exec-agent: template t: GET {path}: the inline login at auth/jwt/login failed: "
    )
    assert run.stderr.count("\n") == 1
    assert token_file.read_text() not in run.stderr


def test_the_inline_headers_are_what_openbao_documents() -> None:
    headers = inline_auth_headers("/auth/jwt/login/", {"role": "app", "jwt": "e.y.J"})
    assert list(headers) == [
        "X-Vault-Inline-Auth-Path",
        "X-Vault-Inline-Auth-Parameter-role",
        "X-Vault-Inline-Auth-Parameter-jwt",
    ]
    assert headers["X-Vault-Inline-Auth-Path"] == "auth/jwt/login"
    for field, value in (("role", "app"), ("jwt", "e.y.J")):
        encoded = headers[f"X-Vault-Inline-Auth-Parameter-{field}"]
        assert not set(encoded) & set("=+/")  # unpadded, URL-safe
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        assert json.loads(decoded) == {"key": field, "value": value}


class VaultWithoutInlineAuth:
    """What a server without inline auth does with the agent's requests (TEST DOUBLE)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn: socket.socket, _number: int, request: bytes) -> None:
        first = request.split(b"\r\n", 1)[0].decode()
        inline = b"x-vault-inline-auth-path" in request.lower()
        token = b"x-vault-token: t-1" in request.lower()
        self.seen.append(f"{first.split()[0]} {first.split()[1]}{' inline' if inline else ''}")
        if first.startswith("POST /v1/auth/jwt/login"):
            conn.sendall(reply(200, b'{"auth": {"client_token": "t-1", "token_type": "service"}}'))
        elif first.startswith("POST /v1/auth/token/revoke-self") and token:
            conn.sendall(reply(204, b""))
        elif first.startswith("GET /v1/secret/data/app/x") and token:
            conn.sendall(reply(200, b'{"data": {"data": {"A": "1"}}}'))
        else:
            conn.sendall(reply(403, b'{"errors": ["permission denied"]}'))


def test_auto_mode_falls_back_to_one_login_on_a_server_without_inline_auth(
    tmp_path: Path,
) -> None:
    double = VaultWithoutInlineAuth()
    server = FaultServer(double)
    try:
        token_file = tmp_path / "jwt"
        token_file.write_text("e.y.J")
        client = VaultClient(VaultSettings(server.address), RetrySettings(10, 3))
        client.login(AuthSettings("jwt", "auth/jwt", "app", str(token_file)), {}, "auto")
        assert client.secret("secret/data/app/x")["data"]["data"] == {"A": "1"}
        client.revoke_self()
    finally:
        server.close()
    assert double.seen == [
        "GET /v1/secret/data/app/x inline",
        "POST /v1/auth/jwt/login",
        "GET /v1/secret/data/app/x",
        "POST /v1/auth/token/revoke-self",
    ]
