"""HTTP framing of the agent's socket client.

A real Vault only ever shows one or two framings, so these cases use a canned
loopback server (a test double standing in for a misbehaving or unusual HTTP
server) that answers each connection with fixed bytes.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from transformer.agent.wire import Endpoint, WireError


class CannedServer:
    def __init__(self) -> None:
        self.reply = b""
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                head, _, body = request.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        while len(body) < int(line.split(b":")[1]):
                            body += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(self.reply)


@pytest.fixture(scope="module")
def server() -> Iterator[CannedServer]:
    canned = CannedServer()
    yield canned
    # shutdown() ends the accept() that close() alone would leave waiting: a
    # stale one took connections meant for a later server on the same descriptor.
    canned.sock.shutdown(socket.SHUT_RDWR)
    canned.sock.close()


@pytest.mark.parametrize(
    ("reply", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 200, b'{"a":1}'),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nTrailer: x\r\n\r\n", 200, b'{"a":1}'),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"until\": \"close\"}", 200,
         b'{"until": "close"}'),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        (b"HTTP/1.0 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}", 503, b"{}"),
    ],
)  # fmt: skip
def test_framings(server: CannedServer, reply: bytes, status: int, body: bytes) -> None:
    server.reply = reply
    response = Endpoint(server.address).request("GET", "/v1/x")
    assert (response.status, response.body) == (status, body)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n", "the server did not answer with HTTP/1.x"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "mid-response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "mid-response"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"x" * 70_000 + b"\r\n\r\n", "oversized HTTP headers"),
        (b"", "the server did not answer with HTTP/1.x"),
    ],
)  # fmt: skip
def test_broken_answers_are_wire_errors(server: CannedServer, reply: bytes, message: str) -> None:
    server.reply = reply
    with pytest.raises(WireError, match=message) as info:
        Endpoint(server.address).request("GET", "/v1/x", timeout=10)
    assert info.value.retryable


def test_request_framing_and_prefix(server: CannedServer) -> None:
    server.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    Endpoint(server.address + "/vault/").request(
        "PUT", "/v1/a", headers={"X-Vault-Token": "t"}, body=b'{"k":"v"}'
    )
    request = server.requests[-1]
    assert request.startswith(b"PUT /vault/v1/a HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nX-Vault-Token: t\r\n" in request
    assert b"\r\nContent-Length: 9\r\n" in request
    assert request.endswith(b'\r\n\r\n{"k":"v"}')


def test_refused_connection_is_a_retryable_wire_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the request runs
    with pytest.raises(WireError, match=r"^connection refused$") as info:
        Endpoint(f"http://127.0.0.1:{port}").request("GET", "/v1/x")
    assert info.value.retryable


@pytest.mark.parametrize(
    ("address", "host", "port", "prefix"),
    [
        ("http://vault:8200", "vault", 8200, ""),
        ("https://vault.example", "vault.example", 443, ""),
        ("http://[::1]:8200/base/", "::1", 8200, "/base"),
        ("http://vault", "vault", 80, ""),
    ],
)
def test_addresses(address: str, host: str, port: int, prefix: str) -> None:
    endpoint = Endpoint(address)
    assert (endpoint.host, endpoint.port, endpoint.prefix) == (host, port, prefix)


@pytest.mark.parametrize(
    "address", ["vault:8200", "http://user@vault", "http://vault:99999", "http://:1"]
)
def test_bad_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        Endpoint(address)
