"""The agent's Vault/OpenBao client: log in, read, write, revoke-self.

Only the calls the agent needs, on :mod:`transformer.agent.wire`. Transient
failures (connection errors, 5xx incl. sealed 503, 429, 412) are retried with
jittered exponential backoff until the start-up deadline or the retry budget
runs out; anything else (400, 403, 404, ...) fails at once. Messages name the
method, the path and the status, never a value: Vault's own error text is shown
for reads and logins only (it describes the request, not secret data), never
for writes, whose parameters the template supplied.
"""

from __future__ import annotations

import _thread
import os
import time

from transformer.agent.errors import AgentError
from transformer.agent.jsonlite import dumps, loads, loads_secret
from transformer.agent.wire import Endpoint, TLSSettings, WireError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: bench/)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from transformer.agent.config import AuthSettings, RetrySettings, VaultSettings
    from transformer.agent.wire import Response

#: Backoff between attempts: BASE * 2**n seconds, capped, times a jitter in [0.5, 1).
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 5.0
RATE_LIMITED_BASE_SECONDS = 2.0
#: Upper bound for one attempt, within what is left of the deadline.
ATTEMPT_TIMEOUT_SECONDS = 30.0
#: How far past the start-up deadline a revoke may run (the agent exits by deadline + 1 s).
REVOKE_GRACE_SECONDS = 0.5
#: What messages say instead of a secret path the template computed.
COMPUTED_PATH = "(a secret path computed by the template, not shown)"

_RETRIED_STATUSES = frozenset({412, 429})
_PATH_SAFE = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/@:+,;=!*'()$&"
)


class VaultError(AgentError):
    """A Vault call failed for good (after retries, or at once for 4xx)."""


class _InlineRefused(VaultError):
    """The server did not serve a request with inline auth (auto mode logs in instead).

    ``lease``: refused because the answer would create a lease; else a 403 (a
    server without inline auth, or a path the role may not use).
    """

    def __init__(self, message: str, *, lease: bool) -> None:
        super().__init__(message)
        self.lease = lease


class VaultClient:
    """Holds the address, TLS settings, credentials and the start-up deadline.

    Credentials: a token (a login's or a given one), or, in the ``inline`` and
    ``auto`` auth modes, the login itself, sent with every request as OpenBao's
    inline-auth headers (>= 2.4: no token is created or stored, no lease,
    nothing to revoke). ``auto`` falls back to one standard login when the
    server does not serve a request that way (an older server or HashiCorp
    Vault answer 403; a read that would create a lease is refused), and logs in
    before a write, which may create a lease.
    """

    def __init__(
        self,
        settings: VaultSettings,
        retry: RetrySettings,
        *,
        deadline: float | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        try:
            self._endpoint = Endpoint(
                settings.address,
                TLSSettings(
                    ca_file=settings.ca_cert,
                    server_name=settings.tls_server_name,
                    skip_verify=settings.tls_skip_verify,
                ),
            )
        except ValueError as exc:
            raise AgentError(f"vault: {exc}") from None
        self._namespace = settings.namespace
        self._max_retries = retry.max_retries
        self._clock = clock
        self.deadline = deadline if deadline is not None else clock() + retry.timeout_seconds
        self._timeout_seconds = retry.timeout_seconds
        self.token: str | None = None
        #: True when the token came from a login by the agent (so it may revoke it).
        self.token_is_own = False
        #: A batch token (role ``token_type=batch``): never stored, cannot be revoked.
        self.token_is_batch = False
        self._mode = "standard"
        self._login_path = ""
        self._login_fields: dict[str, Any] = {}
        #: The inline-auth headers while no token is held (inline and auto modes).
        self._inline_headers: dict[str, str] | None = None
        self._cache: dict[tuple[str, tuple[str, ...]], _Pending] = {}
        # _thread, not threading: threading's import (functools, collections,
        # weakref sets) is start-up time; a lock and a thread are all we need.
        self._lock = _thread.allocate_lock()
        self._login_lock = _thread.allocate_lock()

    # ---- authentication -------------------------------------------------

    def login(self, auth: AuthSettings, environ: Mapping[str, str], mode: str = "standard") -> None:
        """Get credentials: a ``kubernetes``/``jwt`` login, or a given ``token``.

        ``mode`` ``standard`` logs in now; ``inline`` and ``auto`` send the
        login with each request instead (see the class).
        """
        if auth.method == "token":
            self.token = _given_token(environ)
            self.token_is_own = False
            return
        jwt = _read_service_account_token(auth.token_path)
        self._login_path = f"{auth.mount_path}/login"
        self._login_fields = {"role": auth.role, "jwt": jwt}
        self._mode = mode
        if mode == "standard":
            self._log_in()
        else:
            self._inline_headers = inline_auth_headers(self._login_path, self._login_fields)

    def _log_in(self) -> None:
        path = self._login_path
        answer = self._call("POST", path, self._login_fields, show_errors=True)
        auth = answer.get("auth") or {}
        client_token = auth.get("client_token")
        if not isinstance(client_token, str) or not client_token:
            raise VaultError(f"POST {path}: Vault's answer holds no client token")
        self.token = client_token
        self.token_is_own = True
        self.token_is_batch = auth.get("token_type") == "batch"

    def _ensure_token(self) -> None:
        """Log in once (auto mode's fallback); concurrent callers wait for the first."""
        with self._login_lock:
            if self.token is None:
                self._log_in()

    @property
    def logged_in(self) -> bool:
        """Whether the agent holds a token of its own that revoking would end."""
        return self.token_is_own and not self.token_is_batch

    def revoke_self(self) -> None:
        """Revoke the agent's own token: allowed a moment past the start-up deadline,
        so a start-up that failed at the deadline still cleans up after itself."""
        if not self.logged_in:
            return  # a batch token cannot be revoked (it ends with its TTL); none at all
        self._call(
            "POST",
            "auth/token/revoke-self",
            None,
            show_errors=True,
            deadline=max(self.deadline, self._clock()) + REVOKE_GRACE_SECONDS,
        )
        self.token_is_own = False

    # ---- secrets ----------------------------------------------------------

    def read(self, path: str, *, path_shown: bool = True) -> dict[str, Any]:
        return self._authorized("GET", path, None, path_shown=path_shown)

    def write(
        self, path: str, data: Mapping[str, str], *, path_shown: bool = True
    ) -> dict[str, Any]:
        return self._authorized("PUT", path, dict(data), path_shown=path_shown)

    def secret(
        self,
        path: str,
        args: list[str] | tuple[str, ...] = (),
        *,
        path_shown: bool = True,
    ) -> dict[str, Any]:
        """The template's ``secret``: a read, or a write when given ``k=v`` args.

        Each distinct call is made once; concurrent callers of the same one
        wait for the first. ``path_shown`` False: the template computed the path
        (it may hold secret data), so messages do not show it.
        """
        key = (path, tuple(args))
        with self._lock:
            pending = self._cache.get(key)
            owner = pending is None
            if pending is None:
                pending = self._cache[key] = _Pending()
        if owner:
            try:
                pending.result = (
                    self.write(path, _write_data(path, args, path_shown), path_shown=path_shown)
                    if args
                    else self.read(path, path_shown=path_shown)
                )
            except AgentError as exc:
                pending.error = exc
            except Exception as exc:  # a bug: keep other waiters from hanging
                shown = path if path_shown else COMPUTED_PATH
                pending.error = AgentError(f"{shown}: internal error ({type(exc).__name__})")
            finally:
                pending.done.release()
        else:
            pending.done.acquire()  # held until the owner is done
            pending.done.release()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def prefetch(self, paths: list[str]) -> None:
        """Start reading ``paths`` concurrently; errors surface when a path is used."""
        for path in dict.fromkeys(paths):
            if (path, ()) not in self._cache:
                # A bare _thread thread: execve or os._exit ends it, like a daemon thread.
                _thread.start_new_thread(self._prefetch_one, (path,))

    def _prefetch_one(self, path: str) -> None:
        try:  # noqa: SIM105 (contextlib is an import the agent does not need)
            self.secret(path)
        except AgentError:
            pass  # kept in the cache; raised to the template that uses the path

    def _authorized(
        self, method: str, path: str, payload: Mapping[str, Any] | None, *, path_shown: bool
    ) -> dict[str, Any]:
        """One call with the agent's credentials: inline while it has no token."""
        where = None if path_shown else f"{method} {COMPUTED_PATH}"
        # Vault's error text describes a read's request; a write's may echo its data.
        show_errors = path_shown and method == "GET"
        if self.token is None and self._inline_headers is not None:
            if method == "GET" or self._mode == "inline":
                try:
                    return self._call(
                        method, path, payload, show_errors=show_errors, where=where, inline=True
                    )
                except _InlineRefused as exc:
                    if self._mode == "inline" and exc.lease:
                        raise VaultError(
                            f"{exc} (the platform's auth mode is inline: "
                            "auto or standard can read secrets that create leases)"
                        ) from None
                    if self._mode == "inline":
                        raise VaultError(str(exc)) from None
            self._ensure_token()
        return self._call(method, path, payload, show_errors=show_errors, where=where)

    # ---- the call with retries -----------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        *,
        show_errors: bool,
        where: str | None = None,
        deadline: float | None = None,
        inline: bool = False,
    ) -> dict[str, Any]:
        """One request, retried while it may help and time is left.

        ``where`` names the call in messages (default ``METHOD path``);
        ``deadline`` defaults to the start-up deadline.
        """
        path = path.strip("/")
        url = "/v1/" + _quote_path(path)
        headers = {"X-Vault-Request": "true"}
        if self._namespace:
            headers["X-Vault-Namespace"] = self._namespace
        if inline and self._inline_headers is not None:
            headers.update(self._inline_headers)
        elif self.token:
            headers["X-Vault-Token"] = self.token
        body = dumps(payload).encode() if payload is not None else None
        where = where or f"{method} {path}"
        deadline = self.deadline if deadline is None else deadline
        attempt = 0
        while True:
            retry_after = 0.0  # what a 429 or 503 asked, in seconds
            rate_limited = False
            try:
                response = self._endpoint.request(
                    method,
                    url,
                    headers=headers,
                    body=body,
                    deadline=min(deadline, self._clock() + ATTEMPT_TIMEOUT_SECONDS),
                )
            except WireError as exc:
                failure = (
                    f"cannot reach Vault at {self._endpoint.host}:{self._endpoint.port}: {exc}"
                )
                if not exc.retryable:
                    raise VaultError(f"{where}: {failure}") from None
            else:
                if 200 <= response.status < 300:
                    return _json_object(response.body, where)
                failure = _status_failure(response.status, response.body, show_errors)
                if inline:
                    _check_inline_answer(response, where, failure, self._login_path)
                if response.status < 500 and response.status not in _RETRIED_STATUSES:
                    raise VaultError(f"{where}: {failure}")
                if response.status in (429, 503):
                    retry_after = response.retry_after or 0.0
                rate_limited = response.status == 429
            attempt += 1
            delay = _backoff(attempt, rate_limited=rate_limited)
            if retry_after:
                # At least what Vault asked, spread over up to twice that: agents
                # told the same Retry-After must not all come back at once.
                delay = max(delay, retry_after * (1.0 + _jitter()))
            if attempt > self._max_retries:
                raise VaultError(f"{where}: {failure} (gave up after {attempt} attempts)")
            left = deadline - self._clock()
            if retry_after and retry_after < left <= delay:
                delay = (retry_after + left) / 2  # what Vault asked fits; the spread did not
            if delay >= left:
                asked = f"; Vault asked to retry after {retry_after:g} s" if retry_after else ""
                raise VaultError(
                    f"{where}: {failure} (gave up after {attempt} attempts{asked}: "
                    f"deadline of {self._timeout_seconds:g} s)"
                )
            time.sleep(delay)


def inline_auth_headers(login_path: str, fields: Mapping[str, Any]) -> dict[str, str]:
    """OpenBao's inline-auth headers for a login at ``login_path`` with ``fields``.

    ``X-Vault-Inline-Auth-Path`` names the login endpoint; each field travels in
    one ``X-Vault-Inline-Auth-Parameter-<name>`` header holding the unpadded
    URL-safe base64 of the JSON ``{"key": <field>, "value": <value>}``.
    """
    from binascii import b2a_base64  # the C half of base64 (base64.py imports re, struct)

    headers = {"X-Vault-Inline-Auth-Path": login_path.strip("/")}
    for name, value in fields.items():
        encoded = b2a_base64(dumps({"key": name, "value": value}).encode(), newline=False)
        headers[f"X-Vault-Inline-Auth-Parameter-{name}"] = (
            encoded.rstrip(b"=").replace(b"+", b"-").replace(b"/", b"_").decode("ascii")
        )
    return headers


def _check_inline_answer(response: Response, where: str, failure: str, login_path: str) -> None:
    """Turn an inline-auth answer that is not about the request itself into its error."""
    if response.headers.get("x-vault-inline-auth-failed", "").lower() == "true":
        detail = _status_failure(response.status, response.body, True)
        raise VaultError(f"{where}: the inline login at {login_path} failed: {detail}")
    if response.status == 403:  # no inline auth on this server, or a path the role may not read
        raise _InlineRefused(f"{where}: {failure}", lease=False)
    if response.status == 500 and b"inline authentication cannot generate leases" in response.body:
        raise _InlineRefused(
            f"{where}: the secret creates a lease, which inline auth cannot hold", lease=True
        )


class _Pending:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = _thread.allocate_lock()
        self.done.acquire()  # released once result or error is set
        self.result: dict[str, Any] | None = None
        self.error: AgentError | None = None


def has_lease(response: Mapping[str, Any]) -> bool:
    """Whether revoking the agent's token would kill what this response holds.

    A lease (dynamic secrets: ``lease_id`` set, or ``renewable``) or a token
    created through ``secret`` (``auth`` set: a child token dies with its parent).
    """
    return (
        bool(response.get("lease_id"))
        or response.get("renewable") is True
        or bool(response.get("auth"))
    )


def _given_token(environ: Mapping[str, str]) -> str:
    token = environ.get("VAULT_TOKEN", "").strip()
    if token:
        return token
    home = environ.get("HOME") or os.path.expanduser("~")
    token_file = os.path.join(home, ".vault-token")
    try:
        with open(token_file, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError:
        token = ""
    if not token:
        raise AgentError("auth: token auth needs VAULT_TOKEN or ~/.vault-token")
    return token


def _read_service_account_token(token_path: str) -> str:
    try:
        with open(token_path, encoding="utf-8") as f:
            jwt = f.read().strip()
    except OSError as exc:
        raise AgentError(
            f"auth: cannot read the service-account token {token_path}: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError:
        raise AgentError(f"auth: the service-account token {token_path} is not text") from None
    if not jwt:
        raise AgentError(f"auth: the service-account token {token_path} is empty")
    return jwt


def _write_data(path: str, args: list[str] | tuple[str, ...], path_shown: bool) -> dict[str, str]:
    data: dict[str, str] = {}
    for number, arg in enumerate(args, 1):
        key, eq, value = arg.partition("=")
        if not eq or not key:
            shown = f'"{path}"' if path_shown else COMPUTED_PATH
            raise AgentError(f"secret {shown}: argument {number} is not key=value")
        data[key] = value
    return data


def _quote_path(path: str) -> str:
    """Percent-encode the path part; keep a ``?query`` (e.g. KV v2 ``?version=2``)."""
    path, question, query = path.partition("?")
    quoted = "".join(chr(b) if b in _PATH_SAFE else f"%{b:02X}" for b in path.encode("utf-8"))
    if question:
        quoted += "?" + "".join(
            chr(b) if b in _PATH_SAFE or b == ord("?") else f"%{b:02X}"
            for b in query.encode("utf-8")
        )
    return quoted


def _json_object(body: bytes, where: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = loads_secret(body.decode("utf-8"), where)
    except ValueError:
        raise VaultError(f"{where}: Vault's answer is not JSON") from None
    if not isinstance(value, dict):
        raise VaultError(f"{where}: Vault's answer is not a JSON object")
    return value


_STATUS_WORDS = {
    400: "bad request",
    403: "permission denied",
    404: "not found",
    405: "method not allowed",
    412: "precondition failed",
    429: "Vault is unavailable (standby or rate limited)",
    500: "Vault internal error",
    502: "bad gateway",
    503: "Vault is sealed or unavailable",
    504: "gateway timeout",
}


def _status_failure(status: int, body: bytes, show_errors: bool) -> str:
    text = f"{_STATUS_WORDS.get(status, 'HTTP error')} ({status})"
    if not show_errors:
        return text
    try:
        errors = loads(body.decode("utf-8")).get("errors")
    except (ValueError, AttributeError):
        return text
    if isinstance(errors, list):
        detail = "; ".join(" ".join(str(e).split()) for e in errors if e)[:300]
        if detail and detail.lower() != _STATUS_WORDS.get(status, "").lower():
            text += f": {detail}"
    return text


def _backoff(attempt: int, *, rate_limited: bool = False) -> float:
    """BASE * 2**(attempt-1), capped, times a jitter in [0.5, 1).

    Rate limited (429): from RATE_LIMITED_BASE, jitter [0.5, 2): a storm
    rejected together must spread over the seconds the quota needs to let it
    through, not come back within the same fraction of a second (measured in
    bench/reliability.py: 200 agents rejected at once by a quota, 1.93 requests
    each with this spread, 2.08 with [0.5, 1.5)).
    """
    if rate_limited:
        step = min(BACKOFF_CAP_SECONDS, RATE_LIMITED_BASE_SECONDS * 2.0 ** (attempt - 1))
        return step * (0.5 + 1.5 * _jitter())
    jitter = 0.5 + _jitter() / 2
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1)) * jitter)


def _jitter() -> float:
    """Uniform in [0, 1), from os.urandom (random's import costs start-up time)."""
    return int.from_bytes(os.urandom(2), "big") / 65536
