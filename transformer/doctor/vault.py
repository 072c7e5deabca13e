"""The doctor's Vault client: the one module on the deploy-time side that imports hvac.

Tokens stay inside this module's client objects: none is ever put in a message,
a log line or an exception. A secret that is read to see which keys it has is
reduced to its shape (the key names, no value) before the read returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests

from transformer.errors import ConfigError

TOKEN_ENV_VAR = "VAULT_TOKEN"
CA_CERT_ENV_VAR = "VAULT_CACERT"
TOKEN_HELPER_FILE = ".vault-token"
#: The doctor's own probing token lives this long at most (it is revoked when done).
CHILD_TOKEN_TTL = "2m"
CHILD_TOKEN_NAME = "vault-exec-doctor"

#: A secret's keys, without the values: a nested mapping's keys map to its shape,
#: every other value to None.
Shape = dict[str, Any]


class VaultUnavailable(ConfigError):
    """Vault cannot be reached or refuses the doctor's token: the invocation, not the
    manifests, is wrong (exit 2)."""


@dataclass(frozen=True)
class Mount:
    path: str  # "secret/" as Vault names it
    type: str  # kv, pki, database, ...
    version: str  # the KV version ("1" or "2"), "" for other engines


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str:
    """The operator's token: ``--token-file``, else ``VAULT_TOKEN``, else ``~/.vault-token``."""
    if token_file:
        return _token_from_file(Path(token_file))
    if environ.get(TOKEN_ENV_VAR, "").strip():
        return environ[TOKEN_ENV_VAR].strip()
    home = environ.get("HOME") or os.path.expanduser("~")
    helper = Path(home) / TOKEN_HELPER_FILE
    if helper.is_file():
        return _token_from_file(helper)
    raise VaultUnavailable(
        f"no Vault token: set {TOKEN_ENV_VAR}, log in with `vault login` (~/{TOKEN_HELPER_FILE}) "
        "or pass --token-file"
    )


def _token_from_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise VaultUnavailable(f"cannot read the Vault token file {path}: {error}") from None
    if not token:
        raise VaultUnavailable(f"the Vault token file {path} is empty")
    return token


class Vault:
    """One Vault (and Vault namespace), seen with the operator's token."""

    def __init__(
        self, address: str, token: str, ca_cert: str | None = None, namespace: str | None = None
    ) -> None:
        self.address = address
        self._verify: str | bool = ca_cert or True
        self._namespace = namespace
        self._token = token
        self._client = self._new_client(token)
        self._namespaces: dict[str, Vault] = {}

    def _new_client(self, token: str) -> hvac.Client:
        return hvac.Client(
            url=self.address,
            token=token,
            verify=self._verify,
            namespace=self._namespace,
            timeout=10,
        )

    def in_namespace(self, namespace: str | None) -> Vault:
        """The same Vault seen in a Vault (Enterprise/OpenBao) namespace."""
        if not namespace or namespace == self._namespace:
            return self
        if namespace not in self._namespaces:
            ca = self._verify if isinstance(self._verify, str) else None
            self._namespaces[namespace] = Vault(self.address, self._token, ca, namespace)
        return self._namespaces[namespace]

    @contextmanager
    def _speaking(self, what: str) -> Iterator[None]:
        """Turn hvac's and requests' exceptions into one clear line (no token in it)."""
        try:
            yield
        except hvac.exceptions.Forbidden:
            raise VaultUnavailable(
                f"Vault at {self.address} refused the doctor's token for {what} (permission "
                "denied): use a token that may read auth roles and policies and create tokens"
            ) from None
        except hvac.exceptions.VaultError as error:
            raise VaultUnavailable(
                f"Vault at {self.address}: {what}: {_first_line(error)}"
            ) from None
        except requests.exceptions.SSLError as error:
            raise VaultUnavailable(
                f"cannot verify Vault at {self.address} (pass --ca-cert or set "
                f"{CA_CERT_ENV_VAR}): {_first_line(error)}"
            ) from None
        except requests.exceptions.RequestException as error:
            raise VaultUnavailable(
                f"cannot reach Vault at {self.address}: {type(error).__name__}"
            ) from None

    # ---- reading ------------------------------------------------------------

    def check_token(self) -> None:
        """Fail with one line now when Vault is unreachable or the token is not valid."""
        with self._speaking("looking up the token"):
            self._client.auth.token.lookup_self()

    def auth_mounts(self) -> dict[str, str]:
        """``{"kubernetes": "kubernetes", "jwt": "jwt"}``: auth mount path -> method type."""
        with self._speaking("listing auth methods (sys/auth)"):
            listed = self._client.adapter.get("/v1/sys/auth")
        mounts = listed.get("data", listed)
        return {
            str(path).strip("/"): str(entry.get("type"))
            for path, entry in mounts.items()
            if isinstance(entry, Mapping) and "type" in entry
        }

    def read(self, path: str) -> dict[str, Any] | None:
        """The ``data`` of a configuration read (a role, a policy); None when absent."""
        with self._speaking(f"reading {path}"):
            try:
                answer = self._client.read(path)
            except hvac.exceptions.InvalidPath:
                return None
        if not isinstance(answer, Mapping):
            return None
        data = answer.get("data")
        return dict(data) if isinstance(data, Mapping) else None

    def policy(self, name: str) -> str | None:
        """The HCL text of an ACL policy; None when there is none of that name."""
        data = self.read(f"sys/policy/{name}")
        rules = data.get("rules") if data else None
        return rules if isinstance(rules, str) else None

    @contextmanager
    def as_policies(self, policies: Sequence[str], *, default: bool) -> Iterator[Probe]:
        """A short-lived child token carrying exactly ``policies`` (and ``default``, as a
        login would add it), revoked when the block ends."""
        with self._speaking("creating a probe token (auth/token/create)"):
            created = self._client.auth.token.create(
                policies=list(policies) + (["default"] if default else []),
                no_default_policy=not default,
                ttl=CHILD_TOKEN_TTL,
                renewable=False,
                display_name=CHILD_TOKEN_NAME,
            )
        auth = created["auth"]
        probe = Probe(self, self._new_client(str(auth["client_token"])), default)
        try:
            yield probe
        finally:
            with self._speaking("revoking the probe token"):
                self._client.auth.token.revoke_accessor(str(auth["accessor"]))

    # ---- writing (vault-exec doctor --apply) --------------------------------

    def write_policy(self, name: str, rules: str) -> None:
        with self._speaking(f"writing policy {name}"):
            self._client.sys.create_or_update_policy(name, rules)

    def write(self, path: str, data: Mapping[str, str]) -> None:
        with self._speaking(f"writing {path}"):
            self._client.write_data(path, data=dict(data))


class Probe:
    """What a token with a role's policies can do, asked of Vault itself."""

    def __init__(self, vault: Vault, client: hvac.Client, can_ask_itself: bool) -> None:
        self._vault = vault
        self._client = client
        self._can_ask_itself = can_ask_itself

    def capabilities(self, paths: Sequence[str]) -> dict[str, list[str]]:
        """Vault's own answer: path -> capabilities of the probe token on it."""
        if not paths:
            return {}
        if self._can_ask_itself:  # the default policy grants sys/capabilities-self
            with self._vault._speaking("asking sys/capabilities-self"):
                answer = self._client.adapter.post(
                    "/v1/sys/capabilities-self", json={"paths": list(paths)}
                )
        else:  # a role without the default policy: the operator asks for the probe
            with self._vault._speaking("asking sys/capabilities"):
                answer = self._vault._client.adapter.post(
                    "/v1/sys/capabilities",
                    json={"paths": list(paths), "token": self._client.token},
                )
        data = answer.get("data", answer) if isinstance(answer, Mapping) else {}
        return {path: [str(c) for c in data.get(path) or ["deny"]] for path in paths}

    def mount_of(self, path: str) -> Mount | None:
        """The secrets engine ``path`` belongs to (metadata only, nothing is read). Vault
        tells only a token that has some capability on ``path``: the probe, not the
        operator, asks."""
        with self._vault._speaking(f"finding the mount of {path}"):
            try:
                answer = self._client.read(f"sys/internal/ui/mounts/{path}")
            except (hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest):
                return None
            except hvac.exceptions.Forbidden:
                return None  # asked only for paths the probe may use: no engine serves it
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping) or not data.get("type"):
            return None
        options = data.get("options") if isinstance(data.get("options"), Mapping) else {}
        version = str(options.get("version") or "") if options else ""
        if data.get("type") in ("kv", "generic") and not version:
            version = "1"
        return Mount(str(data.get("path") or ""), str(data["type"]), version)

    def shape(self, path: str) -> Shape | None:
        """The keys of the secret at ``path`` as the role would read it (None: no secret
        there). The values are dropped here, before anything else sees the answer."""
        with self._vault._speaking(f"reading {path}"):
            try:
                answer = self._client.read(path)
            except hvac.exceptions.InvalidPath:
                return None
        data = answer.get("data") if isinstance(answer, Mapping) else None
        return _shape(data) if isinstance(data, Mapping) else None


def _shape(value: Mapping[str, Any]) -> Shape:
    return {
        str(key): _shape(item) if isinstance(item, Mapping) else None for key, item in value.items()
    }


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = [line.strip(" *\t") for line in text.splitlines() if line.strip(" *\t")]
    return "; ".join(lines[:3]) or type(error).__name__
