"""The agent's import budget: its run path loads none of the modules it keeps off on purpose.

``re``, ``typing``, ``json``, ``dataclasses``, ``enum`` and ``collections`` would each
pull in more (``re`` alone brings ``enum``, ``functools``, ``collections``): their
import is paid on every pod start (bench/agent_startup.py measures it). Only comments
kept them off until this test: it runs the real ``vault-exec-agent run`` under
``python -S`` (no site-packages, like the frozen bundle) against the real OpenBao,
with a template that uses the language's common parts, and lists ``sys.modules`` at
the moment the agent would ``execve`` the app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testkit.openbao import ROLE, TestVault
from transformer.agent.contract import CONFIG_ENV_VAR

ROOT = Path(__file__).resolve().parents[2]

KEPT_OFF = ("re", "typing", "json", "dataclasses", "enum", "collections")

# In place of the app: the agent's own execve replaced by a report of what is loaded.
# It prints with plain str joins: json would load the module the test looks for.
RUNNER = """\
import sys
import transformer.agent.execute as execute

def report(path, argv, env, keep_fds):
    sys.stdout.write("\\n".join(sorted(sys.modules)) + "\\n")
    sys.stdout.write("ENV " + str(sorted(env)) + "\\n")
    sys.stdout.flush()
    raise SystemExit(0)

execute.exec_command = report
from transformer.agent.main import main
sys.exit(main(["run", "--", "true"]))
"""

# The common parts of the language: with, range over a map, variables, printf, if/else,
# comparisons, a defined template, string functions, trim markers, comments.
TEMPLATE = """\
{{- /* the seed template, and more */ -}}
{{- define "line" }}{{ .k }}={{ .v }}{{ end -}}
{{- with secret "PATH" -}}
{{- range $key, $value := .Data.data }}
{{ $key }}={{ $value }}
{{- end }}
{{ printf "%s_%d" "COUNT" (len .Data.data) }}=
{{- if eq (len .Data.data) 2 }}two{{ else }}many{{ end }}
UPPER={{ .Data.data.user | toUpper | trimSpace }}
{{- end }}
"""


def test_run_path_imports_none_of_the_kept_off_modules(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    name = "budget/imports"
    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path=f"app/{name}", secret={"user": " admin ", "password": "pw"}
    )
    path = f"secret/data/app/{name}"
    config = {
        "version": 1,
        "vault": {"address": test_vault.address},
        "auth": {"method": "kubernetes", "role": ROLE, "token_path": str(sa_token_file)},
        "templates": [
            {"name": "app.env", "path": path, "template": TEMPLATE.replace("PATH", path)}
        ],
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), CONFIG_ENV_VAR: json.dumps(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # the run went all the way: the rendered template's variables reached the exec
    env_line = next(line for line in lines if line.startswith("ENV "))
    for variable in ("user", "password", "COUNT_2", "UPPER"):
        assert repr(variable) in env_line
    loaded = {line for line in lines if not line.startswith("ENV ")}
    assert "transformer.agent.template.executor" in loaded  # the engine ran
    kept_off_but_loaded = sorted(
        module
        for module in loaded
        if any(module == name or module.startswith(name + ".") for name in KEPT_OFF)
    )
    assert kept_off_but_loaded == []
