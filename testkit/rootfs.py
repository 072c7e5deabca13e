"""Containers without a container engine: a distroless root filesystem and `unshare`.

Used by the end-to-end tests, `make demo` and the benchmark. This machine has no
container engine (no Docker, no kubelet), so this module plays the runtime's part,
and only that part, with real kernel namespaces:

- `make_app_rootfs`: what a distroless/static image holds: the app (a static
  program), /etc/passwd and /etc/group with `nonroot` (65532), the CA bundle, an
  empty /tmp and mount points — no shell, no libc, no Python;
- `make_agent_image_rootfs`: what the agent image's final `FROM scratch` stage
  holds (Dockerfile): only the bundle at BUNDLE_MOUNT_PATH;
- `run`/`start`: a container process: new PID and mount namespaces, the rootfs
  as `/`, a fresh /proc, bind mounts for volumes (read-only where asked), an
  optionally read-only root, a UID/GID, a working directory and exactly the
  environment given (like `env -i`).

Mounts need a step between "new mount namespace" and "chroot", and the rootfs has
no shell to do it: a short-lived host Python process (this file, `--enter`) does
the bind mounts inside its own private mount namespace, then execs `unshare
--pid --fork --root=R --mount-proc=/proc [--setuid U --setgid G] [--wd W] -- ARGV`.
Containers without mounts skip that step (the benchmark's path).

Needs root (unshare, mount) and util-linux >= 2.38 (`unshare --setuid`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE_SOURCE = HERE / "probe_app.c"

NONROOT_UID = 65532
#: The PATH a distroless image sets in its config (the runtime passes it on).
DISTROLESS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"nonroot:x:{NONROOT_UID}:{NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
)
GROUP = f"root:x:0:\nnonroot:x:{NONROOT_UID}:\nnobody:x:65534:\n"


@dataclass(frozen=True)
class Mount:
    """A bind mount: host SOURCE (directory or file) at TARGET inside the container."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Container:
    root: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: Sequence[Mount] = ()
    working_dir: str | None = None
    uid: int | None = None
    gid: int | None = None
    read_only_root: bool = False


def build_probe_app(out: Path) -> Path:
    """Compile probe_app.c statically (no libc needed in the rootfs); cached by mtime."""
    if out.exists() and out.stat().st_mtime >= PROBE_SOURCE.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(tmp), str(PROBE_SOURCE)],
        check=True,
        capture_output=True,
    )
    os.replace(tmp, out)
    return out


def _mkdirs(root: Path, *paths: str, mode: int = 0o755) -> None:
    for path in paths:
        full = root / path.lstrip("/")
        full.mkdir(parents=True, exist_ok=True)
        full.chmod(mode)


def make_app_rootfs(
    root: Path, app: Path, *, app_path: str = "/server", mount_points: Sequence[str] = ()
) -> Path:
    """A distroless/static-like rootfs at ROOT holding APP at APP_PATH (replaced if present)."""
    if root.exists():
        shutil.rmtree(root)
    _mkdirs(root, "/proc", "/etc/ssl/certs", "/home/nonroot", *mount_points)
    _mkdirs(root, "/tmp", mode=0o1777)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    shutil.copyfile(HOST_CA_BUNDLE, root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    os.chown(root / "home" / "nonroot", NONROOT_UID, NONROOT_UID)
    target = root / app_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(app, target)
    target.chmod(0o755)
    return root


def make_agent_image_rootfs(root: Path, bundle: Path, bundle_path: str) -> Path:
    """The agent image as the Dockerfile builds it: `FROM scratch` + the bundle at BUNDLE_PATH."""
    if root.exists():
        shutil.rmtree(root)
    _mkdirs(root, "/proc")
    shutil.copytree(bundle, root / bundle_path.lstrip("/"), symlinks=True)
    return root


def walk_files(root: Path) -> list[Path]:
    """Every regular file below ROOT (not following links, not crossing into /proc)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != "proc"]
        found.extend(
            Path(dirpath, n) for n in filenames if not os.path.islink(os.path.join(dirpath, n))
        )
    return found


def _unshare() -> str:
    found = shutil.which("unshare", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if not found:
        raise RuntimeError("unshare (util-linux) not found")
    return found


def _final_argv(c: Container) -> list[str]:
    argv = [_unshare(), "--pid", "--fork", "--mount", f"--root={c.root}", "--mount-proc=/proc"]
    if c.working_dir:
        argv.append(f"--wd={c.working_dir}")
    if c.gid is not None or c.uid is not None:
        gid = c.gid if c.gid is not None else (c.uid or 0)
        argv += [f"--setgid={gid}", f"--setuid={c.uid or 0}"]  # --setgid also drops groups
    return [*argv, "--", *c.argv]


def command(c: Container) -> list[str]:
    """The host command line that runs container C (its environment is C.env, nothing else)."""
    if not c.mounts and not c.read_only_root:
        return _final_argv(c)
    spec = {
        "root": c.root,
        "mounts": [[m.source, m.target, m.read_only] for m in c.mounts],
        "read_only_root": c.read_only_root,
        "argv": _final_argv(c),
        # Handed over in the spec, not inherited: the host Python in between would
        # add LC_CTYPE=C.UTF-8 to its own environment (PEP 538 locale coercion).
        "env": dict(c.env),
    }
    return [
        _unshare(),
        "--mount",
        "--propagation",
        "private",
        "--",
        sys.executable,
        "-I",
        "-S",
        str(Path(__file__).resolve()),
        "--enter",
        json.dumps(spec),
    ]


def _host_env(c: Container) -> dict[str, str]:
    return dict(c.env) if not c.mounts and not c.read_only_root else {}


def run(
    c: Container, *, timeout: float = 60, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command(c), env=_host_env(c), capture_output=True, timeout=timeout, input=input
    )


def start(c: Container) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command(c), env=_host_env(c), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})


def _enter(spec: Mapping[str, object]) -> None:
    """Inside a fresh private mount namespace: set up the mounts, then exec the container."""
    root = Path(str(spec["root"]))
    _mount("--bind", str(root), str(root))
    mounts = spec["mounts"]
    assert isinstance(mounts, list)
    for source, target, read_only in mounts:
        where = root / str(target).lstrip("/")
        # The runtime creates missing mount points, as kubelet/containerd do.
        if os.path.isdir(source):
            where.mkdir(parents=True, exist_ok=True)
        else:
            where.parent.mkdir(parents=True, exist_ok=True)
            where.touch(exist_ok=True)
        _mount("--bind", str(source), str(where))
        if read_only:
            _mount("-o", "remount,bind,ro", str(where))
    if spec["read_only_root"]:
        _mount("-o", "remount,bind,ro", str(root))
    argv = spec["argv"]
    env = spec["env"]
    assert isinstance(argv, list)
    assert isinstance(env, dict)
    os.execve(argv[0], [str(a) for a in argv], {str(k): str(v) for k, v in env.items()})


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--enter":
    _enter(json.loads(sys.argv[2]))
