"""End to end: the real ``vault-exec-agent run`` against the real OpenBao server.

Each test runs the agent as a subprocess (``python -m transformer.agent``) in
front of a tiny child program that dumps its pid, argv and environment as JSON.
The child has the agent's pid: the agent exec'd it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.openbao import ROLE, TestVault, free_port_pair
from transformer.agent.contract import CONFIG_ENV_VAR

ROOT = Path(__file__).resolve().parents[2]
#: What every agent run gets (the agent runs from the checkout, whatever the cwd).
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}

CHILD = """\
import json, os, sys
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
json.dump({"pid": os.getpid(), "argv": sys.argv, "env": dict(os.environ), "fds": fds}, sys.stdout)
"""

SEED_TEMPLATE = """\
{{- with secret "PATH" -}}
{{- range $key, $value := .Data.data }}
{{ $key }}={{ $value }}
{{- end }}
{{- end }}
"""

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "BBBB==\n"
    "-----END PRIVATE KEY-----\n"
)
TRICKY = {
    "PEM_KEY": PEM,
    "WITH_EQUALS": "a=b==c",
    "QUOTES": "\"double\" and 'single'",
    "SHELL": "$(rm -rf /) `id` ${HOME}",
    "TRAILING_NEWLINE": "line\n",
    "NON_ASCII": "ünïcødé ✓ 日本語",
    "EMPTY": "",
}


@dataclass
class Run:
    returncode: int
    stderr: str
    child: dict[str, Any] | None
    pid: int


def run_agent(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    timeout: float = 60,
    agent: list[str] | None = None,
) -> Run:
    child_script = tmp_path / "child.py"
    child_script.write_text(CHILD)
    argv = (
        command
        if command is not None
        else [sys.executable, str(child_script), "a b", "--config", "x"]
    )
    full_env = {
        **BASE_ENV,
        "HOME": str(tmp_path),
        CONFIG_ENV_VAR: json.dumps(config),
        **(env or {}),
    }
    process = subprocess.Popen(
        [*(agent or [sys.executable, "-m", "transformer.agent"]), "run", "--", *argv],
        cwd=tmp_path,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=timeout)
    child = json.loads(stdout) if stdout.strip() else None
    return Run(process.returncode, stderr, child, process.pid)


def config_for(
    vault: TestVault,
    templates: list[tuple[str, str, str]],
    *,
    auth: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "version": 1,
        "vault": {"address": vault.address},
        "auth": auth,
        "templates": [{"name": n, "path": p, "template": t} for n, p, t in templates],
        **extra,
    }


def kube_auth(
    token_file: Path, method: str = "kubernetes", mode: str = "standard"
) -> dict[str, Any]:
    """A login with the service-account token in ``token_file``; ``mode``: see auth.mode
    (standard by default here: these tests count the tokens a login leaves)."""
    return {"method": method, "role": ROLE, "token_path": str(token_file), "mode": mode}


def unique(prefix: str = "app") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def kv2_secret(vault: TestVault, secret: dict[str, str]) -> str:
    """Write SECRET at a kv-v2 path no other test uses; returns its API path."""
    name = unique()
    vault.client().secrets.kv.v2.create_or_update_secret(path=name, secret=secret)
    return f"secret/data/{name}"


def seed_template(name: str, path: str) -> tuple[str, str, str]:
    """A (name, path, template) entry for config_for: the seed's template, reading PATH."""
    return (name, path, SEED_TEMPLATE.replace("PATH", path))


def assert_clean_stderr(run: Run, *secret_values: str) -> None:
    assert "Traceback" not in run.stderr
    for value in secret_values:
        if len(value) > 3:
            assert value not in run.stderr


CONSOLE_SCRIPT = Path(sys.executable).parent / "vault-exec-agent"


@pytest.mark.parametrize(
    "agent",
    [
        pytest.param(None, id="python-m"),
        pytest.param(
            [str(CONSOLE_SCRIPT)],
            id="console-script",
            marks=pytest.mark.skipif(
                not CONSOLE_SCRIPT.exists(), reason="package not installed in this venv"
            ),
        ),
    ],
)
def test_kubernetes_auth_kv2_seed_template_byte_exact(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path, agent: list[str] | None
) -> None:
    path = kv2_secret(test_vault, TRICKY)
    config = config_for(
        test_vault,
        [seed_template("config.env", path)],
        auth=kube_auth(sa_token_file),
    )
    accessors_before = test_vault.bao.token_accessors()
    reviews_before = test_vault.token_review.reviews

    run = run_agent(tmp_path, config, env={"KEEP_ME": "yes"}, agent=agent)

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.child is not None
    assert run.child["pid"] == run.pid  # exec'd, not spawned
    # stdio and the child's own listdir descriptor: nothing of the agent's leaked
    assert len([fd for fd in run.child["fds"] if fd > 2]) == 1
    assert run.child["argv"][1:] == ["a b", "--config", "x"]
    env = run.child["env"]
    for key, value in TRICKY.items():
        assert env[key] == value, key
    assert env["KEEP_ME"] == "yes"
    assert CONFIG_ENV_VAR not in env
    assert "VAULT_TOKEN" not in env
    # the agent's kubernetes login went through the TokenReview API
    assert test_vault.token_review.reviews == reviews_before + 1
    # revoked before exec: no token of this run is left
    assert test_vault.bao.token_accessors() == accessors_before


def test_jwt_auth_kv1_json_output(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    name = unique()
    test_vault.client().secrets.kv.v1.create_or_update_secret(
        path=name, secret={"db_password": "p@ss=\nword", "user": "ada"}, mount_point="kv"
    )
    path = f"kv/{name}"
    template = (
        f'{{{{ with secret "{path}" }}}}'
        '{"DB_PASSWORD": {{ .Data.db_password | toJSON }}, "DB_USER": {{ .Data.user | toJSON }}}'
        "{{ end }}"
    )
    config = config_for(
        test_vault, [("db.json", path, template)], auth=kube_auth(sa_token_file, "jwt")
    )
    accessors_before = test_vault.bao.token_accessors()

    run = run_agent(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["DB_PASSWORD"] == "p@ss=\nword"
    assert run.child["env"]["DB_USER"] == "ada"
    assert test_vault.bao.token_accessors() == accessors_before


def test_several_templates_and_secrets(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    first = kv2_secret(test_vault, {"A": "1"})
    second = kv2_secret(test_vault, {"B": "2", "C": "3"})
    templates = [
        (
            "one",
            first,
            f'A={{{{ with secret "{first}" }}}}{{{{ .Data.data.A }}}}{{{{ end }}}}',
        ),
        (
            "two",
            second,
            f'{{{{ with secret "{second}" }}}}B={{{{ .Data.data.B }}}}\n'
            f'export C="{{{{ .Data.data.C }}}}"\n# comment\n{{{{ end }}}}',
        ),
    ]  # fmt: skip
    config = config_for(test_vault, templates, auth=kube_auth(sa_token_file, "jwt"))

    run = run_agent(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert {k: run.child["env"][k] for k in "ABC"} == {"A": "1", "B": "2", "C": "3"}


def test_token_auth_from_env_is_not_revoked(test_vault: TestVault, tmp_path: Path) -> None:
    path = kv2_secret(test_vault, {"X": "x"})
    token = test_vault.app_token()
    config = config_for(test_vault, [seed_template("t", path)], auth={"method": "token"})

    run = run_agent(tmp_path, config, env={"VAULT_TOKEN": token})

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["X"] == "x"
    assert "VAULT_TOKEN" not in run.child["env"]
    # the user's own token: the agent did not create it, so it does not revoke it
    assert test_vault.client(token).auth.token.lookup_self()["data"]["policies"]


def test_token_auth_from_home_file_and_to_app(test_vault: TestVault, tmp_path: Path) -> None:
    path = kv2_secret(test_vault, {"X": "x"})
    token = test_vault.app_token()
    (tmp_path / ".vault-token").write_text(token + "\n")
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth={"method": "token"},
        token={"to_app": True},
    )

    run = run_agent(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["VAULT_TOKEN"] == token


def test_to_app_passes_the_login_token_unrevoked(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"X": "x"})
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=kube_auth(sa_token_file),
        token={"to_app": True},
    )

    run = run_agent(tmp_path, config, env={"VAULT_TOKEN": "from-the-container"})

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    token = run.child["env"]["VAULT_TOKEN"]
    assert token != "from-the-container"
    lookup = test_vault.client(token).auth.token.lookup_self()["data"]
    assert "app-read" in lookup["policies"]


def test_a_leased_secret_keeps_the_token(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    template = (
        '{{ with secret "pki/issue/leased" "common_name=svc.example.test" }}'
        "SERIAL={{ .Data.serial_number }}\n"
        "CERT={{ .Data.certificate }}"
        "{{ end }}"
    )
    config = config_for(
        test_vault, [("cert", "pki/issue/leased", template)], auth=kube_auth(sa_token_file)
    )
    accessors_before = test_vault.bao.token_accessors()

    run = run_agent(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["CERT"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert "keeping the Vault token: a rendered secret holds a lease" in run.stderr
    assert len(test_vault.bao.token_accessors() - accessors_before) == 1


def test_revoke_false_keeps_the_token(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"X": "x"})
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=kube_auth(sa_token_file),
        token={"revoke": False},
    )
    accessors_before = test_vault.bao.token_accessors()

    run = run_agent(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert len(test_vault.bao.token_accessors() - accessors_before) == 1


def test_a_secret_shadowing_a_container_variable_is_logged_by_name(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    path = kv2_secret(test_vault, {"DB_PASSWORD": "from-vault-s3cret"})
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=kube_auth(sa_token_file),
    )

    run = run_agent(tmp_path, config, env={"DB_PASSWORD": "from-the-pod-spec"})

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["DB_PASSWORD"] == "from-vault-s3cret"
    assert run.stderr == (
        "vault-exec-agent: secret DB_PASSWORD replaces the container's environment variable"
        " DB_PASSWORD\n"
    )
    assert_clean_stderr(run, "from-vault-s3cret", "from-the-pod-spec")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("secret/data/other/forbidden", "GET secret/data/other/forbidden: permission denied (403)"),
        ("secret/data/app/does-not-exist", "GET secret/data/app/does-not-exist: not found (404)"),
    ],
)
def test_403_and_404_fail_at_once_with_one_line(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path, path: str, expected: str
) -> None:
    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path="other/forbidden", secret={"X": "hidden-value"}
    )
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=kube_auth(sa_token_file),
        retry={"timeout_seconds": 120, "max_retries": 100},
    )

    run = run_agent(tmp_path, config, timeout=30)

    assert run.returncode == 1
    assert run.child is None
    assert run.stderr.startswith(f"vault-exec-agent: template t: {expected}")
    assert run.stderr.count("\n") == 1
    assert_clean_stderr(run, "hidden-value")


def test_login_with_a_foreign_service_account_fails_clearly(
    test_vault: TestVault, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(test_vault.mint_sa_token("other-ns", "api"))
    config = config_for(test_vault, [("t", "secret/data/app/x", "")], auth=kube_auth(token_file))

    run = run_agent(tmp_path, config)

    assert run.returncode == 1
    assert run.stderr.startswith("vault-exec-agent: POST auth/kubernetes/login: ")
    assert run.stderr.count("\n") == 1
    assert_clean_stderr(run, token_file.read_text())


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ({"timeout_seconds": 1, "max_retries": 1000}, "deadline of 1 s)"),
        ({"timeout_seconds": 60, "max_retries": 2}, "(gave up after 3 attempts)"),
    ],
)
def test_vault_down_is_retried_then_fails(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path, retry: dict[str, Any], expected: str
) -> None:
    port = free_port_pair()  # nothing listens there
    config = config_for(test_vault, [("t", "secret/data/app/x", "")], auth=kube_auth(sa_token_file))
    config["vault"]["address"] = f"http://127.0.0.1:{port}"
    config["retry"] = retry

    run = run_agent(tmp_path, config, timeout=60)

    assert run.returncode == 1
    assert run.stderr.startswith(
        f"vault-exec-agent: POST auth/kubernetes/login: cannot reach Vault at 127.0.0.1:{port}:"
    )
    assert run.stderr.rstrip("\n").endswith(expected)
    assert run.stderr.count("\n") == 1


def test_sigterm_before_exec_exits_promptly(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    # A listener that accepts and never answers: the agent waits on it.
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen()
        config = config_for(
            test_vault, [("t", "secret/data/app/x", "")], auth=kube_auth(sa_token_file)
        )
        config["vault"]["address"] = f"http://127.0.0.1:{black_hole.getsockname()[1]}"
        (tmp_path / "child.py").write_text(CHILD)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "transformer.agent",
                "run",
                "--",
                sys.executable,
                str(tmp_path / "child.py"),
            ],
            cwd=tmp_path,
            env={**BASE_ENV, CONFIG_ENV_VAR: json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        black_hole.settimeout(60)
        connection, _ = black_hole.accept()  # the agent is now past its set-up
        with connection:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert stdout == ""
    assert stderr == "vault-exec-agent: stopped by SIGTERM before starting the command\n"


@pytest.mark.parametrize(
    ("command", "status", "message"),
    [
        (["no-such-program-here"], 127, "exec: no-such-program-here: command not found in PATH"),
        (["./data.txt"], 126, "exec: ./data.txt: permission denied (not executable)"),
    ],
)
def test_missing_or_unrunnable_command(
    test_vault: TestVault,
    sa_token_file: Path,
    tmp_path: Path,
    command: list[str],
    status: int,
    message: str,
) -> None:
    path = kv2_secret(test_vault, {"X": "x"})
    config = config_for(
        test_vault,
        [seed_template("t", path)],
        auth=kube_auth(sa_token_file),
    )
    accessors_before = test_vault.bao.token_accessors()
    (tmp_path / "data.txt").write_text("not a program")
    (tmp_path / "data.txt").chmod(0o644)

    run = run_agent(tmp_path, config, command=command)

    assert run.returncode == status
    assert run.stderr == f"vault-exec-agent: {message}\n"
    # nothing was exec'd, and the token was not left behind either way
    assert len(test_vault.bao.token_accessors() - accessors_before) <= 1


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("{", "vault-exec-agent: config (VAULT_EXEC_CONFIG): not valid JSON: "),
        ('{"version": 1}', "vault-exec-agent: config (VAULT_EXEC_CONFIG): vault: required"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, config_text: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "transformer.agent", "run", "--", "true"],
        cwd=tmp_path,
        env={**BASE_ENV, CONFIG_ENV_VAR: config_text},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_template_error_names_template_line_and_column(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    config = config_for(
        test_vault,
        [("config.env", "secret/data/app/x", "A={{ .Data.data.x }\n")],
        auth=kube_auth(sa_token_file),
    )
    run = run_agent(tmp_path, config)
    assert run.returncode == 1
    assert run.stderr.startswith("vault-exec-agent: template config.env:1:")
    assert run.stderr.count("\n") == 1


def test_config_file_option(test_vault: TestVault, sa_token_file: Path, tmp_path: Path) -> None:
    path = kv2_secret(test_vault, {"X": "from-file"})
    config_file = tmp_path / "agent.json"
    config_file.write_text(
        json.dumps(
            config_for(
                test_vault,
                [seed_template("t", path)],
                auth=kube_auth(sa_token_file),
            )
        )
    )
    (tmp_path / "child.py").write_text(CHILD)
    result = subprocess.run(
        [sys.executable, "-m", "transformer.agent", "run", "--config", str(config_file), "--",
         sys.executable, str(tmp_path / "child.py")],
        cwd=tmp_path, env={**BASE_ENV}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["X"] == "from-file"


def test_sigterm_as_pid_1_before_exec_exits_promptly(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    """PID 1 of a PID namespace gets no signal it has no handler for; the agent has one."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a PID namespace")
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen()
        config = config_for(
            test_vault, [("t", "secret/data/app/x", "")], auth=kube_auth(sa_token_file)
        )
        config["vault"]["address"] = f"http://127.0.0.1:{black_hole.getsockname()[1]}"
        process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--kill-child",
             sys.executable, "-m", "transformer.agent", "run", "--", "/bin/true"],
            cwd=tmp_path, env={**BASE_ENV, CONFIG_ENV_VAR: json.dumps(config)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        black_hole.settimeout(60)
        connection, _ = black_hole.accept()
        with connection:
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
            agent_pid = int(children.split()[0])  # PID 1 inside the namespace
            os.kill(agent_pid, signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert stderr == "vault-exec-agent: stopped by SIGTERM before starting the command\n"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "transformer.agent", *args],
        env={**BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "status", "stderr"),
    [
        ((), 2, "usage: vault-exec-agent run [--config FILE] -- CMD [ARGS...]\n"),
        (("frobnicate",), 2, "vault-exec-agent: unknown command 'frobnicate' (try --help)\n"),
        (("run",), 2, "vault-exec-agent: run: missing the command (usage: "),
        (("run", "--bogus", "--", "true"), 2, "vault-exec-agent: run: unknown option '--bogus'"),
        (("run", "--config", "--", "true"), 2, "vault-exec-agent: run: --config needs a FILE\n"),
        (("run", "--config", "/nonexistent.json", "--", "true"), 2,
         "vault-exec-agent: config: cannot read /nonexistent.json: No such file or directory\n"),
        (("run", "--", "true"), 2, "vault-exec-agent: config: set VAULT_EXEC_CONFIG or pass"),
        (("install",), 2, "vault-exec-agent: usage: install DEST\n"),
        (("install", "/nonexistent-dest"), 1, "vault-exec-agent: install: install only works from"),
    ],
)  # fmt: skip
def test_command_line_errors(args: tuple[str, ...], status: int, stderr: str) -> None:
    result = _cli(*args)
    assert result.returncode == status
    assert result.stderr.startswith(stderr)
    assert "Traceback" not in result.stderr


def test_help_and_version() -> None:
    helped = _cli("--help")
    assert helped.returncode == 0
    assert "run [--config FILE] -- CMD [ARGS...]" in helped.stdout
    assert "VAULT_EXEC_CONFIG" in helped.stdout
    version = _cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("vault-exec-agent ")


def test_the_transformers_config_runs_the_seed_example(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    """The interface between the halves: what `vault-exec render` writes into the
    pod spec (command and config env var) is what the agent runs, unchanged except
    for the token path (no kubelet-mounted token exists on this machine)."""
    import yaml

    from transformer.options import load_options
    from transformer.pipeline import render

    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path="app/seed", secret={"DB_PASSWORD": "s3cret", "TLS_KEY": PEM}
    )
    template = SEED_TEMPLATE.replace("PATH", "secret/data/app/seed")
    pod_annotations = {
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/agent-run-as-sidecar": "false",
        "vault.hashicorp.com/role": ROLE,
        "vault.hashicorp.com/agent-exec-command": "/server",
        "vault.hashicorp.com/agent-inject-secret-config.env": "secret/data/app/seed",
        "vault.hashicorp.com/agent-inject-template-config.env": template,
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}, "annotations": pod_annotations},
                "spec": {"containers": [{"name": "api", "image": "api:1"}]},
            },
        },
    }
    options = load_options({"vault_addr": test_vault.address}, None, {})
    rendered, problems = render(yaml.safe_dump(deployment), options)
    assert problems == []
    container = yaml.safe_load(rendered)["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][1:] == ["run", "--", "/server"]
    config = json.loads(next(e["value"] for e in container["env"] if e["name"] == CONFIG_ENV_VAR))
    config["auth"]["token_path"] = str(sa_token_file)
    child_script = tmp_path / "child.py"
    child_script.write_text(CHILD)

    run = run_agent(tmp_path, config, command=[sys.executable, str(child_script)])

    assert run.returncode == 0, run.stderr
    assert run.child is not None
    assert run.child["env"]["DB_PASSWORD"] == "s3cret"
    assert run.child["env"]["TLS_KEY"] == PEM
