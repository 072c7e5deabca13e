"""The app's environment: container env minus the agent's own variables, plus secrets."""

from __future__ import annotations

from transformer.agent.contract import CONFIG_ENV_VAR
from transformer.agent.environment import child_environment

CONTAINER = {
    "PATH": "/usr/bin",
    "HOME": "/home/app",
    CONFIG_ENV_VAR: '{"version": 1}',
    "VAULT_TOKEN": "s.container",
    "VAULT_ADDR": "http://vault:8200",
    "_PYI_APPLICATION_HOME_DIR": "/tmp/_MEI1",
    "_PYI_PARENT_PROCESS_LEVEL": "1",
    "_MEIPASS2": "/tmp/_MEI1",
    "NUITKA_ONEFILE_PARENT": "1",
    "STATICX_BUNDLE_DIR": "/tmp/staticx-x",
    "LD_LIBRARY_PATH": "/vault-exec/_internal",
    "LD_LIBRARY_PATH_ORIG": "/opt/lib",
    "DB_PASSWORD": "from-the-pod-spec",
}


def test_private_variables_are_removed_and_secrets_added() -> None:
    child = child_environment(CONTAINER, [("API_KEY", "abc")], frozen=True)
    assert child.env == {
        "PATH": "/usr/bin",
        "HOME": "/home/app",
        "VAULT_ADDR": "http://vault:8200",
        "LD_LIBRARY_PATH": "/opt/lib",
        "DB_PASSWORD": "from-the-pod-spec",
        "API_KEY": "abc",
    }
    assert child.shadowed == []


def test_not_frozen_keeps_the_library_path() -> None:
    env = {"LD_LIBRARY_PATH": "/opt/lib", "PATH": "/bin"}
    assert child_environment(env, [], frozen=False).env == env


def test_frozen_without_original_drops_the_bundle_library_path() -> None:
    env = {"LD_LIBRARY_PATH": "/vault-exec/_internal", "PATH": "/bin"}
    assert child_environment(env, [], frozen=True).env == {"PATH": "/bin"}


def test_a_secret_shadowing_a_variable_wins_and_is_reported_by_name() -> None:
    child = child_environment(
        CONTAINER,
        [("DB_PASSWORD", "s3cret"), ("DB_PASSWORD", "s3cret2"), ("HOME", "/x"), ("NEW", "n")],
        frozen=False,
    )
    assert child.env["DB_PASSWORD"] == "s3cret2"
    assert child.env["HOME"] == "/x"
    assert child.shadowed == ["DB_PASSWORD", "HOME"]


def test_token_reaches_the_app_only_when_asked() -> None:
    assert "VAULT_TOKEN" not in child_environment(CONTAINER, [], frozen=False).env
    given = child_environment(CONTAINER, [], frozen=False, token_for_app="s.agent")
    assert given.env["VAULT_TOKEN"] == "s.agent"
    assert CONFIG_ENV_VAR not in given.env


def test_the_container_env_is_not_modified() -> None:
    before = dict(CONTAINER)
    child_environment(CONTAINER, [("X", "1")], frozen=True)
    assert before == CONTAINER
