"""A minimal HTTP/1.1 client on raw sockets, for the agent's few Vault calls.

Why not ``http.client``: importing it pulls in ``email.parser`` and ``ssl``
(measured ~30 ms of the agent's ~60 ms start-up on this machine, see
bench/agent_startup.py), and the agent only ever sends small JSON requests and
reads one response per connection. ``ssl`` is imported only for https.

One request per connection (``Connection: close``): the agent makes a handful of
calls, some from several threads at once, and a pool would cost more code than
the saved handshakes are worth on a pod's start-up.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import ssl

#: Limits that keep a misbehaving server from eating the agent's memory.
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024

#: Used when no CA file is configured (the distroless/Debian location).
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"


class WireError(OSError):
    """The server could not be reached or spoke broken HTTP (worth a retry)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass(frozen=True)
class TLSSettings:
    ca_file: str | None = None
    server_name: str | None = None
    skip_verify: bool = False


class Endpoint:
    """Where requests go: ``http(s)://host[:port][/prefix]`` plus TLS settings."""

    def __init__(self, address: str, tls: TLSSettings | None = None) -> None:
        scheme, _, rest = address.partition("://")
        if scheme not in ("http", "https") or not rest:
            raise ValueError("address must be an http:// or https:// URL")
        authority, slash, prefix = rest.partition("/")
        self.https = scheme == "https"
        self.host, self.port = _split_authority(authority, 443 if self.https else 80)
        self.host_header = authority
        self.prefix = ("/" + prefix).rstrip("/") if slash else ""
        self.tls = tls or TLSSettings()
        self._context: ssl.SSLContext | None = None
        if self.https:
            self._context = _tls_context(self.tls)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """Send one request to ``<prefix><path>`` and read the whole response.

        Raises WireError for anything below HTTP (refused, reset, timeout, TLS,
        malformed response).
        """
        lines = [
            f"{method} {self.prefix}{path} HTTP/1.1",
            f"Host: {self.host_header}",
            "Connection: close",
            "Accept: application/json",
            "User-Agent: vault-exec-agent",
        ]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None or method in ("PUT", "POST"):
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            with self._connect(timeout) as sock:
                sock.sendall(head + (body or b""))
                with sock.makefile("rb") as stream:
                    return _read_response(stream, method)
        except WireError:
            raise
        except (OSError, ValueError, UnicodeError) as exc:
            # ssl.SSLError and socket.timeout are OSErrors too.
            raise WireError(_describe(exc)) from None

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        if self._context is None:
            return sock
        try:
            return self._context.wrap_socket(
                sock, server_hostname=self.tls.server_name or self.host
            )
        except BaseException:
            sock.close()
            raise


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if "@" in authority:
        raise ValueError("address must not contain user information")
    if authority.startswith("["):  # [IPv6]:port
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.partition(":")
    if not host:
        raise ValueError("address has no host")
    if not port:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("address has an invalid port")
    return host, int(port)


def _tls_context(tls: TLSSettings) -> ssl.SSLContext:
    import os
    import ssl

    ca_file = tls.ca_file
    if ca_file is None and os.path.exists(SYSTEM_CA_FILE):
        ca_file = SYSTEM_CA_FILE
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except OSError as exc:
        raise ValueError(f"cannot load CA file {ca_file}: {exc.strerror or exc}") from None
    except ssl.SSLError:
        raise ValueError(f"CA file {ca_file} holds no usable PEM certificate") from None
    if tls.skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _read_response(stream: BinaryIO, method: str) -> Response:
    status_line = stream.readline(MAX_HEADER_BYTES)
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise WireError("the server did not answer with HTTP/1.x")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    seen = len(status_line)
    while True:
        line = stream.readline(MAX_HEADER_BYTES)
        seen += len(line)
        if seen > MAX_HEADER_BYTES or not line:
            raise WireError("the server sent truncated or oversized HTTP headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Response(status, b"")
    if chunked:
        return Response(status, _read_chunked(stream))
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise WireError("the server's response is too large")
        body = stream.read(length)
        if len(body) != length:
            raise WireError("the server closed the connection mid-response")
        return Response(status, body)
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise WireError("the server's response is too large")
    return Response(status, body)


def _read_chunked(stream: BinaryIO) -> bytes:
    pieces: list[bytes] = []
    total = 0
    while True:
        size_line = stream.readline(1024)
        if not size_line:
            raise WireError("the server closed the connection mid-response")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers, then the final empty line.
            while stream.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(pieces)
        total += size
        if total > MAX_BODY_BYTES:
            raise WireError("the server's response is too large")
        chunk = stream.read(size)
        if len(chunk) != size:
            raise WireError("the server closed the connection mid-response")
        pieces.append(chunk)
        stream.readline(16)  # the CRLF after each chunk


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
