"""The ``vault-exec`` CLI: golden cases (fixtures/render/), idempotence, exit codes."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from transformer.frontends.cli import main
from transformer.options import CONFIG_FILE_ENV_VAR, ENV_VARS

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "render"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "input.yaml").exists())
DEFAULT_ARGS = ["--vault-addr", "https://vault.example:8200"]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

#: The render must not see the developer's own Vault settings.
CLEAN_ENV: dict[str, str | None] = {
    "VAULT_ADDR": None,
    CONFIG_FILE_ENV_VAR: None,
    **dict.fromkeys(ENV_VARS),
}


def run(args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, args, input=stdin, env=CLEAN_ENV, catch_exceptions=False)


def case_args(case: Path) -> list[str]:
    args_file = case / "args"
    args = shlex.split(args_file.read_text()) if args_file.exists() else list(DEFAULT_ARGS)
    if "input.yaml" not in args:
        args.append("input.yaml")
    return ["render", *args]


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = GOLDEN / name
    monkeypatch.chdir(case)
    result = run(case_args(case))
    expected_out, expected_err = case / "expected.yaml", case / "expected.err"
    if UPDATE:
        expected_out.unlink(missing_ok=True)
        expected_err.unlink(missing_ok=True)
        if result.exit_code == 0:
            expected_out.write_text(result.stdout)
        else:
            expected_err.write_text(result.stderr)
    if expected_out.exists():
        assert result.stderr == ""
        assert result.exit_code == 0
        assert result.stdout == expected_out.read_text()
    else:
        assert result.exit_code == 1, result.stderr
        assert result.stdout == ""
        assert result.stderr == expected_err.read_text()


@pytest.mark.parametrize(
    "name", [name for name in CASES if (GOLDEN / name / "expected.yaml").exists()]
)
def test_golden_output_renders_to_itself(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = GOLDEN / name
    monkeypatch.chdir(case)
    args = [arg for arg in case_args(case) if not arg.endswith(".yaml") or arg == "config.yaml"]
    expected = (case / "expected.yaml").read_text()
    result = run([*args, "-"], stdin=expected)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == expected


def test_every_golden_case_has_an_expectation() -> None:
    for name in CASES:
        case = GOLDEN / name
        assert (case / "expected.yaml").exists() != (case / "expected.err").exists(), name


def test_passthrough_case_is_byte_for_byte() -> None:
    case = GOLDEN / "passthrough"
    assert (case / "expected.yaml").read_bytes() == (case / "input.yaml").read_bytes()


def test_stdin_is_the_default_input() -> None:
    text = (GOLDEN / "deployment" / "input.yaml").read_text()
    result = run(["render", *DEFAULT_ARGS], stdin=text)
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "deployment" / "expected.yaml").read_text()


def test_problems_on_stdin_name_the_dash() -> None:
    result = run(["render", *DEFAULT_ARGS], stdin="a: [\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("-:2:1: invalid YAML")


def test_vault_addr_comes_from_the_environment() -> None:
    text = (GOLDEN / "deployment" / "input.yaml").read_text()
    env = {**CLEAN_ENV, "VAULT_ADDR": "https://vault.example:8200"}
    result = CliRunner().invoke(main, ["render"], input=text, env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (GOLDEN / "deployment" / "expected.yaml").read_text()


def test_bad_platform_option_is_a_usage_error() -> None:
    result = run(["render", "--vault-addr", "vault:8200"], stdin="a: b\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "vault:8200" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    result = run(["render", *DEFAULT_ARGS, str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "missing.yaml: cannot read" in result.stderr


def test_not_utf8_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: b\nc: d\xe9\n")
    result = run(["render", *DEFAULT_ARGS, str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"{path}:2:5: not UTF-8 text (byte 9): invalid continuation byte\n"


def test_a_bug_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("transformer.pipeline.render_sources", broken)
    result = CliRunner().invoke(main, ["render", *DEFAULT_ARGS], input="a: b\n", env=CLEAN_ENV)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("transformer.pipeline.render_sources", broken)
    result = CliRunner().invoke(
        main, ["--debug", "render", *DEFAULT_ARGS], input="a: b\n", env=CLEAN_ENV
    )
    assert isinstance(result.exception, RuntimeError)


def test_version() -> None:
    result = run(["--version"])
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout
