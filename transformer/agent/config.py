"""The agent's JSON config: parse and validate by hand.

The format is defined by ``schemas/agent-config.schema.json``. The agent does not
import ``jsonschema`` (it would add tens of milliseconds to every pod start);
``tests/agent/test_config.py`` walks many documents through both this validator
and ``jsonschema`` to prove that they accept exactly the same documents.
"""

from __future__ import annotations

from transformer.agent.contract import CONFIG_VERSION, DEFAULT_SA_TOKEN_PATH
from transformer.agent.errors import ConfigError
from transformer.agent.jsonlite import loads

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: bench/)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: The schema's ``vault.address`` pattern (a test checks they are the same).
#: ``address_matches`` implements it by hand (``re`` costs start-up time); a test
#: checks it against ``re.search`` like JSON Schema applies it.
ADDRESS_PATTERN = r"^https?://[^\s/]+(/\S*)?$"

AUTH_METHODS = ("kubernetes", "jwt", "token")
#: How a kubernetes/jwt login reaches Vault (see transformer.agent.vault.VaultClient).
AUTH_MODES = ("auto", "inline", "standard")
DEFAULT_AUTH_MODE = "auto"

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 10


# Plain classes, not dataclasses: importing dataclasses (inspect, ast, dis) and
# generating their methods costs a good part of the agent's start-up (bench/agent_startup.py).


class VaultSettings:
    __slots__ = ("address", "ca_cert", "namespace", "tls_server_name", "tls_skip_verify")

    def __init__(
        self,
        address: str,
        namespace: str | None = None,
        ca_cert: str | None = None,
        tls_server_name: str | None = None,
        tls_skip_verify: bool = False,
    ) -> None:
        self.address = address
        self.namespace = namespace
        self.ca_cert = ca_cert
        self.tls_server_name = tls_server_name
        self.tls_skip_verify = tls_skip_verify


class AuthSettings:
    __slots__ = ("method", "mode", "mount_path", "role", "token_path")

    def __init__(
        self,
        method: str,
        mount_path: str,
        role: str | None,
        token_path: str,
        mode: str = DEFAULT_AUTH_MODE,
    ) -> None:
        self.method = method
        self.mount_path = mount_path
        self.role = role
        self.token_path = token_path
        self.mode = mode


class RetrySettings:
    __slots__ = ("max_retries", "timeout_seconds")

    def __init__(
        self,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries


class TokenSettings:
    __slots__ = ("revoke", "to_app")

    def __init__(self, revoke: bool = True, to_app: bool = False) -> None:
        self.revoke = revoke
        self.to_app = to_app


class TemplateSpec:
    __slots__ = ("name", "path", "template")

    def __init__(self, name: str, path: str, template: str) -> None:
        self.name = name
        self.path = path
        self.template = template


class AgentConfig:
    __slots__ = ("auth", "retry", "templates", "token", "vault")

    def __init__(
        self,
        vault: VaultSettings,
        auth: AuthSettings,
        retry: RetrySettings,
        token: TokenSettings,
        templates: tuple[TemplateSpec, ...],
    ) -> None:
        self.vault = vault
        self.auth = auth
        self.retry = retry
        self.token = token
        self.templates = templates


def parse_config(text: str, source: str) -> AgentConfig:
    """Parse and validate the config text; raise ConfigError naming ``source``."""
    try:
        doc = loads(text)
    except ValueError as exc:
        # JSONDecodeError's message is "what: line L column C (char N)": no content.
        raise ConfigError(f"config ({source}): not valid JSON: {exc}") from None
    problems = config_problems(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"config ({source}): {problems[0]}{more}")
    return _build(doc)


def config_problems(doc: object) -> list[str]:
    """Every way ``doc`` breaks the schema, as ``field.path: what`` strings.

    Empty exactly when ``jsonschema`` accepts ``doc`` against
    agent-config.schema.json (for finite numbers; NaN/Infinity never get here).
    Messages name fields and types, never a field's value.
    """
    problems: list[str] = []
    if not _object(doc, "(top level)", problems):
        return problems
    assert isinstance(doc, dict)
    _only(doc, "", ("version", "vault", "auth", "retry", "token", "templates"), problems)
    _require(doc, "", ("version", "vault", "auth", "templates"), problems)
    if "version" in doc and not (_is_number(doc["version"]) and doc["version"] == CONFIG_VERSION):
        problems.append(f"version: must be {CONFIG_VERSION}")
    if "vault" in doc:
        _check_vault(doc["vault"], problems)
    if "auth" in doc:
        _check_auth(doc["auth"], problems)
    if "retry" in doc:
        _check_retry(doc["retry"], problems)
    if "token" in doc:
        _check_token(doc["token"], problems)
    if "templates" in doc:
        _check_templates(doc["templates"], problems)
    return problems


def _check_vault(vault: object, problems: list[str]) -> None:
    if not _object(vault, "vault", problems):
        return
    assert isinstance(vault, dict)
    _only(
        vault,
        "vault.",
        ("address", "namespace", "ca_cert", "tls_server_name", "tls_skip_verify"),
        problems,
    )
    _require(vault, "vault.", ("address",), problems)
    address = vault.get("address")
    if "address" in vault and _string(address, "vault.address", problems):
        assert isinstance(address, str)
        if not address_matches(address):
            problems.append("vault.address: must be an http:// or https:// URL")
    for key in ("namespace", "ca_cert", "tls_server_name"):
        if key in vault:
            _string(vault[key], f"vault.{key}", problems, min_length=1)
    if "tls_skip_verify" in vault:
        _boolean(vault["tls_skip_verify"], "vault.tls_skip_verify", problems)


def address_matches(address: str) -> bool:
    """``re.search(ADDRESS_PATTERN, address)``, without ``re``."""
    for scheme in ("http://", "https://"):
        if address.startswith(scheme):
            rest = address[len(scheme) :]
            break
    else:
        return False
    # "$" matches at the very end, and also just before a final newline.
    return _authority_then_path(rest) or (rest.endswith("\n") and _authority_then_path(rest[:-1]))


def _authority_then_path(rest: str) -> bool:
    # [^\s/]+ then optionally "/" and no whitespace (\S*).
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    if not authority or any(char.isspace() for char in authority):
        return False
    return slash < 0 or not any(char.isspace() for char in rest[slash:])


def _check_auth(auth: object, problems: list[str]) -> None:
    if not _object(auth, "auth", problems):
        return
    assert isinstance(auth, dict)
    _only(auth, "auth.", ("method", "mode", "mount_path", "role", "token_path"), problems)
    _require(auth, "auth.", ("method",), problems)
    method = auth.get("method")
    if "method" in auth and method not in AUTH_METHODS:
        problems.append(f"auth.method: must be one of {', '.join(AUTH_METHODS)}")
    if "mode" in auth and auth["mode"] not in AUTH_MODES:
        problems.append(f"auth.mode: must be one of {', '.join(AUTH_MODES)}")
    for key in ("mount_path", "role", "token_path"):
        if key in auth:
            _string(auth[key], f"auth.{key}", problems, min_length=1)
    # The schema's if/then: a missing method counts as "kubernetes or jwt" there too.
    if (method is None or method in ("kubernetes", "jwt")) and "role" not in auth:
        problems.append("auth.role: required for kubernetes and jwt auth")


def _check_retry(retry: object, problems: list[str]) -> None:
    if not _object(retry, "retry", problems):
        return
    assert isinstance(retry, dict)
    _only(retry, "retry.", ("timeout_seconds", "max_retries"), problems)
    if "timeout_seconds" in retry:
        timeout = retry["timeout_seconds"]
        if not _is_number(timeout) or not timeout > 0:
            problems.append("retry.timeout_seconds: must be a number of seconds above 0")
    if "max_retries" in retry:
        retries = retry["max_retries"]
        if not _is_integer(retries) or retries < 0:
            problems.append("retry.max_retries: must be an integer >= 0")


def _check_token(token: object, problems: list[str]) -> None:
    if not _object(token, "token", problems):
        return
    assert isinstance(token, dict)
    _only(token, "token.", ("revoke", "to_app"), problems)
    for key in ("revoke", "to_app"):
        if key in token:
            _boolean(token[key], f"token.{key}", problems)


def _check_templates(templates: object, problems: list[str]) -> None:
    if not isinstance(templates, list):
        problems.append("templates: must be an array")
        return
    if not templates:
        problems.append("templates: must list at least one template")
    for index, item in enumerate(templates):
        where = f"templates[{index}]"
        if not _object(item, where, problems):
            continue
        assert isinstance(item, dict)
        _only(item, f"{where}.", ("name", "path", "template"), problems)
        _require(item, f"{where}.", ("name", "path", "template"), problems)
        for key in ("name", "path"):
            if key in item:
                _string(item[key], f"{where}.{key}", problems, min_length=1)
        if "template" in item:
            _string(item["template"], f"{where}.template", problems)


def _object(value: object, where: str, problems: list[str]) -> bool:
    if isinstance(value, dict):
        return True
    problems.append(f"{where}: must be an object")
    return False


def _only(
    obj: Mapping[str, object], prefix: str, allowed: tuple[str, ...], problems: list[str]
) -> None:
    for key in obj:
        if key not in allowed:
            problems.append(f"{prefix}{_shown(key)}: unknown field (allowed: {', '.join(allowed)})")


def _require(
    obj: Mapping[str, object], prefix: str, required: tuple[str, ...], problems: list[str]
) -> None:
    for key in required:
        if key not in obj:
            problems.append(f"{prefix}{key}: required")


def _string(value: object, where: str, problems: list[str], *, min_length: int = 0) -> bool:
    if not isinstance(value, str):
        problems.append(f"{where}: must be a string")
        return False
    if len(value) < min_length:
        problems.append(f"{where}: must not be empty")
        return False
    return True


def _boolean(value: object, where: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        problems.append(f"{where}: must be true or false")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    # JSON Schema: any number with a zero fractional part is an integer (1.0 too).
    return _is_number(value) and (isinstance(value, int) or float(value).is_integer())  # type: ignore[arg-type]


def _shown(key: str) -> str:
    """A field name from the config for a message; the config holds no secret values."""
    return key if key.isprintable() and len(key) <= 64 else repr(key[:64])


def _build(doc: Mapping[str, Any]) -> AgentConfig:
    vault = doc["vault"]
    auth = doc["auth"]
    retry = doc.get("retry", {})
    token = doc.get("token", {})
    method = auth["method"]
    timeout = float(retry.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    if timeout == float("inf"):  # a literal like 1e999; NaN and Infinity are rejected
        timeout = DEFAULT_TIMEOUT_SECONDS
    return AgentConfig(
        vault=VaultSettings(
            address=vault["address"],
            namespace=vault.get("namespace"),
            ca_cert=vault.get("ca_cert"),
            tls_server_name=vault.get("tls_server_name"),
            tls_skip_verify=vault.get("tls_skip_verify", False),
        ),
        auth=AuthSettings(
            method=method,
            mount_path=auth.get("mount_path", f"auth/{method}").strip("/"),
            role=auth.get("role"),
            token_path=auth.get("token_path", DEFAULT_SA_TOKEN_PATH),
            mode=auth.get("mode", DEFAULT_AUTH_MODE),
        ),
        retry=RetrySettings(
            timeout_seconds=timeout,
            max_retries=int(retry.get("max_retries", DEFAULT_MAX_RETRIES)),
        ),
        token=TokenSettings(
            revoke=token.get("revoke", True),
            to_app=token.get("to_app", False),
        ),
        templates=tuple(
            TemplateSpec(name=t["name"], path=t["path"], template=t["template"])
            for t in doc["templates"]
        ),
    )
