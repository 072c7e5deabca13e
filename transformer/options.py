"""Platform defaults: what the platform, not the chart author, decides.

They come from flags, a config file, the environment (``VAULT_EXEC_*``) and,
for the Vault address only, ``VAULT_ADDR`` like every Vault tool; in that order
of precedence. The same camelCase keys serve the config file and the KRM
function's ``functionConfig``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from transformer import __version__
from transformer.errors import ConfigError

DEFAULT_AGENT_IMAGE = f"ghcr.io/vault-exec/vault-exec-agent:{__version__}"
AUTH_TYPES = ("kubernetes", "jwt")
#: How agents log in: the agent config's ``auth.mode`` (schemas/agent-config.schema.json).
AUTH_MODES = ("auto", "inline", "standard")

#: Same rule as ``vault.address`` in schemas/agent-config.schema.json.
_ADDRESS = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_NO_SPACE = re.compile(r"^\S+$")
_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off", ""}


@dataclass(frozen=True)
class Options:
    """Platform defaults for one render. ``vault_addr`` is "" when none was given."""

    vault_addr: str = ""
    allowed_vault_addrs: tuple[str, ...] = ()
    agent_image: str = DEFAULT_AGENT_IMAGE
    auth_path: str = "auth/kubernetes"
    auth_type: str = "kubernetes"
    token_audience: str = "vault"
    skip_hooks: bool = False
    auth_mode: str = "auto"

    def __post_init__(self) -> None:
        # The default address is always allowed; keep that true however built.
        if self.vault_addr and self.vault_addr not in self.allowed_vault_addrs:
            object.__setattr__(
                self, "allowed_vault_addrs", (self.vault_addr, *self.allowed_vault_addrs)
            )


#: camelCase key -> Options field.
KEYS: Mapping[str, str] = {
    "vaultAddr": "vault_addr",
    "allowedVaultAddrs": "allowed_vault_addrs",
    "agentImage": "agent_image",
    "authPath": "auth_path",
    "authType": "auth_type",
    "tokenAudience": "token_audience",
    "skipHooks": "skip_hooks",
    "authMode": "auth_mode",
}

#: Environment variable -> camelCase key. (Not VAULT_EXEC_CONFIG: that is the agent's.)
ENV_VARS: Mapping[str, str] = {
    "VAULT_EXEC_VAULT_ADDR": "vaultAddr",
    "VAULT_EXEC_ALLOWED_VAULT_ADDRS": "allowedVaultAddrs",
    "VAULT_EXEC_AGENT_IMAGE": "agentImage",
    "VAULT_EXEC_AUTH_PATH": "authPath",
    "VAULT_EXEC_AUTH_TYPE": "authType",
    "VAULT_EXEC_TOKEN_AUDIENCE": "tokenAudience",
    "VAULT_EXEC_SKIP_HOOKS": "skipHooks",
    "VAULT_EXEC_AUTH_MODE": "authMode",
}
CONFIG_FILE_ENV_VAR = "VAULT_EXEC_CONFIG_FILE"


def normalize_address(value: str) -> str:
    """``https://vault:8200/`` and ``https://vault:8200`` are one address."""
    return value.strip().rstrip("/")


def _address(value: object, key: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise ConfigError(
            f"{key}: {value!r} is not a Vault address like https://vault.example:8200"
        )
    return normalize_address(value)


def _word(value: object, key: str) -> str:
    if not isinstance(value, str) or not _NO_SPACE.match(value):
        raise ConfigError(f"{key}: {value!r} must be a non-empty string without spaces")
    return value


def _bool(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{key}: {value!r} is not a boolean")


def _address_list(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):  # the environment's comma-separated form
        items: list[object] = [item for item in value.split(",") if item.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConfigError(f"{key}: {value!r} must be a list of Vault addresses")
    addresses: list[str] = []
    for item in items:
        address = _address(item, key)
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def options_from_mapping(m: Mapping[str, object], base: Options | None = None) -> Options:
    """Overlay the camelCase keys of ``m`` on ``base`` (defaults when None).

    ``allowedVaultAddrs`` replaces the extra allowed addresses of ``base``; the
    (possibly new) ``vaultAddr`` is always allowed. Raises ConfigError.
    """
    base = base if base is not None else Options()
    unknown = sorted(str(key) for key in m if key not in KEYS)
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(KEYS)}")
    changes: dict[str, object] = {}
    extras = tuple(a for a in base.allowed_vault_addrs if a != base.vault_addr)
    for key, value in m.items():
        if value is None:
            continue
        if key == "vaultAddr":
            changes["vault_addr"] = _address(value, key)
        elif key == "allowedVaultAddrs":
            extras = _address_list(value, key)
        elif key == "authType":
            if value not in AUTH_TYPES:
                raise ConfigError(f"{key}: {value!r} must be one of {', '.join(AUTH_TYPES)}")
            changes["auth_type"] = value
        elif key == "authMode":
            if value not in AUTH_MODES:
                raise ConfigError(f"{key}: {value!r} must be one of {', '.join(AUTH_MODES)}")
            changes["auth_mode"] = value
        elif key == "authPath":
            changes["auth_path"] = _word(value, key).strip("/")
        elif key == "skipHooks":
            changes["skip_hooks"] = _bool(value, key)
        else:
            changes[KEYS[key]] = _word(value, key)
    vault_addr = changes.get("vault_addr", base.vault_addr)
    assert isinstance(vault_addr, str)
    changes["allowed_vault_addrs"] = tuple(a for a in extras if a != vault_addr)
    return replace(base, **changes)  # type: ignore[arg-type]


def load_options(
    cli: Mapping[str, object], config_file: str | None, environ: Mapping[str, str]
) -> Options:
    """Options from every source: flag > config file > ``VAULT_EXEC_*`` > ``VAULT_ADDR``.

    ``cli`` maps Options field names (snake_case) to flag values, None meaning
    "not given". ``config_file`` is a YAML or JSON mapping with camelCase keys.
    """
    options = Options()
    if environ.get("VAULT_ADDR", "").strip():
        options = _layer(options, {"vaultAddr": environ["VAULT_ADDR"]}, "VAULT_ADDR")
    # An empty variable is an unset one, as in a shell's ${VAR:-default}.
    from_env = {key: environ[var] for var, key in ENV_VARS.items() if environ.get(var, "").strip()}
    if from_env:
        options = _layer(options, from_env, "environment (VAULT_EXEC_*)")
    if config_file:
        options = _layer(options, _read_config_file(config_file), config_file)
    fields = {name: key for key, name in KEYS.items()}
    unknown = sorted(name for name in cli if name not in fields)
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}")
    from_cli = {fields[name]: value for name, value in cli.items() if value not in (None, ())}
    if from_cli:
        try:
            options = options_from_mapping(from_cli, options)
        except ConfigError as error:
            message = str(error)
            for key, name in KEYS.items():  # speak in flags: --vault-addr, not vaultAddr
                message = message.replace(f"{key}:", f"--{name.replace('_', '-')}:", 1)
            raise ConfigError(
                message.replace("--allowed-vault-addrs", "--allowed-vault-addr")
            ) from None
    return options


def _layer(options: Options, m: Mapping[str, object], source: str) -> Options:
    try:
        return options_from_mapping(m, options)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _read_config_file(path: str) -> Mapping[str, object]:
    from transformer import yamlio  # the one module that parses YAML

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    try:
        data = yamlio.load_document(text)
    except yamlio.YamlSyntaxError as error:
        raise ConfigError(f"{path}:{error.line}:{error.col}: {error.message}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the config file must hold a mapping of settings")
    return {str(key): value for key, value in data.items()}
