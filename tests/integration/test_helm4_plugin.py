"""The Helm 4 post-renderer plugin manifest, checked against Helm 4's loader rules.

Rules from helm/helm v4 `internal/plugin` (metadata_v1.go, runtime_subprocess.go,
subprocess_commands.go). Running it is left to the real Helm 4
(tests/integration/test_helm_cli_real.py: `helm plugin install`, hooks, failures and the
report file), which replaced the imitation of Helm 4's plugin runtime that stood here.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from transformer import __version__

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"

# MetadataV1 is decoded with KnownFields(true): any other top-level key is an error.
V1_KEYS = {
    "apiVersion",
    "type",
    "name",
    "version",
    "runtime",
    "sourceURL",
    "config",
    "runtimeConfig",
}
REQUIRED = {"apiVersion", "type", "name", "version", "runtime"}
SUBPROCESS_RUNTIME_KEYS = {"platformCommand", "platformHooks", "protocolCommands"}
PLATFORM_COMMAND_KEYS = {"os", "arch", "command", "args"}
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# semver.StrictNewVersion: MAJOR.MINOR.PATCH, no "v", no leading zeros, optional pre/build.
STRICT_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
_SKIP_DIRS = {".git", "build", "dist", "node_modules", ".venv", "fixtures", "argocd"}


def _postrenderer_manifests() -> list[Path]:
    found = []
    for path in sorted(REPO_ROOT.rglob("plugin.yaml")):
        if _SKIP_DIRS & set(path.relative_to(REPO_ROOT).parts):
            continue
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("type") == "postrenderer/v1":
            found.append(path)
    return found


MANIFESTS = _postrenderer_manifests()


@pytest.fixture(params=MANIFESTS, ids=[str(p.relative_to(REPO_ROOT)) for p in MANIFESTS])
def manifest(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_the_repository_ships_a_helm4_postrenderer_plugin() -> None:
    assert MANIFESTS, "no plugin.yaml with type: postrenderer/v1 in the repository"


def test_manifest_follows_helm4_metadata_rules(manifest: Path) -> None:
    data = yaml.safe_load(manifest.read_text())
    assert set(data) <= V1_KEYS, f"keys Helm 4 rejects: {set(data) - V1_KEYS}"
    assert set(data) >= REQUIRED
    assert data["apiVersion"] == "v1"
    assert data["type"] == "postrenderer/v1"
    assert NAME.match(data["name"])
    version = str(data["version"])
    assert isinstance(data["version"], str), "quote the version: YAML must give a string"
    assert STRICT_SEMVER.match(version)
    # The version is written once (transformer/__init__.py); pyproject reads it from there.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "transformer.__version__"
    assert version == __version__
    assert data["runtime"] == "subprocess"
    # postrenderer/v1's config struct is empty: any key in it is rejected.
    assert not data.get("config")
    runtime_config = data["runtimeConfig"]
    assert set(runtime_config) <= SUBPROCESS_RUNTIME_KEYS - {"protocolCommands"}
    commands = runtime_config["platformCommand"]
    assert commands
    for entry in commands:
        assert set(entry) <= PLATFORM_COMMAND_KEYS
        assert entry["command"]
        assert all(isinstance(arg, str) for arg in entry.get("args", []))
    for hooks in runtime_config.get("platformHooks", {}).values():
        for entry in hooks:
            assert set(entry) <= PLATFORM_COMMAND_KEYS
    assert _platform_command(commands, "linux", "amd64")
    assert _platform_command(commands, "darwin", "arm64")


def _platform_command(commands: list[dict[str, Any]], goos: str, goarch: str) -> dict[str, Any]:
    """getPlatformCommand: exact os+arch, else os-only, else the entry with neither."""
    for entry in commands:
        if entry.get("os") == goos and entry.get("arch") == goarch:
            return entry
    for entry in commands:
        if entry.get("os") == goos and not entry.get("arch"):
            return entry
    for entry in commands:
        if not entry.get("os") and not entry.get("arch"):
            return entry
    return {}
