"""A minimal HTTP/1.1 client on raw sockets, for the agent's few Vault calls.

Why not ``http.client``: importing it pulls in ``email.parser`` and ``ssl``
(~30 ms on this machine), and the agent only ever sends small JSON requests and
reads one response per connection. For plain http even the ``socket`` module is
skipped: it imports ``selectors``, ``select`` and ``array`` and converts its
constants to enums (~10-20 ms measured with ``-X importtime``); the C module
``_socket`` has all the agent needs. ``socket`` and ``ssl`` are imported only
for https.

One request per connection (``Connection: close``): the agent makes a handful of
calls, some from several threads at once, and a pool would cost more code than
the saved handshakes are worth on a pod's start-up.
"""

from __future__ import annotations

import _socket

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import ssl

#: Limits that keep a misbehaving server from eating the agent's memory.
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024

#: Used when no CA file is configured (the distroless/Debian location).
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"


class WireError(OSError):
    """The server could not be reached or spoke broken HTTP.

    ``retryable`` is False when trying again cannot help (the server's
    certificate does not verify): the caller fails at once.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Response:
    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


class TLSSettings:
    __slots__ = ("ca_file", "server_name", "skip_verify")

    def __init__(
        self, ca_file: str | None = None, server_name: str | None = None, skip_verify: bool = False
    ) -> None:
        self.ca_file = ca_file
        self.server_name = server_name
        self.skip_verify = skip_verify


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
            sock = self._connect(timeout)
            try:
                sock.sendall(head + (body or b""))
                return _read_response(_Reader(sock), method)
            finally:
                sock.close()
        except WireError:
            raise
        except (OSError, ValueError, UnicodeError) as exc:
            # ssl.SSLError and socket.timeout are OSErrors too.
            raise WireError(_describe(exc), retryable=not _is_bad_certificate(exc)) from None

    def _connect(self, timeout: float) -> _socket.socket:
        # An ASCII host as bytes: a str host makes getaddrinfo load the idna codec (~4 ms).
        host: str | bytes = self.host.encode("ascii") if self.host.isascii() else self.host
        if self._context is None:
            return _connect_plain(host, self.port, timeout)
        import socket

        sock = socket.create_connection((host, self.port), timeout=timeout)  # type: ignore[arg-type]
        try:
            return self._context.wrap_socket(
                sock, server_hostname=self.tls.server_name or self.host
            )
        except BaseException:
            sock.close()
            raise


def _connect_plain(host: str | bytes, port: int, timeout: float) -> _socket.socket:
    """``socket.create_connection`` on ``_socket``: try each address in turn."""
    last_error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError("no address to connect to")


class _Reader:
    """``readline``/``read`` over a socket's ``recv`` (what ``makefile`` gives, without io)."""

    __slots__ = ("_buffer", "_eof", "_sock")

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._sock.recv(65536)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def readline(self, limit: int) -> bytes:
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) >= limit or not self._fill():
                return self._take(min(limit, len(self._buffer)))

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(min(size, len(self._buffer)))

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


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


def _read_response(stream: _Reader, method: str) -> Response:
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


def _read_chunked(stream: _Reader) -> bytes:
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


def _is_bad_certificate(exc: BaseException) -> bool:
    # By name: the plain-http path never imports ssl.
    return type(exc).__name__ == "SSLCertVerificationError"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
