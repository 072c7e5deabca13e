"""Rewrite one Kubernetes object so its opted-in pod templates run the agent first.

Pure: no I/O, no YAML. Works on plain dicts and on ruamel.yaml's CommentedMaps
alike (only MutableMapping/MutableSequence operations; what is added is plain
dicts and lists), so a comment-keeping front end can use it too.
"""

from __future__ import annotations

import json
from collections.abc import (
    Callable,
    Collection,
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
)
from dataclasses import dataclass, field
from typing import Any

from transformer import annotations as ann
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    CONFIG_VERSION,
    INSTALL_TARGET_PATH,
    PROJECTED_TOKEN_DIR,
    PROJECTED_TOKEN_PATH,
)
from transformer.options import Options, normalize_address
from transformer.problems import FieldPath, Problem, Resource
from transformer.resources import (
    POD_TEMPLATE_PATHS,
    PodTemplate,
    find_unsupported_pod_templates,
    is_helm_hook,
)
from transformer.resources import find_pod_templates as _find

INSTALL_CONTAINER = "vault-exec-install"
AGENT_VOLUME = "vault-exec-agent"
TOKEN_VOLUME = "vault-exec-token"
#: The bundle is a few tens of MiB; the limit keeps a runaway copy off the node disk.
AGENT_VOLUME_SIZE_LIMIT = "64Mi"
TOKEN_EXPIRATION_SECONDS = 3600
DEFAULT_RUN_AS_USER = 65532  # distroless "nonroot"
DEFAULT_RUN_AS_GROUP = 65532
DEFAULT_REQUESTS = {"cpu": "50m", "memory": "32Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "64Mi"}


@dataclass
class Findings:
    """What :func:`inject` did to one object."""

    changed: bool = False
    problems: list[Problem] = field(default_factory=list)


def find_pod_templates(obj: Any) -> Iterator[tuple[FieldPath, MutableMapping[str, Any]]]:
    """(path, pod template) for every supported kind in ``obj``, List items included."""
    for found in _find(obj):
        yield found.path, found.template


def inject(
    obj: MutableMapping[str, Any],
    options: Options,
    *,
    tokenless_service_accounts: Collection[tuple[str, str]] = (),
) -> Findings:
    """Rewrite every opted-in pod template of ``obj`` in place, or report why not.

    All templates are checked before any is changed: with a problem, ``obj`` is
    left as it was. Problems carry a field path, not yet a line.
    ``tokenless_service_accounts`` holds the (namespace, name) of ServiceAccounts
    seen with ``automountServiceAccountToken: false``: their pods get a projected
    token too (the pod spec alone does not show it).
    """
    findings = Findings()
    plans = []
    for found in (*find_unsupported_pod_templates(obj), *_find(obj)):
        if options.skip_hooks and is_helm_hook(found.owner):
            continue
        if not found.supported:
            findings.problems += _unsupported_kind_problems(found)
            continue
        findings.problems += _misplaced_annotation_problems(found)
        plan, problems = _plan(found, options, tokenless_service_accounts)
        findings.problems += problems
        if plan is not None:
            plans.append(plan)
    if findings.problems:
        return findings
    for plan in plans:
        plan.apply()
    findings.changed = bool(plans)
    return findings


def _wants_exec_mode(annotations: Mapping[str, Any]) -> bool:
    return (
        ann.decide(annotations) is ann.Decision.INJECT
        and annotations.get(ann.RUN_AS_SIDECAR) in ann.FALSE_VALUES
    )


def _unsupported_kind_problems(found: PodTemplate) -> list[Problem]:
    """A pod asking for exec mode in a kind vault-exec does not rewrite: say so."""
    if not _wants_exec_mode(_annotations(found.template)):
        return []
    resource = found.resource
    kind = f"{resource.kind} ({resource.api_version})" if resource else "this kind"
    supported = ", ".join(sorted({name for _group, name in POD_TEMPLATE_PATHS}))
    return [
        Problem(
            "-",
            0,
            0,
            f"vault-exec cannot inject {kind}: it rewrites only {supported} and List items",
            resource,
            path=(*found.path, "metadata", "annotations", ann.INJECT),
        )
    ]


def _misplaced_annotation_problems(found: PodTemplate) -> list[Problem]:
    """agent-inject on the workload instead of its pod template is a silent no-op
    for the webhook too; a render can say so."""
    if found.path == found.owner_path:  # a Pod is its own template
        return []
    owner_annotations = _annotations(found.owner)
    if ann.INJECT not in owner_annotations or ann.INJECT in _annotations(found.template):
        return []
    if ann.decide(owner_annotations) is not ann.Decision.INJECT:
        return []
    template_path = ".".join(str(step) for step in found.path[len(found.owner_path) :])
    return [
        Problem(
            "-",
            0,
            0,
            f"{ann.INJECT} is on the {found.owner.get('kind')}, but vault.hashicorp.com/ "
            f"annotations belong on its pod template ({template_path}.metadata.annotations; "
            "in most charts: podAnnotations)",
            found.resource,
            path=(*found.owner_path, "metadata", "annotations", ann.INJECT),
        )
    ]


def _annotations(template: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = template.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def _names(items: object) -> list[str]:
    if not isinstance(items, list | MutableSequence):
        return []
    return [str(item.get("name")) for item in items if isinstance(item, Mapping)]


@dataclass
class _Plan:
    template: MutableMapping[str, Any]
    containers: list[tuple[MutableMapping[str, Any], tuple[str, ...]]]
    init_container: dict[str, Any]
    volumes: list[dict[str, Any]]
    mounts: list[dict[str, Any]]
    config_json: str

    def apply(self) -> None:
        template = self.template
        metadata = template.get("metadata")
        if not isinstance(metadata, MutableMapping):
            metadata = template["metadata"] = {}
        annotations = metadata.get("annotations")
        if not isinstance(annotations, MutableMapping):
            annotations = metadata["annotations"] = {}
        annotations[ann.STATUS] = ann.INJECTED
        spec = template["spec"]
        init_containers = _list(spec, "initContainers")
        init_containers.insert(0, self.init_container)
        _list(spec, "volumes").extend(self.volumes)
        for container, command in self.containers:
            _set_after(container, "command", [AGENT_EXECUTABLE, "run", "--", *command], "image")
            _list(container, "volumeMounts").extend(dict(mount) for mount in self.mounts)
            _list(container, "env").append({"name": CONFIG_ENV_VAR, "value": self.config_json})


def _set_after(mapping: MutableMapping[str, Any], key: str, value: Any, after: str) -> None:
    """Set ``key``, placing a new key right after ``after`` where people expect it."""
    if key in mapping or after not in mapping:
        mapping[key] = value
        return
    position = list(mapping).index(after) + 1
    insert = getattr(mapping, "insert", None)
    if callable(insert):  # ruamel.yaml's CommentedMap keeps its comments this way
        insert(position, key, value)
        return
    items = list(mapping.items())
    items.insert(position, (key, value))
    mapping.clear()
    mapping.update(items)


def _list(mapping: MutableMapping[str, Any], key: str) -> MutableSequence[Any]:
    value = mapping.get(key)
    if not isinstance(value, MutableSequence):
        value = mapping[key] = []
    return value


def _plan(
    found: PodTemplate, options: Options, tokenless_service_accounts: Collection[tuple[str, str]]
) -> tuple[_Plan | None, list[Problem]]:
    template, path, resource = found.template, found.path, found.resource
    annotations = _annotations(template)
    annotations_path = (*path, "metadata", "annotations")

    def problem(message: str, where: FieldPath) -> Problem:
        return Problem("-", 0, 0, message, resource, path=where)

    if ann.decide(annotations) is not ann.Decision.INJECT:
        return None, []
    request, annotation_problems = ann.parse(annotations)
    if request is None:
        return None, [
            problem(p.message, (*annotations_path, p.key) if p.key else annotations_path)
            for p in annotation_problems
        ]
    problems: list[Problem] = []
    spec = template.get("spec")
    spec_path = (*path, "spec")
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    if (
        not isinstance(spec, MutableMapping)
        or not isinstance(containers, MutableSequence)
        or not containers
    ):
        return None, [problem("the pod template has no containers to inject", spec_path)]

    # Vault address: the platform's, or one the platform allowed.
    address = options.vault_addr
    if request.service is not None:
        address = normalize_address(request.service)
        if address not in options.allowed_vault_addrs:
            allowed = ", ".join(options.allowed_vault_addrs) or "none"
            problems.append(
                problem(
                    f"{ann.PREFIX}service: {address} is not an allowed Vault address "
                    f"(allowed: {allowed}); the platform decides where service-account "
                    "tokens may be sent",
                    (*annotations_path, ann.PREFIX + "service"),
                )
            )
    elif not address:
        problems.append(
            problem(
                "no Vault address: pass --vault-addr, set vaultAddr in the config file, "
                "or set VAULT_EXEC_VAULT_ADDR or VAULT_ADDR",
                (*annotations_path, ann.INJECT),
            )
        )

    # Which containers, and what each one execs.
    by_name = {
        str(c.get("name")): (i, c)
        for i, c in enumerate(containers)
        if isinstance(c, MutableMapping)
    }
    selected = list(request.containers) if request.containers is not None else list(by_name)
    for name in selected:
        if name not in by_name:
            problems.append(
                problem(
                    f"{ann.PREFIX}agent-inject-containers names {name!r}, which is not a "
                    f"container of this pod (containers: {', '.join(by_name)})",
                    (*annotations_path, ann.PREFIX + "agent-inject-containers"),
                )
            )
    selected = [name for name in selected if name in by_name]
    for name in request.exec_commands:
        if name not in selected:
            problems.append(
                problem(
                    f"{ann.EXEC_COMMAND_PREFIX}{name}: {name!r} is not an injected container "
                    f"(injected: {', '.join(selected) or 'none'})",
                    (*annotations_path, ann.EXEC_COMMAND_PREFIX + name),
                )
            )
    if request.exec_command is not None and len(selected) > 1:
        problems.append(
            problem(
                f"{ann.EXEC_COMMAND} is ambiguous with {len(selected)} injected containers "
                f"({', '.join(selected)}): use {ann.EXEC_COMMAND_PREFIX}<container> for each",
                (*annotations_path, ann.EXEC_COMMAND),
            )
        )
    rewrites: list[tuple[MutableMapping[str, Any], tuple[str, ...]]] = []
    for name in selected:
        index, container = by_name[name]
        container_path = (*spec_path, "containers", index)
        command = _original_command(container, name, request)
        if command is None:
            problems.append(
                problem(
                    f"container {name!r} has no command to exec: add "
                    f'{ann.EXEC_COMMAND}: "/path/to/app" (or {ann.EXEC_COMMAND_PREFIX}{name}); '
                    "the image's ENTRYPOINT is not visible at render time",
                    container_path,
                )
            )
            continue
        problems += _container_clashes(container, container_path, problem)
        rewrites.append((container, command))

    # Names vault-exec adds must be free, or the pod was half-injected by hand.
    if INSTALL_CONTAINER in _names(spec.get("initContainers")):
        problems.append(
            problem(f"the pod already has an init container named {INSTALL_CONTAINER!r}", spec_path)
        )
    needs_token = _needs_projected_token(spec, found, tokenless_service_accounts)
    existing_volumes = spec.get("volumes")
    if not isinstance(existing_volumes, MutableSequence):
        existing_volumes = []
    for index, item in enumerate(existing_volumes):
        volume = item.get("name") if isinstance(item, Mapping) else None
        if volume in (AGENT_VOLUME, TOKEN_VOLUME):
            problems.append(
                problem(
                    f"the pod already has a volume named {volume!r} but is not marked "
                    f'{ann.STATUS}: "{ann.INJECTED}"',
                    (*spec_path, "volumes", index),
                )
            )
    if problems:
        return None, problems

    mounts = [{"name": AGENT_VOLUME, "mountPath": BUNDLE_MOUNT_PATH, "readOnly": True}]
    volumes: list[dict[str, Any]] = [
        {"name": AGENT_VOLUME, "emptyDir": {"sizeLimit": AGENT_VOLUME_SIZE_LIMIT}}
    ]
    if needs_token:
        mounts.append({"name": TOKEN_VOLUME, "mountPath": PROJECTED_TOKEN_DIR, "readOnly": True})
        volumes.append(
            {
                "name": TOKEN_VOLUME,
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": options.token_audience,
                                "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                "path": PROJECTED_TOKEN_PATH.rsplit("/", 1)[1],
                            }
                        }
                    ]
                },
            }
        )
    config = agent_config(request, options, address, needs_token)
    return (
        _Plan(
            template=template,
            containers=rewrites,
            init_container=_install_container(request, options),
            volumes=volumes,
            mounts=mounts,
            config_json=json.dumps(config, separators=(",", ":"), ensure_ascii=False),
        ),
        [],
    )


def _needs_projected_token(
    spec: Mapping[str, Any], found: PodTemplate, tokenless: Collection[tuple[str, str]]
) -> bool:
    """Will the kubelet mount no service-account token into this pod?"""
    automount = spec.get("automountServiceAccountToken")
    if automount is not None:
        return automount is False  # the pod's own word wins over its ServiceAccount's
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    namespace = found.resource.namespace if found.resource is not None else ""
    return (namespace, str(account)) in tokenless


def _original_command(
    container: Mapping[str, Any], name: str, request: ann.InjectionRequest
) -> tuple[str, ...] | None:
    if name in request.exec_commands:
        return request.exec_commands[name]
    if request.exec_command is not None:
        return request.exec_command
    command = container.get("command")
    if isinstance(command, list | MutableSequence) and command:
        return tuple(str(word) for word in command)
    return None


def _container_clashes(
    container: Mapping[str, Any], where: FieldPath, problem: Callable[[str, FieldPath], Problem]
) -> list[Problem]:
    problems = []
    env = container.get("env")
    if CONFIG_ENV_VAR in _names(env):
        problems.append(problem(f"the container already sets {CONFIG_ENV_VAR}", (*where, "env")))
    mounts = container.get("volumeMounts")
    if isinstance(mounts, list | MutableSequence):
        for mount in mounts:
            if isinstance(mount, Mapping) and mount.get("mountPath") in (
                BUNDLE_MOUNT_PATH,
                PROJECTED_TOKEN_DIR,
            ):
                problems.append(
                    problem(
                        f"the container already mounts something at {mount.get('mountPath')}",
                        (*where, "volumeMounts"),
                    )
                )
    return problems


def _install_container(request: ann.InjectionRequest, options: Options) -> dict[str, Any]:
    return {
        "name": INSTALL_CONTAINER,
        "image": request.agent_image or options.agent_image,
        "command": [AGENT_EXECUTABLE, "install", INSTALL_TARGET_PATH],
        "volumeMounts": [{"name": AGENT_VOLUME, "mountPath": INSTALL_TARGET_PATH}],
        "resources": {
            "requests": {
                "cpu": request.requests_cpu or DEFAULT_REQUESTS["cpu"],
                "memory": request.requests_mem or DEFAULT_REQUESTS["memory"],
            },
            "limits": {
                "cpu": request.limits_cpu or DEFAULT_LIMITS["cpu"],
                "memory": request.limits_mem or DEFAULT_LIMITS["memory"],
            },
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": request.run_as_user
            if request.run_as_user is not None
            else DEFAULT_RUN_AS_USER,
            "runAsGroup": request.run_as_group
            if request.run_as_group is not None
            else DEFAULT_RUN_AS_GROUP,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def agent_config(
    request: ann.InjectionRequest, options: Options, address: str, projected_token: bool
) -> dict[str, Any]:
    """The agent's JSON config (schemas/agent-config.schema.json): never a secret value."""
    vault: dict[str, Any] = {"address": address}
    if request.namespace is not None:
        vault["namespace"] = request.namespace
    if request.ca_cert is not None:
        vault["ca_cert"] = request.ca_cert
    if request.tls_server_name is not None:
        vault["tls_server_name"] = request.tls_server_name
    if request.tls_skip_verify is not None:
        vault["tls_skip_verify"] = request.tls_skip_verify
    method = request.auth_type or options.auth_type
    if request.auth_path is not None:
        mount_path = request.auth_path
    elif method == options.auth_type:
        mount_path = options.auth_path
    else:
        mount_path = f"auth/{method}"
    auth: dict[str, Any] = {"method": method, "mount_path": mount_path, "role": request.role}
    if options.auth_mode != "auto":  # the agent's default
        auth["mode"] = options.auth_mode
    if projected_token:
        auth["token_path"] = PROJECTED_TOKEN_PATH
    config: dict[str, Any] = {"version": CONFIG_VERSION, "vault": vault, "auth": auth}
    retry: dict[str, Any] = {}
    if request.timeout_seconds is not None:
        retry["timeout_seconds"] = request.timeout_seconds
    if request.max_retries is not None:
        retry["max_retries"] = request.max_retries
    if retry:
        config["retry"] = retry
    if request.token_to_app:
        config["token"] = {"to_app": True}
    config["templates"] = [
        {"name": secret.name, "path": secret.path, "template": secret.template}
        for secret in request.secrets
    ]
    return config


__all__ = ["Findings", "Resource", "agent_config", "find_pod_templates", "inject"]
