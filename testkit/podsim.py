"""Run a rendered pod template's containers like kubelet would, in distroless rootfses.

A stand-in for the kubelet and the container runtime, which cannot run on this
machine; only the parts of their behaviour that the pod contract relies on, each
taken from the pod spec as written (nothing here knows what the transformer
injects):

- argv: `command` else the image's ENTRYPOINT; `args` else (without `command`)
  the image's CMD;
- environment: the image's ENV, HOSTNAME, HOME (from the image's /etc/passwd),
  then `env` (`value`, `fieldRef` metadata.name/namespace, `configMapKeyRef`)
  and `envFrom` `configMapRef`, with ConfigMaps taken from the same stream;
- user: container securityContext, else pod securityContext, else the image's
  USER; `runAsNonRoot` with UID 0 is refused like kubelet does;
  `readOnlyRootFilesystem`; `workingDir`;
- volumes: `emptyDir` (a host directory, mode 0777, shared by the pod's
  containers), `configMap`, `projected` `serviceAccountToken`, plus the
  automounted service-account token directory unless
  `automountServiceAccountToken: false` (on the pod, else on its ServiceAccount
  when that is in the stream); `readOnly` mounts.

Not simulated (not used by the pod contract): fsGroup's supplementary group,
subPath, Secrets, downward-API volumes, resource limits, probes, networking (the
containers share the host's network, so a loopback Vault is reachable).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import rootfs

SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

#: Kinds whose pod template lives at spec.template (CronJob: spec.jobTemplate.spec.template).
TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class PodSpecError(Exception):
    """The pod spec uses something this simulator does not support, or kubelet would refuse."""


@dataclass(frozen=True)
class Image:
    """What a container image contributes: its filesystem and its config."""

    rootfs: Path
    user: tuple[int, int] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    working_dir: str | None = None


def pod_templates(docs: Sequence[Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(workload, pod template) for every pod-bearing object of a manifest stream."""
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        if kind in TEMPLATE_KINDS:
            yield doc, doc["spec"]["template"]
        elif kind == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            yield doc, doc


@dataclass
class Pod:
    """One pod of WORKLOAD, its volumes materialised under WORKDIR."""

    docs: Sequence[Any]
    template: Mapping[str, Any]
    namespace: str
    name: str
    images: Mapping[str, Image]
    #: Mints the service account's token for an audience (None: the automounted
    #: token's, i.e. the API server's), as the kubelet asks the API server to.
    mint_token: Callable[[str | None], str]
    workdir: Path
    volume_dirs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for volume in self.spec.get("volumes") or []:
            self.volume_dirs[volume["name"]] = self._materialise(volume)

    @property
    def spec(self) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = self.template["spec"]
        return spec

    def _config_map(self, name: str) -> Mapping[str, str]:
        for doc in self.docs:
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "ConfigMap"
                and doc["metadata"]["name"] == name
                and doc["metadata"].get("namespace", self.namespace) == self.namespace
            ):
                data: Mapping[str, str] = doc.get("data") or {}
                return data
        raise PodSpecError(f"ConfigMap {self.namespace}/{name} is not in the stream")

    def _materialise(self, volume: Mapping[str, Any]) -> Path:
        path: Path = self.workdir / "volumes" / str(volume["name"])
        path.mkdir(parents=True)
        if "emptyDir" in volume:
            path.chmod(0o777)
        elif "configMap" in volume:
            for key, value in self._config_map(volume["configMap"]["name"]).items():
                (path / key).write_text(value)
        elif "projected" in volume:
            for source in volume["projected"]["sources"]:
                if "serviceAccountToken" not in source:
                    raise PodSpecError(f"volume {volume['name']}: unsupported projected source")
                projected = source["serviceAccountToken"]
                (path / projected["path"]).write_text(self.mint_token(projected.get("audience")))
        else:
            raise PodSpecError(f"volume {volume['name']}: unsupported volume type")
        return path

    def _automounts_token(self) -> bool:
        """The pod's automountServiceAccountToken, else its ServiceAccount's, else true."""
        if "automountServiceAccountToken" in self.spec:
            return bool(self.spec["automountServiceAccountToken"])
        name = self.spec.get("serviceAccountName", "default")
        for doc in self.docs:
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "ServiceAccount"
                and doc["metadata"]["name"] == name
                and doc["metadata"].get("namespace", self.namespace) == self.namespace
            ):
                return bool(doc.get("automountServiceAccountToken", True))
        return True

    def _sa_token_dir(self) -> Path | None:
        if not self._automounts_token():
            return None
        path = self.workdir / "serviceaccount"
        if not path.exists():
            path.mkdir()
            (path / "token").write_text(self.mint_token(None))
            (path / "namespace").write_text(self.namespace)
            (path / "ca.crt").write_bytes(rootfs.HOST_CA_BUNDLE.read_bytes())
        return path

    def _field(self, field_path: str) -> str:
        values = {"metadata.name": self.name, "metadata.namespace": self.namespace}
        if field_path not in values:
            raise PodSpecError(f"fieldRef {field_path} is not simulated")
        return values[field_path]

    def _env(self, container: Mapping[str, Any], image: Image, uid: int) -> dict[str, str]:
        env = dict(image.env)
        env["HOSTNAME"] = self.name
        env.setdefault("HOME", _home(image.rootfs, uid))
        for source in container.get("envFrom") or []:
            if "configMapRef" not in source:
                raise PodSpecError("envFrom: only configMapRef is simulated")
            prefix = source.get("prefix", "")
            for key, value in self._config_map(source["configMapRef"]["name"]).items():
                env[prefix + key] = value
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "fieldRef" in (var.get("valueFrom") or {}):
                env[var["name"]] = self._field(var["valueFrom"]["fieldRef"]["fieldPath"])
            elif "configMapKeyRef" in (var.get("valueFrom") or {}):
                ref = var["valueFrom"]["configMapKeyRef"]
                env[var["name"]] = self._config_map(ref["name"])[ref["key"]]
            elif "valueFrom" not in var:
                env[var["name"]] = ""
            else:
                raise PodSpecError(f"env {var['name']}: unsupported valueFrom")
        return env

    def container(self, spec: Mapping[str, Any]) -> rootfs.Container:
        """The rootfs.Container kubelet would start for container SPEC of this pod."""
        image = self.images.get(spec["image"])
        if image is None:
            raise PodSpecError(f"container {spec['name']}: no image {spec['image']} here")
        pod_sc = self.spec.get("securityContext") or {}
        sc = spec.get("securityContext") or {}
        image_uid, image_gid = image.user or (0, 0)
        uid = sc.get("runAsUser", pod_sc.get("runAsUser", image_uid))
        gid = sc.get("runAsGroup", pod_sc.get("runAsGroup", image_gid))
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) and uid == 0:
            raise PodSpecError(f"container {spec['name']}: runAsNonRoot but would run as root")
        if "command" in spec:
            argv = [*spec["command"], *(spec.get("args") or [])]
        else:
            argv = [*image.entrypoint, *(spec.get("args") or image.cmd)]
        mounts = []
        token_dir = self._sa_token_dir()
        if token_dir is not None:
            mounts.append(rootfs.Mount(str(token_dir), SA_TOKEN_DIR, read_only=True))
        for mount in spec.get("volumeMounts") or []:
            if "subPath" in mount:
                raise PodSpecError(f"container {spec['name']}: subPath is not simulated")
            mounts.append(
                rootfs.Mount(
                    str(self.volume_dirs[mount["name"]]),
                    mount["mountPath"],
                    read_only=bool(mount.get("readOnly", False)),
                )
            )
        return rootfs.Container(
            root=str(image.rootfs),
            argv=argv,
            env=self._env(spec, image, uid),
            mounts=mounts,
            working_dir=spec.get("workingDir", image.working_dir),
            uid=uid,
            gid=gid,
            read_only_root=bool(sc.get("readOnlyRootFilesystem", False)),
        )

    def run_init_containers(self, timeout: float = 60) -> list[subprocess.CompletedProcess[bytes]]:
        """Run every init container in order; stop at the first that fails."""
        results = []
        for spec in self.spec.get("initContainers") or []:
            result = rootfs.run(self.container(spec), timeout=timeout)
            results.append(result)
            if result.returncode != 0:
                break
        return results

    def app_container(self, name: str | None = None) -> Mapping[str, Any]:
        containers: list[Mapping[str, Any]] = self.spec["containers"]
        if name is None:
            return containers[0]
        return next(c for c in containers if c["name"] == name)


def _home(root: Path, uid: int) -> str:
    """HOME as containerd sets it: the user's entry in the image's /etc/passwd, else /."""
    try:
        lines = (root / "etc" / "passwd").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 6 and parts[2] == str(uid):
            return parts[5]
    return "/"


def describe(c: rootfs.Container) -> str:
    """One line saying how a container is run (for the demo)."""
    who = f"uid {c.uid}" if c.uid is not None else "root"
    ro = ", read-only root" if c.read_only_root else ""
    mounts = ", ".join(f"{m.target}{' (ro)' if m.read_only else ''}" for m in c.mounts)
    return f"{' '.join(c.argv)}  [{who}{ro}; mounts: {mounts or '-'}]"
