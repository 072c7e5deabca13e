"""The real container engine for the `container` test tier and `make demo`: Debian's podman.

Settings found by trying on this kind of machine (see issue 10), all passed through the
environment, nothing changed in /etc:

- ``runtime = "runc"``: crun refuses this machine's hybrid cgroups;
- ``default_ulimits``: podman's defaults exceed what the machine allows;
- ``--network host`` for builds and pods: no port mappings, and a loopback Vault is reachable;
- base images cannot be pulled: :meth:`Podman.debian_base` makes one with ``mmdebstrap`` and
  ``podman import``;
- a build that reaches the package registries gets this machine's CA bundle and pip
  configuration mounted read-only (:data:`BUILD_MOUNTS`).

Images are tagged under ``localhost/vault-exec-test/`` (the agent image under the name the
tests pass as ``VAULT_EXEC_AGENT_IMAGE``), so nothing here poses as a published image; the
one exception is the Dockerfile's own base, which must carry the name its ``FROM`` says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testkit import kube_pod
from testkit.kube_pod import PlayablePod

ROOT = Path(__file__).resolve().parent.parent
TEST_REGISTRY = "localhost/vault-exec-test"
#: The Dockerfile's build stage starts FROM this; made locally by debian_base().
DEBIAN_BASE = "docker.io/library/debian:bookworm-slim"

CONTAINERS_CONF = """\
# Written by testkit/podman.py; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
"""

#: Read-only into every `podman build` RUN step: what pip and apt need to reach the registries.
BUILD_MOUNTS = ("/etc/ssl/certs", "/etc/pip.conf", "/etc/xdg/pip")


class PodmanError(RuntimeError):
    """A podman, mmdebstrap or build step failed; the message says which and why."""


def unavailable_reason() -> str | None:
    """Why podman cannot run here (None when it can): the tier is skipped with this reason."""
    if os.geteuid() != 0:
        return "the container tier runs podman as root"
    for tool in ("podman", "runc", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install podman runc mmdebstrap)"
    return None


@dataclass
class Podman:
    """podman with this project's settings; WORKDIR holds its containers.conf."""

    workdir: Path

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf = self.workdir / "containers.conf"
        self.conf.write_text(CONTAINERS_CONF)

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 300,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )
        if check and done.returncode != 0:
            raise PodmanError(f"podman {' '.join(args[:3])}: {done.stderr.strip()[-3000:]}")
        return done

    def works(self) -> str | None:
        """None when `podman info` answers, else its complaint."""
        done = self.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=60)
        if done.returncode != 0:
            return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "podman info"
        return None

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "exists", ref, check=False).returncode == 0

    def image_config(self, ref: str) -> dict[str, Any]:
        (info,) = json.loads(self.run("image", "inspect", ref).stdout)
        config: dict[str, Any] = info["Config"]
        return config

    def debian_base(
        self,
        ref: str = DEBIAN_BASE,
        include: Sequence[str] = ("ca-certificates",),
        hooks: Sequence[str] = (),
    ) -> str:
        """REF as a local image of Debian bookworm (mmdebstrap --variant=apt), made once."""
        if self.image_exists(ref):
            return ref
        with tempfile.TemporaryDirectory(prefix="debian-base-", dir=self.workdir) as tmp:
            tar = Path(tmp) / "base.tar"
            argv = ["mmdebstrap", "--quiet", "--variant=apt", f"--include={','.join(include)}"]
            argv += [f"--customize-hook={hook}" for hook in hooks]
            done = subprocess.run(
                [*argv, "bookworm", str(tar)],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if done.returncode != 0:
                raise PodmanError(f"mmdebstrap: {done.stderr.strip()[-3000:]}")
            self.run("import", "--quiet", str(tar), ref, timeout=600)
        return ref

    def build(
        self,
        tag: str,
        context: Path,
        *,
        containerfile: Path | None = None,
        build_args: Mapping[str, str] | None = None,
        timeout: float = 1800,
    ) -> str:
        """`podman build` of CONTEXT into TAG, with the registry access BUILD_MOUNTS give."""
        argv = ["build", "--quiet", "--network", "host", "-t", tag]
        for path in BUILD_MOUNTS:
            if Path(path).exists():
                argv += ["-v", f"{path}:{path}:ro"]
        if containerfile is not None:
            argv += ["-f", str(containerfile)]
        for name, value in (build_args or {}).items():
            argv += ["--build-arg", f"{name}={value}"]
        self.run(*argv, str(context), timeout=timeout)
        return tag

    def scratch_image(
        self,
        tag: str,
        files: Mapping[str, Path],
        *,
        workdir: str | None = None,
        entrypoint: Sequence[str] = (),
        user: str = "65532:65532",
    ) -> str:
        """A `FROM scratch` image holding FILES (image path -> host file), nothing else."""
        with tempfile.TemporaryDirectory(prefix="scratch-image-", dir=self.workdir) as tmp:
            context = Path(tmp)
            lines = ["FROM scratch"]
            for index, (target, source) in enumerate(sorted(files.items())):
                shutil.copy2(source, context / f"file{index}")
                lines.append(f"COPY file{index} {target}")
            if workdir:
                lines.append(f"WORKDIR {workdir}")
            lines.append(f"USER {user}")
            if entrypoint:
                lines.append(f"ENTRYPOINT {json.dumps(list(entrypoint))}")
            (context / "Containerfile").write_text("\n".join(lines) + "\n")
            return self.build(tag, context)

    # ---- pods -------------------------------------------------------------------------

    def play(self, pod_yaml: Path) -> None:
        """`podman kube play --network host` (returns once the containers are started)."""
        self.run("kube", "play", "--network", "host", str(pod_yaml), timeout=300)

    def wait(self, container: str, timeout: float = 120) -> int:
        """The container's exit code once it has stopped."""
        done = self.run("wait", container, timeout=timeout)
        return int(done.stdout.strip().splitlines()[-1])

    def logs(self, container: str) -> tuple[str, str]:
        """(stdout, stderr) of the container, as `podman logs` keeps them apart."""
        done = self.run("logs", container)
        return done.stdout, done.stderr

    def inspect(self, container: str) -> dict[str, Any]:
        (info,) = json.loads(self.run("container", "inspect", container).stdout)
        result: dict[str, Any] = info
        return result

    def remove_pod(self, name: str) -> None:
        self.run("pod", "rm", "--force", "--ignore", name, check=False, timeout=120)


@dataclass
class PodRun:
    """One container of a pod run to its end under `podman kube play`."""

    pod: PlayablePod
    exit_code: int
    stdout: str
    stderr: str
    #: What the runtime started the container with (podman inspect).
    config: Mapping[str, Any]
    host_config: Mapping[str, Any]

    #: The OCI runtime spec's ``process.env``: what the runtime exec'd the container's first
    #: process (the agent) with. Unlike `inspect`'s Config.Env it has the HOME podman adds.
    process_env: Sequence[str]
    #: `podman inspect` of each init container, in order, after it ended.
    init: Sequence[Mapping[str, Any]]
    #: Every place the pod's containers could write to (searched for `forbidden`).
    disks: Sequence[str]
    #: Files among those that held a forbidden fragment (run_pod's FORBIDDEN).
    leaked: Sequence[str]

    @property
    def env(self) -> dict[str, str]:
        """The environment the container's first process (the agent) started with.

        The OCI spec's env, plus HOME: runc sets HOME at exec when the spec has none (from
        the image's /etc/passwd, else a fallback), and a FROM scratch image has no passwd.
        That one value is taken from what the app saw; every other one is the spec's."""
        env = dict(entry.split("=", 1) for entry in self.process_env)
        if "HOME" not in env and "HOME" in self.app_env:
            env["HOME"] = self.app_env["HOME"]
        return env

    @property
    def report(self) -> dict[str, Any]:
        """What the probe app (testkit/probe_app.c) printed as its first line."""
        report: dict[str, Any] = json.loads(self.stdout.splitlines()[0])
        return report

    @property
    def app_env(self) -> dict[str, str]:
        return dict(entry.split("=", 1) for entry in self.report["environ"])


def files_holding(roots: Sequence[Path], fragments: Sequence[bytes]) -> list[str]:
    """Files under ROOTS whose bytes contain any of FRAGMENTS."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(fragment in data for fragment in fragments):
                    found.append(str(path))
    return found


def _disks(info: Mapping[str, Any]) -> list[Path]:
    """What a container could write to: its writable layer and its volumes' sources."""
    paths = [Path(info["GraphDriver"]["Data"]["UpperDir"])]
    paths += [Path(mount["Source"]) for mount in info.get("Mounts") or []]
    return [path for path in paths if path.exists()]


def run_pod(
    podman: Podman,
    pod: PlayablePod,
    container: str,
    timeout: float = 120,
    forbidden: Sequence[bytes] = (),
) -> PodRun:
    """Play POD, wait for CONTAINER to end, collect what it left, remove the pod.

    FORBIDDEN (secret values): before the pod goes, every file its containers could write
    (writable layers, volumes, token directories) is searched for them."""
    name = pod.container_name(container)
    podman.remove_pod(pod.name)  # a leftover of an interrupted run
    try:
        podman.play(pod.path)
        exit_code = podman.wait(name, timeout=timeout)
        stdout, stderr = podman.logs(name)
        info = podman.inspect(name)
        oci_spec = json.loads(Path(info["OCIConfigPath"]).read_text())
        init = [
            podman.inspect(pod.container_name(c["name"]))
            for c in pod.spec.get("initContainers", [])
        ]
        disks = [path for each in (info, *init) for path in _disks(each)]
        leaked = files_holding(disks, forbidden) if forbidden else []
    finally:
        podman.remove_pod(pod.name)
    return PodRun(
        pod,
        exit_code,
        stdout,
        stderr,
        info["Config"],
        info["HostConfig"],
        oci_spec["process"]["env"],
        init,
        sorted(set(map(str, disks))),
        leaked,
    )


#: Signs a service-account token: (namespace, service account, audience or None for the
#: automounted token's) -> JWT. What the API server does for the kubelet.
TokenMinter = Callable[[str, str, "str | None"], str]


def play_workload(
    podman: Podman,
    rendered: str,
    kind: str,
    workdir: Path,
    mint: TokenMinter,
    *,
    name: str | None = None,
    default_namespace: str = "default",
    forbidden: Sequence[bytes] = (),
) -> PodRun:
    """Run the first app container of the rendered stream's (only, or NAMEd) KIND."""
    docs = list(yaml.safe_load_all(rendered))
    workload = kube_pod.find(docs, kind, name)
    namespace = workload["metadata"].get("namespace", default_namespace)
    spec = kube_pod.pod_template(workload)["spec"]
    account = spec.get("serviceAccountName") or "default"
    # podman's names are machine-wide: the PID keeps concurrent test sessions apart
    pod_name = f"ve{os.getpid()}-" + "".join(
        c if c.isalnum() else "-" for c in workdir.name.lower()
    )
    pod = kube_pod.playable_pod(
        docs,
        workload,
        name=pod_name[:50].rstrip("-"),
        workdir=workdir,
        mint_token=lambda audience: mint(namespace, account, audience),
    )
    return run_pod(podman, pod, spec["containers"][0]["name"], forbidden=forbidden)
