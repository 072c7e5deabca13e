"""The Helm 4 post-renderer plugin manifest, checked against Helm 4's loader rules and run
the way Helm 4 runs it, on the stream Helm 4 sends (hooks included, no `# Source:`).

Rules from helm/helm v4 `internal/plugin` (metadata_v1.go, runtime_subprocess.go,
subprocess_commands.go).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.helm_render import render_chart
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


def _go_expand(text: str, env: dict[str, str]) -> str:
    """os.Expand with os.Getenv semantics: $VAR and ${VAR}; unknown means empty."""
    return re.sub(
        r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)",
        lambda m: env.get(m.group(1) or m.group(2), ""),
        text,
    )


def _helm4_argv(manifest: Path, env: dict[str, str], extra: list[str]) -> list[str]:
    data = yaml.safe_load(manifest.read_text())
    entry = _platform_command(data["runtimeConfig"]["platformCommand"], "linux", "amd64")
    # Helm splits `command` on single spaces, expands both against the plugin's env, and
    # appends --post-renderer-args after `args`; no shell.
    command = [_go_expand(word, env) for word in entry["command"].split(" ")]
    args = [_go_expand(arg, env) for arg in entry.get("args", [])]
    return [*command, *args, *extra]


def _helm4_env(manifest: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "HELM_PLUGIN_NAME": yaml.safe_load(manifest.read_text())["name"],
        "HELM_PLUGIN_DIR": str(manifest.parent),
    }
    env.update(extra)
    return env


def _run_as_helm4(manifest: Path, stream: str, env: dict[str, str], extra: list[str]) -> Any:
    return subprocess.run(
        _helm4_argv(manifest, env, extra),
        input=stream,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_helm4_stream_through_the_declared_command(manifest: Path) -> None:

    stream = render_chart(REPO_ROOT / "fixtures" / "charts" / "api", "rel", "shop", helm4=True)
    assert "# Source:" not in stream
    done = _run_as_helm4(
        manifest, stream, _helm4_env(manifest), ["--vault-addr", "https://vault.example:8200"]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "Helm 4 rejects empty post-renderer output"
    documents = [d for d in yaml.safe_load_all(done.stdout) if d is not None]
    # kio.ParseAll + GetMeta: every document an object with metadata; no List wrappers.
    assert all(isinstance(d, dict) and isinstance(d.get("metadata"), dict) for d in documents)
    assert "List" not in {d["kind"] for d in documents}
    files = {d["metadata"]["annotations"][FILENAME_ANNOTATION] for d in documents}
    assert "api/templates/deployment.yaml" in files
    assert "api/templates/migrate-job.yaml" in files
    (job,) = [d for d in documents if d["kind"] == "Job"]
    assert "helm.sh/hook" in job["metadata"]["annotations"]
    for workload in (job, next(d for d in documents if d["kind"] == "Deployment")):
        template = workload["spec"]["template"]
        assert template["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"] == (
            "injected"
        )


@pytest.mark.slow
def test_helm4_failure_reaches_the_report_file(manifest: Path, tmp_path: Path) -> None:

    stream = render_chart(REPO_ROOT / "fixtures" / "charts" / "api", "rel", "shop", helm4=True)
    bad = stream.replace("vault.hashicorp.com/role:", "vault.hashicorp.com/rolle:", 1)
    report = tmp_path / "vault-exec-report.txt"
    env = _helm4_env(manifest, VAULT_EXEC_REPORT=str(report))
    done = _run_as_helm4(manifest, bad, env, ["--vault-addr", "https://vault.example:8200"])
    assert done.returncode != 0
    assert done.stdout == ""
    # Helm 4 throws stderr away; the report file is what the user can read.
    assert "unknown annotation vault.hashicorp.com/rolle" in report.read_text()
