"""A rendered workload as the Pod that `podman kube play` runs, and what became of it.

What a cluster would do between `kubectl apply` and the container runtime is done here, and
only that; each step bridges one gap of podman 4.3's `kube play`, small and saying so:

- **Workload -> Pod.** The controllers (Deployment, Job, CronJob, ...) are not there: the
  workload's pod template becomes one Pod (a CronJob's from its job template), with
  ``restartPolicy: Never`` so a failed start ends the run instead of restarting forever.
- **Annotations.** podman refuses annotation values longer than 63 characters (the
  injector's templates are longer): they are dropped from the Pod given to podman. The
  agent never reads annotations (its config is an env var), so nothing it needs goes.
- **Service-account token.** No API server, so no token: the automounted token directory
  (unless ``automountServiceAccountToken: false`` on the pod or its ServiceAccount in the
  stream) becomes a hostPath directory holding a token minted by the test's issuer, where
  the kubelet would mount it.
- **Projected volumes.** Not supported by podman: a projected ``serviceAccountToken``
  volume becomes a hostPath directory with the token at its ``path``, minted for its
  ``audience``. Any other projected source is refused.
- **Ports.** With ``--network host`` (no pod network here) podman refuses port mappings,
  so the containers' ``ports`` lists are dropped; the app shares the host's network.
- **Image volumes.** Not supported by podman: refused (vault-exec does not produce them).

One podman annotation is added, ``io.podman.annotations.init.container.type: always``: podman
removes a finished init container of the default type, and the tests inspect it (the pod runs
once either way).

ConfigMaps of the stream go into the same YAML, which `kube play` reads for
``configMapKeyRef``/``envFrom``. Nothing else of the spec is changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
#: podman's limit on an annotation's value (`kube play` refuses longer ones).
PODMAN_MAX_ANNOTATION_VALUE = 63
PODMAN_INIT_TYPE = "io.podman.annotations.init.container.type"
TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class UnsupportedPod(ValueError):
    """The pod uses something podman cannot run and this module does not bridge."""


def pod_template(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = workload.get("kind")
    if kind in TEMPLATE_KINDS:
        template: Mapping[str, Any] = workload["spec"]["template"]
        return template
    if kind == "CronJob":
        template = workload["spec"]["jobTemplate"]["spec"]["template"]
        return template
    if kind == "Pod":
        return workload
    raise UnsupportedPod(f"{kind} has no pod template")


def find(docs: Sequence[Any], kind: str, name: str | None = None) -> Mapping[str, Any]:
    """The stream's (only, or NAMEd) object of KIND."""
    found = [
        d
        for d in docs
        if isinstance(d, dict)
        and d.get("kind") == kind
        and (name is None or d["metadata"]["name"] == name)
    ]
    if len(found) != 1:
        raise UnsupportedPod(f"expected one {kind} {name or ''} in the stream, found {len(found)}")
    return found[0]


@dataclass
class PlayablePod:
    path: Path  # the YAML given to `podman kube play`
    name: str
    spec: Mapping[str, Any]
    #: Audiences of the tokens minted for it (None: the automounted token's).
    token_audiences: list[str | None] = field(default_factory=list)
    dropped_annotations: list[str] = field(default_factory=list)

    def container_name(self, container: str) -> str:
        """podman's name of the pod's container CONTAINER."""
        return f"{self.name}-{container}"


def _automounts_token(docs: Sequence[Any], spec: Mapping[str, Any], namespace: str) -> bool:
    if "automountServiceAccountToken" in spec:
        return bool(spec["automountServiceAccountToken"])
    account = spec.get("serviceAccountName") or "default"
    for doc in docs:
        if (
            isinstance(doc, dict)
            and doc.get("kind") == "ServiceAccount"
            and doc["metadata"]["name"] == account
            and doc["metadata"].get("namespace", namespace) == namespace
        ):
            return bool(doc.get("automountServiceAccountToken", True))
    return True


def _token_dir(root: Path, name: str, files: Mapping[str, str]) -> dict[str, Any]:
    directory = root / name
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    for file_name, text in files.items():
        (directory / file_name).write_text(text)
        (directory / file_name).chmod(0o644)  # the kubelet's default mode, readable by 65532
    return {"path": str(directory), "type": "Directory"}


def playable_pod(
    docs: Sequence[Any],
    workload: Mapping[str, Any],
    *,
    name: str,
    workdir: Path,
    mint_token: Callable[[str | None], str],
) -> PlayablePod:
    """Write WORKDIR/pod.yaml: the workload's pod as podman can run it (see the module doc)."""
    namespace = workload["metadata"].get("namespace", "default")
    template = copy.deepcopy(dict(pod_template(workload)))
    spec: dict[str, Any] = template["spec"]
    pod = PlayablePod(workdir / "pod.yaml", name, spec)
    tokens = workdir / "tokens"

    metadata = dict(template.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    for key, value in list(annotations.items()):
        if len(str(value)) > PODMAN_MAX_ANNOTATION_VALUE:
            pod.dropped_annotations.append(key)
            del annotations[key]
    annotations[PODMAN_INIT_TYPE] = "always"  # keep init containers for inspection
    metadata.update(name=name, namespace=namespace, annotations=annotations)

    spec["restartPolicy"] = "Never"
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        container.pop("ports", None)
    volumes = spec.setdefault("volumes", [])
    for volume in volumes:
        if "image" in volume:
            raise UnsupportedPod(f"volume {volume['name']}: podman has no image volumes")
        if "projected" in volume:
            files = {}
            for source in volume["projected"]["sources"]:
                if set(source) != {"serviceAccountToken"}:
                    raise UnsupportedPod(f"volume {volume['name']}: projected {sorted(source)}")
                token = source["serviceAccountToken"]
                pod.token_audiences.append(token.get("audience"))
                files[token["path"]] = mint_token(token.get("audience"))
            del volume["projected"]
            volume["hostPath"] = _token_dir(tokens, volume["name"], files)
    if _automounts_token(docs, spec, namespace):
        pod.token_audiences.append(None)
        files = {"token": mint_token(None), "namespace": namespace}
        volumes.append({"name": "kube-api-access", "hostPath": _token_dir(tokens, "sa", files)})
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            mounts = container.setdefault("volumeMounts", [])
            mounts.append({"name": "kube-api-access", "mountPath": SA_TOKEN_DIR, "readOnly": True})

    config_maps = [
        d
        for d in docs
        if isinstance(d, dict)
        and d.get("kind") == "ConfigMap"
        and d["metadata"].get("namespace", namespace) == namespace
    ]
    pod_doc = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    workdir.mkdir(parents=True, exist_ok=True)
    pod.path.write_text(yaml.safe_dump_all([*config_maps, pod_doc], sort_keys=False))
    return pod
