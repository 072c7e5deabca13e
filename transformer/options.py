"""Platform settings: what the platform, not the chart author, decides, and the policy of
what a chart may ask for anyway.

They come from flags, a config file, the environment (``VAULT_EXEC_*``) and, for the
Vault address only, ``VAULT_ADDR`` like every Vault tool; in that order of precedence.
The same camelCase keys serve the config file, the KRM function's ``functionConfig``
and (for a few) the Argo CD plugin's parameters. :data:`SETTINGS` is the one table of
them: each setting's key, flag, environment variable and kind.

The policy (``allow*`` settings) bounds what annotations may change about where and how
a pod's service-account token is sent: a chart author could otherwise point the agent
at a server of theirs (``service``, or DNS tricks) and make it accept that server's
certificate (``tls-skip-verify``, ``ca-cert``, ``tls-server-name``), or swap the agent
image, the login mount or the Vault namespace. Annotations never change a setting.
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

#: What a Vault address is, everywhere: flags, config file, the ``service`` annotation
#: (schemas/pod-annotations.schema.json) and the agent's config
#: (schemas/agent-config.schema.json, transformer/agent/config.py); a test pins them.
VAULT_ADDRESS_PATTERN = r"^https?://[^\s/]+(/\S*)?$"
_ADDRESS = re.compile(VAULT_ADDRESS_PATTERN)
_NO_SPACE = re.compile(r"^\S+$")
_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off", ""}


@dataclass(frozen=True)
class Options:
    """Platform settings for one render. ``vault_addr`` is "" when none was given.

    The ``allowed_*`` lists hold what annotations may pick besides the platform's own
    value (``vault_addr``, ``agent_image``, ``auth_path``, ``vault_namespace``).
    """

    vault_addr: str = ""
    allowed_vault_addrs: tuple[str, ...] = ()
    agent_image: str = DEFAULT_AGENT_IMAGE
    allowed_agent_images: tuple[str, ...] = ()
    auth_path: str = "auth/kubernetes"
    allowed_auth_paths: tuple[str, ...] = ()
    auth_type: str = "kubernetes"
    vault_namespace: str = ""
    allowed_vault_namespaces: tuple[str, ...] = ()
    token_audience: str = "vault"
    skip_hooks: bool = False
    allow_tls_skip_verify: bool = False
    allowed_ca_certs: tuple[str, ...] = ()
    allowed_tls_server_names: tuple[str, ...] = ()
    allow_custom_dns: bool = False
    auth_mode: str = "auto"

    def __post_init__(self) -> None:
        # The default address is always allowed; keep that true however built.
        if self.vault_addr and self.vault_addr not in self.allowed_vault_addrs:
            object.__setattr__(
                self, "allowed_vault_addrs", (self.vault_addr, *self.allowed_vault_addrs)
            )

    def address_refusal(self, address: str) -> str | None:
        """Why the platform does not let pods send their service-account tokens to
        ``address``, or None when it does. The one place this rule is decided."""
        address = normalize_address(address)
        if address in self.allowed_vault_addrs:
            return None
        allowed = ", ".join(self.allowed_vault_addrs) or "none"
        return (
            f"{address} is not an allowed Vault address (allowed: {allowed}); the platform "
            "decides where service-account tokens may be sent "
            f"({SETTING_BY_FIELD['allowed_vault_addrs'].allows_it()})"
        )

    def refusal(self, field_name: str, value: str) -> str | None:
        """Why an annotation may not ask for ``value`` of a policed setting, or None.

        ``field_name`` is a key of :data:`POLICED` (a value checked against the
        platform's own and its allowed list) or an ``allow_*`` yes/no setting.
        """
        if field_name not in POLICED:
            if getattr(self, field_name):
                return None
            return f"the platform does not allow it ({SETTING_BY_FIELD[field_name].allows_it()})"
        own, listed = POLICED[field_name]
        allowed = tuple(v for v in (getattr(self, own) if own else "", *getattr(self, listed)) if v)
        if value in allowed:
            return None
        return (
            f"{value!r} is not allowed by the platform (allowed: {', '.join(allowed) or 'none'}; "
            f"{SETTING_BY_FIELD[listed].allows_it()})"
        )


#: What an annotation may ask for -> (the Options field of the platform's own value, or
#: "", and the field of the list of other allowed values).
POLICED: Mapping[str, tuple[str, str]] = {
    "agent_image": ("agent_image", "allowed_agent_images"),
    "auth_path": ("auth_path", "allowed_auth_paths"),
    "vault_namespace": ("vault_namespace", "allowed_vault_namespaces"),
    "allowed_ca_certs": ("", "allowed_ca_certs"),
    "allowed_tls_server_names": ("", "allowed_tls_server_names"),
}


@dataclass(frozen=True)
class Setting:
    """One platform setting: its camelCase key, Options field, flag and kind."""

    key: str
    field: str
    kind: str  # address, addresses, word, words, path, paths, bool, choice
    help: str
    flag: str = ""  # default: the field's name with dashes (lists: singular, repeatable)
    choices: tuple[str, ...] = ()  # kind "choice": the values it may take

    @property
    def env_var(self) -> str:
        return "VAULT_EXEC_" + self.field.upper()

    @property
    def option(self) -> str:
        return self.flag or "--" + self.field.replace("_", "-")

    @property
    def is_list(self) -> bool:
        return self.kind in ("addresses", "words", "paths")

    def allows_it(self) -> str:
        """How a platform allows what this setting polices, in its three spellings."""
        return f"platform setting {self.key}: {self.option}, {self.env_var}"


SETTINGS: tuple[Setting, ...] = (
    Setting("vaultAddr", "vault_addr", "address",
            "Default Vault address (else config file, VAULT_EXEC_VAULT_ADDR, VAULT_ADDR)."),
    Setting("allowedVaultAddrs", "allowed_vault_addrs", "addresses",
            "Another address vault.hashicorp.com/service may pick (repeatable).",
            "--allowed-vault-addr"),
    Setting("agentImage", "agent_image", "word", "Agent image for the init container."),
    Setting("allowedAgentImages", "allowed_agent_images", "words",
            "Another image vault.hashicorp.com/agent-image may pick (repeatable).",
            "--allowed-agent-image"),
    Setting("authPath", "auth_path", "path", "Default auth mount (auth/kubernetes)."),
    Setting("allowedAuthPaths", "allowed_auth_paths", "paths",
            "Another mount vault.hashicorp.com/auth-path may pick (repeatable).",
            "--allowed-auth-path"),
    Setting("authType", "auth_type", "choice", "Default auth method.", choices=AUTH_TYPES),
    Setting("authMode", "auth_mode", "choice",
            "How agents log in: inline (OpenBao >= 2.4, no token), standard, auto (default).",
            choices=AUTH_MODES),
    Setting("vaultNamespace", "vault_namespace", "word",
            "Vault/OpenBao namespace of every login and read (Enterprise/OpenBao)."),
    Setting("allowedVaultNamespaces", "allowed_vault_namespaces", "words",
            "Another namespace vault.hashicorp.com/namespace may pick (repeatable).",
            "--allowed-vault-namespace"),
    Setting("tokenAudience", "token_audience", "word",
            "Audience of the projected token when the pod does not automount one (vault)."),
    Setting("skipHooks", "skip_hooks", "bool", "Leave Helm hook documents (helm.sh/hook) alone."),
    Setting("allowTlsSkipVerify", "allow_tls_skip_verify", "bool",
            "Let vault.hashicorp.com/tls-skip-verify turn certificate checks off."),
    Setting("allowedCaCerts", "allowed_ca_certs", "words",
            "A CA bundle path vault.hashicorp.com/ca-cert may name (repeatable).",
            "--allowed-ca-cert"),
    Setting("allowedTlsServerNames", "allowed_tls_server_names", "words",
            "A name vault.hashicorp.com/tls-server-name may pick (repeatable).",
            "--allowed-tls-server-name"),
    Setting("allowCustomDns", "allow_custom_dns", "bool",
            "Let opted-in pods resolve names outside the cluster's DNS (dnsPolicy: None, "
            "dnsConfig.nameservers, hostAliases naming the Vault host)."),
)  # fmt: skip
SETTING_BY_KEY: Mapping[str, Setting] = {s.key: s for s in SETTINGS}
SETTING_BY_FIELD: Mapping[str, Setting] = {s.field: s for s in SETTINGS}

#: camelCase key -> Options field.
KEYS: Mapping[str, str] = {s.key: s.field for s in SETTINGS}
#: Environment variable -> camelCase key. (Not VAULT_EXEC_CONFIG: that is the agent's.)
ENV_VARS: Mapping[str, str] = {s.env_var: s.key for s in SETTINGS}
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


def _path(value: object, key: str) -> str:
    return _word(value, key).strip("/") or _word("", key)


def _bool(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{key}: {value!r} is not a boolean")


def _choice(value: object, key: str) -> str:
    choices = SETTING_BY_KEY[key].choices
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{key}: {value!r} must be one of {', '.join(choices)}")
    return value


_SCALARS = {"address": _address, "word": _word, "path": _path, "choice": _choice}
_ITEMS = {"addresses": _address, "words": _word, "paths": _path}
_LIST_NOUNS = {"addresses": "Vault addresses", "words": "strings without spaces", "paths": "paths"}


def _list(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):  # the environment's comma-separated form
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        noun = _LIST_NOUNS[SETTING_BY_KEY[key].kind]
        raise ConfigError(f"{key}: {value!r} must be a list of {noun}")
    parse = _ITEMS[SETTING_BY_KEY[key].kind]
    return tuple(dict.fromkeys(parse(part, key) for part in items))


def options_from_mapping(m: Mapping[str, object], base: Options | None = None) -> Options:
    """Overlay the camelCase keys of ``m`` on ``base`` (defaults when None).

    A list replaces the list of ``base``; the (possibly new) ``vaultAddr`` is always
    allowed. Raises ConfigError.
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
        setting = SETTING_BY_KEY[key]
        if setting.kind == "bool":
            changes[setting.field] = _bool(value, key)
        elif setting.is_list:
            changes[setting.field] = _list(value, key)
        else:
            changes[setting.field] = _SCALARS[setting.kind](value, key)
    extras = changes.pop("allowed_vault_addrs", extras)  # type: ignore[assignment]
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
    unknown = sorted(name for name in cli if name not in SETTING_BY_FIELD)
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}")
    from_cli = {
        SETTING_BY_FIELD[name].key: value for name, value in cli.items() if value not in (None, ())
    }
    if from_cli:
        try:
            options = options_from_mapping(from_cli, options)
        except ConfigError as error:
            message = str(error)
            for setting in SETTINGS:  # speak in flags: --vault-addr, not vaultAddr
                message = message.replace(f"{setting.key}:", f"{setting.option}:", 1)
            raise ConfigError(message) from None
    return options


def _layer(options: Options, m: Mapping[str, object], source: str) -> Options:
    try:
        return options_from_mapping(m, options)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _read_config_file(path: str) -> Mapping[str, object]:
    from transformer.yaml import kube  # the one module that parses YAML

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    try:
        data = kube.load_document(text)
    except kube.YamlSyntaxError as error:
        raise ConfigError(f"{path}:{error.line}:{error.col}: {error.message}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the config file must hold a mapping of settings")
    return {str(key): value for key, value in data.items()}
