"""The Argo CD config management plugin's decisions (pure; ``vault-exec argocd`` runs them).

argocd-cmp-server runs ``init`` and ``generate`` in a copy of the Application's source
directory with the Application's environment (docs/argocd.md). This module
turns that environment into: which tool renders the source (Helm, kustomize, or the
plain files), the exact argv for it, and the platform defaults for the render.

The platform owns the plugin sidecar; Application authors own parameters and
``ARGOCD_ENV_*``. So an Application may pick settings, but a Vault address only from
the allowed list the sidecar's environment (``VAULT_EXEC_*``) defines: otherwise an
Application could send its pods' service-account tokens to any host.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from transformer.errors import ConfigError
from transformer.options import Options, options_from_mapping

HELM = "helm"
KUSTOMIZE = "kustomize"
DIRECTORY = "directory"

#: Commands the sidecar image provides; overridable (tests point them at Helm's engine
#: through a stand-in, and at ``kubectl kustomize``).
HELM_COMMAND_ENV = "VAULT_EXEC_HELM"
KUSTOMIZE_COMMAND_ENV = "VAULT_EXEC_KUSTOMIZE"
HELM_COMMAND = ("helm",)
KUSTOMIZE_COMMAND = ("kustomize", "build")

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

#: Plugin parameter (and ARGOCD_ENV_ name) -> Options key.
OPTION_PARAMETERS: Mapping[str, str] = {
    "vault-addr": "vaultAddr",
    "agent-image": "agentImage",
    "auth-path": "authPath",
    "auth-type": "authType",
    "token-audience": "tokenAudience",
    "skip-hooks": "skipHooks",
}
RENDER_PARAMETERS = ("release-name", "values-files", "set")
PARAMETERS = (*RENDER_PARAMETERS, *OPTION_PARAMETERS)

#: What ``discover`` looks for: this project's exec-mode annotation.
DISCOVER_MARKER = "vault.hashicorp.com/agent-run-as-sidecar"

_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class AppContext:
    """What one Application asks the plugin to render."""

    release: str
    namespace: str
    kube_version: str
    api_versions: tuple[str, ...]
    values_files: tuple[str, ...]
    set_values: tuple[tuple[str, str], ...]
    option_overrides: Mapping[str, str]


def env_name(parameter: str) -> str:
    """``ARGOCD_ENV_`` name of a parameter: ``vault-addr`` -> ``ARGOCD_ENV_VAULT_ADDR``."""
    return "ARGOCD_ENV_" + re.sub(r"[^A-Z0-9_]", "_", parameter.upper())


def release_name(app_name: str) -> str:
    """Helm release name of an Application: apps in any namespace are ``<ns>_<name>``,
    and Argo CD's own Helm support uses the part after the ``_`` (not valid in a release)."""
    return app_name.rsplit("_", 1)[-1]


def _parameters(environ: Mapping[str, str]) -> dict[str, object]:
    """The Application's parameters, from ARGOCD_APP_PARAMETERS (JSON list)."""
    raw = environ.get("ARGOCD_APP_PARAMETERS", "").strip()
    if not raw:
        return {}
    import json  # only Argo CD runs pass parameters

    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"ARGOCD_APP_PARAMETERS is not JSON: {error}") from None
    if not isinstance(entries, list):
        raise ConfigError("ARGOCD_APP_PARAMETERS must be a JSON list of parameters")
    params: dict[str, object] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"ARGOCD_APP_PARAMETERS: {entry!r} has no name")
        name = entry["name"]
        if name not in PARAMETERS:
            raise ConfigError(f"unknown plugin parameter {name!r}; known: {', '.join(PARAMETERS)}")
        for kind in ("string", "array", "map"):
            if kind in entry:
                params[name] = entry[kind]
    return params


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"parameter {name}: {value!r} must be a string")
    return value


def _string_list(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):  # the ARGOCD_ENV_ form: comma-separated
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"parameter {name}: {value!r} must be a list of strings")
    return tuple(value)


def _string_map(value: object, name: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"parameter {name}: {value!r} must be a map of strings")
    return tuple(sorted(value.items()))


def app_context(environ: Mapping[str, str]) -> AppContext:
    """Read the Application from argocd-cmp-server's environment (parameters win over
    ``ARGOCD_ENV_*``). Raises ConfigError."""
    params = _parameters(environ)

    def setting(name: str) -> object | None:
        if name in params:
            return params[name]
        return environ.get(env_name(name)) or None

    app_name = environ.get("ARGOCD_APP_NAME", "")
    release = _string(setting("release-name") or release_name(app_name), "release-name")
    if not release:
        raise ConfigError("no release name: ARGOCD_APP_NAME is not set (is this run by Argo CD?)")
    if len(release) > 53 or not _RELEASE_NAME.match(release):
        raise ConfigError(
            f"release name {release!r} is not a valid Helm release name; "
            "set the plugin parameter release-name"
        )
    values = setting("values-files")
    set_values = params.get("set")
    overrides: dict[str, str] = {}
    for name, key in OPTION_PARAMETERS.items():
        value = setting(name)
        if value is not None:
            overrides[key] = _string(value, name)
    return AppContext(
        release=release,
        namespace=environ.get("ARGOCD_APP_NAMESPACE", "").strip(),
        kube_version=environ.get("KUBE_VERSION", "").strip(),
        api_versions=tuple(
            v.strip() for v in environ.get("KUBE_API_VERSIONS", "").split(",") if v.strip()
        ),
        values_files=_string_list(values, "values-files") if values is not None else (),
        set_values=_string_map(set_values, "set") if set_values is not None else (),
        option_overrides=overrides,
    )


def app_options(platform: Options, ctx: AppContext) -> Options:
    """The platform's defaults with the Application's choices laid over them.

    An Application may choose a Vault address, an agent image and an auth mount only
    among the platform's allowed ones, and cannot widen those lists (the policy settings
    are no plugin parameters). Raises ConfigError.
    """
    overrides = dict(ctx.option_overrides)
    if "vaultAddr" in overrides:
        refusal = platform.address_refusal(overrides["vaultAddr"])
        if refusal is not None:
            raise ConfigError(f"plugin parameter vault-addr: {refusal}")
        overrides["allowedVaultAddrs"] = ",".join(platform.allowed_vault_addrs)
    # The platform's policy bounds an Application as it bounds an annotation.
    for parameter, key, field_name in (
        ("agent-image", "agentImage", "agent_image"),
        ("auth-path", "authPath", "auth_path"),
    ):
        if key in overrides:
            refusal = platform.refusal(
                field_name, overrides[key].strip("/") if key == "authPath" else overrides[key]
            )
            if refusal is not None:
                raise ConfigError(f"plugin parameter {parameter}: {refusal}")
    try:
        return options_from_mapping(overrides, platform)
    except ConfigError as error:
        raise ConfigError(f"plugin parameters: {error}") from None


def source_kind(names: Collection[str]) -> str:
    """How to render a source directory, from the names of the files in it."""
    if "Chart.yaml" in names:
        return HELM
    if any(name in names for name in KUSTOMIZATION_FILES):
        return KUSTOMIZE
    return DIRECTORY


def manifest_files(names: Collection[str]) -> list[str]:
    """The files a plain directory source contributes, in Argo CD's order (sorted by
    name, not recursive, hidden files skipped)."""
    return sorted(n for n in names if n.endswith(MANIFEST_SUFFIXES) and not n.startswith("."))


def tool_command(environ: Mapping[str, str], env_var: str, default: Sequence[str]) -> list[str]:
    """The command for a tool: ``$VAULT_EXEC_HELM`` / ``$VAULT_EXEC_KUSTOMIZE`` (shell
    words, never run by a shell), else ``default``."""
    words = shlex.split(environ.get(env_var, ""))
    return words or list(default)


def _inside(path: str, what: str) -> str:
    normal = posixpath.normpath(path)
    if posixpath.isabs(normal) or normal == ".." or normal.startswith("../"):
        # Argo CD's own Helm support refuses these too: a values file outside the
        # repository would let an Application read the sidecar's files into manifests.
        raise ConfigError(f"{what} {path!r} must be a path inside the Application's source")
    return normal


def helm_template_argv(helm: Sequence[str], ctx: AppContext) -> list[str]:
    """``helm template`` as Argo CD's own Helm support would run it for ``ctx``."""
    argv = [*helm, "template", ctx.release, ".", "--include-crds"]
    if ctx.namespace:
        argv += ["--namespace", ctx.namespace]
    if ctx.kube_version:
        argv += ["--kube-version", ctx.kube_version]
    for api_version in ctx.api_versions:
        argv += ["--api-versions", api_version]
    for values_file in ctx.values_files:
        argv += ["--values", _inside(values_file, "values file")]
    for key, value in ctx.set_values:
        argv += ["--set", f"{key}={value}"]
    return argv


def helm_dependency_argv(helm: Sequence[str]) -> list[str]:
    return [*helm, "dependency", "build", "."]


def kustomize_argv(kustomize: Sequence[str]) -> list[str]:
    """``kustomize build .`` (or ``kubectl kustomize .``: the command names the verb)."""
    return [*kustomize, "."]


def chart_has_dependencies(chart: object) -> bool:
    """Whether a loaded Chart.yaml declares dependencies (``init`` builds them)."""
    return isinstance(chart, Mapping) and bool(chart.get("dependencies"))


def mentions_marker(text: str) -> bool:
    return DISCOVER_MARKER in text


_LIST_KIND = re.compile(r"(?m)^kind:[ \t]*['\"]?[A-Za-z0-9]*List['\"]?[ \t]*(#.*)?$")


def flatten_lists(stream: str) -> str:
    """Replace each ``kind: List`` (or ``*List``) document by its items.

    Argo CD does not unpack Lists from a plugin's output; each item must be its own
    document. Other documents are kept as text, byte for byte.
    """
    if not _LIST_KIND.search(stream):
        return stream  # the usual case: no document needs loading at all
    from transformer.yaml import kube
    from transformer.yaml.stream import split_documents

    pieces: list[str] = []
    for chunk in split_documents(stream):
        if not _LIST_KIND.search(chunk.text):
            pieces.append(chunk.text)
            continue
        body = chunk.text[len(chunk.prefix) :]
        document = kube.load_document(body)
        items = document.get("items") if isinstance(document, Mapping) else None
        kind = document.get("kind") if isinstance(document, Mapping) else None
        if not (isinstance(kind, str) and kind.endswith("List") and isinstance(items, list)):
            pieces.append(chunk.text)
            continue
        for item in items:
            if isinstance(item, Mapping):
                pieces.append("---\n" + kube.dump_document(item))
    out = "".join(pieces)
    return out if out.endswith("\n") or not out else out + "\n"
