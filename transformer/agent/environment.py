"""The application's environment: the container's, minus the agent's own, plus secrets."""

from __future__ import annotations

from transformer.agent.contract import CONFIG_ENV_VAR

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Variables that freezers (PyInstaller, staticx, Nuitka) set for their own
#: process; they must not reach the app (see shared/reference/agent-packaging.md §3a).
FREEZER_PREFIXES = ("_PYI_", "_MEIPASS", "NUITKA_", "STATICX_")


class ChildEnvironment:
    __slots__ = ("env", "shadowed")

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        #: Names of container variables a secret replaced (logged by name only).
        self.shadowed: list[str] = []


def child_environment(
    container_env: Mapping[str, str],
    secrets: Iterable[tuple[str, str]],
    *,
    frozen: bool,
    token_for_app: str | None = None,
) -> ChildEnvironment:
    """Build the exec'd program's environment.

    Removed: the config var, any ``VAULT_TOKEN`` (the app gets the agent's token
    only when ``token_for_app`` is given, i.e. ``token.to_app``), and the
    freezer's variables; when frozen, ``LD_LIBRARY_PATH`` is restored from
    ``LD_LIBRARY_PATH_ORIG`` (PyInstaller saves the original there) or dropped,
    since it points into the bundle. Secrets are added last and win.
    """
    env = {
        name: value
        for name, value in container_env.items()
        if name not in (CONFIG_ENV_VAR, "VAULT_TOKEN") and not name.startswith(FREEZER_PREFIXES)
    }
    if frozen:
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        env.pop("LD_LIBRARY_PATH", None)
        if original is not None:
            env["LD_LIBRARY_PATH"] = original
    if token_for_app is not None:
        env["VAULT_TOKEN"] = token_for_app
    result = ChildEnvironment(env)
    from_secrets: set[str] = set()
    for name, value in secrets:
        if name in env and name not in from_secrets and name not in result.shadowed:
            result.shadowed.append(name)
        env[name] = value
        from_secrets.add(name)
    return result
