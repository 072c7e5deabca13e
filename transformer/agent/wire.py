"""A minimal HTTP/1.1 client on raw sockets, for the agent's few Vault calls.

Why not ``http.client``: importing it pulls in ``email.parser`` and ``ssl``
(measured: bench/agent_startup.py), and the agent only ever sends small JSON requests and
reads one response per connection. For plain http even the ``socket`` module is
skipped: it imports ``selectors``, ``select`` and ``array`` and converts its
constants to enums (seen with ``-X importtime``); the C module
``_socket`` has all the agent needs. ``socket`` and ``ssl`` are imported only
for https.

One request per connection (``Connection: close``): the agent makes a handful of
calls, some from several threads at once, and a pool would cost more code than
the saved handshakes are worth on a pod's start-up.

Every request runs against an absolute deadline (``time.monotonic()``), not a
per-operation timeout: name resolution runs in a thread the deadline can
abandon (``getaddrinfo`` cannot be interrupted, and a resolver that never
answers blocks it for its own retries, ~15 s), and each ``send``/``recv`` gets
only what is left of the deadline, so a server trickling one byte per socket
timeout cannot stretch a request past it.
"""

from __future__ import annotations

import _socket
import _thread
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import ssl
    from typing import Any

#: Limits that keep a misbehaving server from eating the agent's memory.
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024

#: Used when no CA file is configured (the distroless/Debian location).
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"

#: The resolver, looked up at each call: the seam tests use for a resolver that hangs.
getaddrinfo = _socket.getaddrinfo


class WireError(OSError):
    """The server could not be reached or spoke broken HTTP.

    ``retryable`` is False when trying again cannot help (the server's
    certificate does not verify): the caller fails at once.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        #: Header names in lower case; a repeated header: the last one.
        self.headers = headers or {}

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is ignored)."""
        value = self.headers.get("retry-after", "").strip()
        return float(value) if value.isdigit() else None


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
        self._lookup_lock = _thread.allocate_lock()
        self._lookup: _Lookup | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
        deadline: float | None = None,
    ) -> Response:
        """Send one request to ``<prefix><path>`` and read the whole response.

        ``deadline`` (``time.monotonic()``; default: ``timeout`` from now) bounds
        the whole request: resolution, connect, TLS handshake, send and every
        receive. Raises WireError for anything below HTTP (refused, reset, timed
        out, TLS, malformed response).
        """
        if deadline is None:
            deadline = time.monotonic() + timeout
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
            sock = self._connect(deadline)
            try:
                sock.settimeout(_remaining(deadline))
                sock.sendall(head + (body or b""))  # the timeout bounds the whole sendall
                return _read_response(_Reader(sock, deadline), method)
            finally:
                sock.close()
        except WireError:
            raise
        except (OSError, ValueError, UnicodeError) as exc:
            # ssl.SSLError and socket.timeout are OSErrors too.
            raise WireError(_describe(exc), retryable=not _is_bad_certificate(exc)) from None

    def _connect(self, deadline: float) -> _socket.socket:
        addresses = self._addresses(deadline)
        if self._context is None:
            plain: _socket.socket = _connect_first(addresses, deadline, _socket.socket)
            return plain
        import socket

        sock: socket.socket = _connect_first(addresses, deadline, socket.socket)
        try:
            # The handshake runs under one timeout for all its reads (CPython's ssl).
            sock.settimeout(_remaining(deadline))
            return self._context.wrap_socket(
                sock, server_hostname=self.tls.server_name or self.host
            )
        except BaseException:
            sock.close()
            raise

    def _addresses(self, deadline: float) -> list[tuple[int, int, int, object]]:
        """The host's addresses, resolved once; a failed lookup is tried again next time."""
        # An ASCII host as bytes: a str host makes getaddrinfo load the idna codec.
        host = self.host.encode("ascii") if self.host.isascii() else self.host
        if _is_ip_literal(self.host):  # nothing to look up, nothing that can hang
            found = getaddrinfo(host, self.port, 0, _socket.SOCK_STREAM)
            return [(family, kind, proto, address) for family, kind, proto, _, address in found]
        with self._lookup_lock:
            lookup = self._lookup
            if lookup is None or lookup.failed():
                lookup = self._lookup = _Lookup(host, self.port)
        return lookup.wait(deadline)


class _Lookup:
    """One ``getaddrinfo`` in a bare thread, waited for until a deadline.

    A lookup the deadline abandoned keeps running; the next request waits for
    the same one instead of starting another (a hung resolver costs one thread).
    """

    __slots__ = ("_done", "error", "result")

    def __init__(self, host: str | bytes, port: int) -> None:
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released when the lookup ends
        self.result: list[tuple[int, int, int, object]] | None = None
        self.error: OSError | None = None
        # A bare _thread thread: execve or os._exit ends it, like a daemon thread.
        _thread.start_new_thread(self._run, (host, port))

    def _run(self, host: str | bytes, port: int) -> None:
        try:
            found = getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
            self.result = [
                (family, kind, proto, address) for family, kind, proto, _, address in found
            ]
        except OSError as exc:
            self.error = exc
        except Exception as exc:  # a bug or an odd host: keep the waiter from hanging
            self.error = OSError(f"name resolution failed ({type(exc).__name__})")
        finally:
            self._done.release()

    def failed(self) -> bool:
        return self.error is not None

    def wait(self, deadline: float) -> list[tuple[int, int, int, object]]:
        if not self._done.acquire(timeout=_remaining(deadline)):
            raise TimeoutError("name resolution timed out")
        self._done.release()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _connect_first(
    addresses: list[tuple[int, int, int, object]], deadline: float, make: Any
) -> Any:
    """``socket.create_connection``: try each address in turn within the deadline."""
    last_error: OSError | None = None
    for family, kind, proto, address in addresses:
        sock = make(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError("no address to connect to")


def _is_ip_literal(host: str) -> bool:
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def _remaining(deadline: float) -> float:
    """What is left until the deadline, as a socket timeout; past it, a timeout now."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _Reader:
    """``readline``/``read`` over a socket's ``recv`` (what ``makefile`` gives, without io).

    Each ``recv`` may wait only for what is left of the request's deadline.
    """

    __slots__ = ("_buffer", "_deadline", "_eof", "_sock")

    def __init__(self, sock: _socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        self._sock.settimeout(_remaining(self._deadline))
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
    headers: dict[str, str] = {}
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
        headers[name.decode("latin-1")] = value.strip().decode("latin-1")
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Response(status, b"", headers)
    if chunked:
        return Response(status, _read_chunked(stream), headers)
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise _too_large()
        body = stream.read(length)
        if len(body) != length:
            raise WireError("the server closed the connection mid-response")
        return Response(status, body, headers)
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    return Response(status, body, headers)


def _too_large() -> WireError:
    # Not retried: the same request gets the same answer, at the same cost.
    return WireError(
        f"the server's response is larger than {MAX_BODY_BYTES >> 20} MiB", retryable=False
    )


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
            raise _too_large()
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
