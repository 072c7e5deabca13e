"""The second channel for problems: a report file, and the terminal under Helm 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from transformer.errors import InputError
from transformer.frontends.cli import main
from transformer.output.report_file import write_report
from transformer.problems import Problem, Resource

PROBLEM = Problem("-", 7, 5, "unknown annotation x", Resource("v1", "Pod", "shop", "web"))
LINE = "-:7:5: unknown annotation x (Pod/shop/web)\n"
BAD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    vault.hashicorp.com/agent-inject: "true"
    vault.hashicorp.com/agent-run-as-sidecar: "false"
    vault.hashicorp.com/rol: web
spec:
  containers: [{name: web, image: x, command: [/web]}]
"""


def test_report_file_gets_the_lines_and_is_emptied_by_a_clean_run(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    write_report([PROBLEM], str(report), {})
    assert report.read_text() == LINE
    write_report([], str(report), {})
    assert report.read_text() == ""


def test_terminal_is_written_only_under_helm(tmp_path: Path) -> None:
    terminal = tmp_path / "tty"
    terminal.write_text("")
    write_report([PROBLEM], None, {}, terminal=str(terminal))
    assert terminal.read_text() == ""
    write_report([PROBLEM], None, {"HELM_PLUGIN_NAME": "vault-exec"}, terminal=str(terminal))
    assert terminal.read_text() == LINE
    # No terminal (CI): nothing to do, and no error either.
    write_report([PROBLEM], None, {"HELM_PLUGIN_NAME": "x"}, terminal=str(tmp_path / "no/tty"))


def test_unwritable_report_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write the report file"):
        write_report([PROBLEM], str(tmp_path / "missing" / "r.txt"), {})


def test_render_report_option_and_environment(tmp_path: Path) -> None:
    runner = CliRunner()
    report = tmp_path / "report.txt"
    args = ["render", "--vault-addr", "https://vault.example:8200", "--report", str(report)]
    failed = runner.invoke(main, args, input=BAD_POD)
    assert failed.exit_code == 1
    assert failed.stdout == ""
    lines = report.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("-:8:5: unknown annotation vault.hashicorp.com/rol")
    from_env = tmp_path / "from-env.txt"
    again = runner.invoke(
        main,
        ["render", "--vault-addr", "https://vault.example:8200"],
        input=BAD_POD,
        env={"VAULT_EXEC_REPORT": str(from_env)},
    )
    assert again.exit_code == 1
    assert from_env.read_text() == report.read_text()
