"""`vault-exec check`: the render rules without the rewrite, in every output format."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from transformer.frontends.check import check_sources, looks_like_kubernetes
from transformer.frontends.cli import main
from transformer.options import Options

PLATFORM = Options(vault_addr="https://vault.example:8200")
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    vault.hashicorp.com/agent-inject: "true"
    vault.hashicorp.com/agent-run-as-sidecar: "false"
    vault.hashicorp.com/role: web
    vault.hashicorp.com/agent-inject-secret-config.env: secret/data/web
spec:
  containers:
    - name: web
      image: example.invalid/web:1
      command: [/web]
"""
MISSPELT = POD.replace("vault.hashicorp.com/role: web", "vault.hashicorp.com/rol: web")
NO_COMMAND = POD.replace("      command: [/web]\n", "")
WORKFLOW = "name: ci\non: [push]\njobs: {}\n"


def test_only_files_with_kubernetes_objects_are_checked() -> None:
    assert looks_like_kubernetes(POD)
    assert looks_like_kubernetes('{"apiVersion": "v1", "kind": "List", "items": []}')
    assert not looks_like_kubernetes(WORKFLOW)
    # GitLab CI's custom tags would not even load; not ours, so skipped, not failed.
    assert not looks_like_kubernetes("job:\n  script: !reference [.setup, script]\n")
    assert check_sources([("ci.yaml", WORKFLOW), ("bad.yaml", "a: [")], PLATFORM) == []


def test_problems_are_located_in_their_file() -> None:
    problems = check_sources([("ok.yaml", POD), ("pod.yaml", MISSPELT)], PLATFORM)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.filename, problem.line, problem.col) == ("pod.yaml", 9, 5)
    assert "did you mean vault.hashicorp.com/role" in problem.message


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_text_output_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path, "good.yaml", POD)
    bad = _write(tmp_path, "bad.yaml", NO_COMMAND)
    workflow = _write(tmp_path, "ci.yaml", WORKFLOW)
    ok = runner.invoke(main, ["check", "--vault-addr", PLATFORM.vault_addr, good, workflow])
    assert ok.exit_code == 0, ok.output
    assert ok.output == ""
    failed = runner.invoke(main, ["check", "--vault-addr", PLATFORM.vault_addr, good, bad])
    assert failed.exit_code == 1
    lines = failed.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{bad}:")
    assert ": error: " not in lines[0]  # the one problem line: errors need no word
    assert "agent-exec-command" in lines[0]
    assert lines[0].endswith("(Pod/shop/web)")
    # The file was not rewritten.
    assert Path(bad).read_text() == NO_COMMAND


def test_cli_reads_stdin_and_speaks_sarif_and_github(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["check", "--vault-addr", PLATFORM.vault_addr]
    sarif = runner.invoke(main, [*args, "--format", "sarif"], input=MISSPELT)
    assert sarif.exit_code == 1
    log = json.loads(sarif.output)
    assert log["runs"][0]["results"][0]["ruleId"] == "annotation"
    path = _write(tmp_path, "pod.yaml", MISSPELT)
    github = runner.invoke(main, [*args, "--format", "github", path])
    assert github.exit_code == 1
    assert github.output.startswith(f"::error file={path},line=9,col=5,")
    clean = runner.invoke(main, [*args, "--format", "json"], input=POD)
    assert clean.exit_code == 0
    assert json.loads(clean.output) == []


def test_cli_bad_platform_configuration_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--vault-addr", "vault:8200"], input=POD)
    assert result.exit_code == 2
    assert "not a Vault address" in result.output
