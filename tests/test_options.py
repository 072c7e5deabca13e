"""Platform defaults: precedence, validation, the camelCase mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from transformer.errors import ConfigError
from transformer.options import (
    DEFAULT_AGENT_IMAGE,
    Options,
    load_options,
    options_from_mapping,
)

NO_CLI: dict[str, object] = {}


def test_defaults() -> None:
    options = load_options(NO_CLI, None, {})
    assert options.vault_addr == ""
    assert options.allowed_vault_addrs == ()
    assert options.agent_image == DEFAULT_AGENT_IMAGE
    assert DEFAULT_AGENT_IMAGE.endswith(":0.1.0")
    assert (options.auth_path, options.auth_type, options.token_audience) == (
        "auth/kubernetes",
        "kubernetes",
        "vault",
    )
    assert options.skip_hooks is False


def test_vault_addr_falls_back_to_vault_addr_env() -> None:
    options = load_options(NO_CLI, None, {"VAULT_ADDR": "https://vault.example:8200/"})
    assert options.vault_addr == "https://vault.example:8200"
    assert options.allowed_vault_addrs == ("https://vault.example:8200",)


def test_precedence_flag_over_file_over_env_over_vault_addr(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("vaultAddr: https://from-file\nagentImage: file/image:1\n")
    environ = {
        "VAULT_ADDR": "https://from-vault-addr",
        "VAULT_EXEC_VAULT_ADDR": "https://from-env",
        "VAULT_EXEC_AGENT_IMAGE": "env/image:1",
        "VAULT_EXEC_TOKEN_AUDIENCE": "env-audience",
    }
    assert load_options(NO_CLI, None, environ).vault_addr == "https://from-env"
    from_file = load_options(NO_CLI, str(config), environ)
    assert from_file.vault_addr == "https://from-file"
    assert from_file.agent_image == "file/image:1"
    assert from_file.token_audience == "env-audience"
    from_flag = load_options({"vault_addr": "https://from-flag"}, str(config), environ)
    assert from_flag.vault_addr == "https://from-flag"
    # A replaced default address is no longer allowed.
    assert from_flag.allowed_vault_addrs == ("https://from-flag",)


def test_allowed_addresses_always_hold_the_default() -> None:
    options = load_options(
        {"vault_addr": "https://a", "allowed_vault_addrs": ("https://b/", "https://a")},
        None,
        {},
    )
    assert options.allowed_vault_addrs == ("https://a", "https://b")
    env = load_options(NO_CLI, None, {"VAULT_EXEC_ALLOWED_VAULT_ADDRS": "https://x, https://y"})
    assert env.allowed_vault_addrs == ("https://x", "https://y")


def test_cli_none_and_empty_mean_not_given() -> None:
    options = load_options(
        {"vault_addr": None, "allowed_vault_addrs": (), "skip_hooks": None},
        None,
        {"VAULT_EXEC_SKIP_HOOKS": "true"},
    )
    assert options.skip_hooks is True


def test_options_from_mapping_camel_case() -> None:
    options = options_from_mapping(
        {
            "vaultAddr": "http://vault:8200",
            "allowedVaultAddrs": ["https://other:8200"],
            "agentImage": "img:1",
            "authPath": "/auth/k8s/",
            "authType": "jwt",
            "tokenAudience": "aud",
            "skipHooks": "yes",
            "authMode": "inline",
        }
    )
    assert options == Options(
        vault_addr="http://vault:8200",
        allowed_vault_addrs=("http://vault:8200", "https://other:8200"),
        agent_image="img:1",
        auth_path="auth/k8s",
        auth_type="jwt",
        token_audience="aud",
        skip_hooks=True,
        auth_mode="inline",
    )


def test_options_from_mapping_overlays_a_base() -> None:
    base = Options(vault_addr="https://a", allowed_vault_addrs=("https://b",))
    options = options_from_mapping({"agentImage": "x:1"}, base)
    assert options.allowed_vault_addrs == ("https://a", "https://b")
    assert options.agent_image == "x:1"


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"vaultAddr": "vault:8200"}, "vaultAddr"),
        ({"vaultAdr": "https://x"}, "unknown setting 'vaultAdr'"),
        ({"authType": "ldap"}, "authType"),
        ({"authMode": "fast"}, "authMode: 'fast' must be one of auto, inline, standard"),
        ({"agentImage": "has space"}, "agentImage"),
        ({"skipHooks": "maybe"}, "not a boolean"),
        ({"allowedVaultAddrs": 5}, "list of Vault addresses"),
    ],
)
def test_bad_values_raise_config_error(mapping: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        options_from_mapping(mapping)


def test_bad_values_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^VAULT_ADDR: "):
        load_options(NO_CLI, None, {"VAULT_ADDR": "not-a-url"})
    with pytest.raises(ConfigError, match="--vault-addr"):
        load_options({"vault_addr": "nope"}, None, {})
    config = tmp_path / "c.yaml"
    config.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_options(NO_CLI, str(config), {})
    config.write_text("vaultAddr: [\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:2:1: invalid YAML"):
        load_options(NO_CLI, str(config), {})
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_options(NO_CLI, str(tmp_path / "missing.yaml"), {})


def test_empty_environment_variables_are_unset() -> None:
    options = load_options(NO_CLI, None, {"VAULT_EXEC_VAULT_ADDR": "", "VAULT_ADDR": "https://v"})
    assert options.vault_addr == "https://v"


def test_empty_config_file_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("# nothing yet\n")
    assert load_options(NO_CLI, str(config), {}) == Options()


def test_every_option_is_a_setting_with_a_key_a_flag_and_a_variable() -> None:
    from dataclasses import fields

    from transformer.options import ENV_VARS, SETTINGS

    assert {setting.field for setting in SETTINGS} == {field.name for field in fields(Options)}
    assert len(ENV_VARS) == len(SETTINGS)
    assert len({setting.option for setting in SETTINGS}) == len(SETTINGS)
