"""The `vault-exec-check` hook, run by the real pre-commit against this repository.

pre-commit clones the hook repository at a revision, so this sees only committed
content: the repository under test is this checkout at its current HEAD.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata:
      labels: {app: api}
      annotations:
        vault.hashicorp.com/agent-inject: "true"
        vault.hashicorp.com/agent-run-as-sidecar: "false"
        vault.hashicorp.com/ROLE_LINE
        vault.hashicorp.com/agent-inject-secret-config.env: secret/data/api
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1
          command: [/server]
"""
NOT_KUBERNETES = "on: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
HELM_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if x }}\n"
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo_rev() -> str:
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: pre-commit needs a revision to clone")
    tracked = _git(REPO_ROOT, "ls-files", ".pre-commit-hooks.yaml")
    assert tracked == ".pre-commit-hooks.yaml", "commit .pre-commit-hooks.yaml first"
    return _git(REPO_ROOT, "rev-parse", "HEAD")


def _run_pre_commit(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(home)
    env["VAULT_ADDR"] = ""  # the hook must not depend on the developer's environment
    return subprocess.run(
        [PRE_COMMIT, "run", "--all-files", "--color", "never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_hook_fails_with_located_messages_then_passes(tmp_path: Path, hook_repo_rev: str) -> None:
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / "chart" / "templates").mkdir(parents=True)
    _git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {REPO_ROOT}\n"
        f"    rev: {hook_repo_rev}\n"
        "    hooks:\n"
        "      - id: vault-exec-check\n"
        "        args: [--vault-addr, 'https://vault.example:8200']\n"
    )
    bad = DEPLOYMENT.replace("ROLE_LINE", 'rol: "api"')
    (project / "deploy" / "api.yaml").write_text(bad)
    (project / ".github" / "workflows" / "ci.yaml").write_text(NOT_KUBERNETES)
    (project / "chart" / "templates" / "cm.yaml").write_text(HELM_TEMPLATE)
    _git(project, "add", "-A")

    failed = _run_pre_commit(project, tmp_path / "pre-commit-home")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "vault-exec check" in output
    assert "Failed" in output
    # Located: the misspelt annotation is on line 13, column 9 of the file.
    assert (
        "deploy/api.yaml:13:9: unknown annotation vault.hashicorp.com/rol; "
        "did you mean vault.hashicorp.com/role? (Deployment/api)"
    ) in output
    # Neither the workflow (not Kubernetes) nor the Helm template (excluded) is reported.
    assert "ci.yaml" not in output
    assert "templates/cm.yaml" not in output

    (project / "deploy" / "api.yaml").write_text(DEPLOYMENT.replace("ROLE_LINE", 'role: "api"'))
    _git(project, "add", "-A")
    passed = _run_pre_commit(project, tmp_path / "pre-commit-home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    # A check never rewrites: the file is byte for byte what was written.
    assert (project / "deploy" / "api.yaml").read_text() == DEPLOYMENT.replace(
        "ROLE_LINE", 'role: "api"'
    )
