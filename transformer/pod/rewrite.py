"""What injection adds to a pod template, and the one place it is added (pure).

Everything here is hardened as the pod contract says: non-root, read-only root
filesystem, all capabilities dropped, no privilege escalation, ``RuntimeDefault``
seccomp. Works on plain dicts and on ruamel.yaml's CommentedMaps alike.
"""

from __future__ import annotations

from collections.abc import MutableMapping, MutableSequence
from dataclasses import dataclass
from typing import Any

from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    AGENT_VOLUME,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_CONTAINER,
    INSTALL_TARGET_PATH,
    PROJECTED_TOKEN_DIR,
    PROJECTED_TOKEN_PATH,
    TOKEN_VOLUME,
)
from transformer.options import Options
from transformer.pod import annotations as ann

#: The bundle is a few tens of MiB; the limit keeps a runaway copy off the node disk.
AGENT_VOLUME_SIZE_LIMIT = "64Mi"
TOKEN_EXPIRATION_SECONDS = 3600
DEFAULT_RUN_AS_USER = 65532  # distroless "nonroot"
DEFAULT_RUN_AS_GROUP = 65532
DEFAULT_REQUESTS = {"cpu": "50m", "memory": "32Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "64Mi"}


@dataclass
class Rewrite:
    """One pod template's rewrite, decided and checked, applied only when every template
    of the object could be planned (so an object with a problem is left as it was)."""

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


def volumes_and_mounts(
    projected_token: bool, options: Options
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod volumes vault-exec adds, and the app containers' mounts of them."""
    mounts = [{"name": AGENT_VOLUME, "mountPath": BUNDLE_MOUNT_PATH, "readOnly": True}]
    volumes: list[dict[str, Any]] = [
        {"name": AGENT_VOLUME, "emptyDir": {"sizeLimit": AGENT_VOLUME_SIZE_LIMIT}}
    ]
    if projected_token:
        mounts.append({"name": TOKEN_VOLUME, "mountPath": PROJECTED_TOKEN_DIR, "readOnly": True})
        token = {
            "audience": options.token_audience,
            "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
            "path": PROJECTED_TOKEN_PATH.rsplit("/", 1)[1],
        }
        volumes.append(
            {"name": TOKEN_VOLUME, "projected": {"sources": [{"serviceAccountToken": token}]}}
        )
    return volumes, mounts


def install_container(request: ann.InjectionRequest, options: Options) -> dict[str, Any]:
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
