"""Secret bytes are never changed: every value reaches the app exactly as Vault stored
it, or the agent fails naming the key (never a value).

Written to the real OpenBao as raw JSON text (a JSON library on the writing side
would rewrite the numbers before Vault ever saw them), read back by the real agent,
checked in the app's environment. KV v1 keeps a number's text as written (KV v2
re-encodes numbers as float64 when it stores them: that is Vault's doing, and the
agent passes on what Vault answers). OpenBao itself never answers a lone surrogate
(it stores U+FFFD), so those are checked on the decoder, as a server or proxy other
than Vault could send them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from testkit.openbao import ROLE, TestVault
from transformer.agent.contract import CONFIG_ENV_VAR
from transformer.agent.jsonlite import JSONNumber, SecretDataError, loads_secret

ROOT = Path(__file__).resolve().parents[2]

NUMBERS = {
    "DECIMAL": "12345678.5",
    "ONE_POINT_O": "1.0",
    "SMALL": "0.000001",
    "EXPONENT": "1E300",
    "BIG_INT": "123456789012345678901234567890",
    "PORT": "0",
    "NEGATIVE_ZERO": "-0",
}

DUMP_ENV = "import json, os, sys; json.dump(dict(os.environ), sys.stdout)"


def put_raw(vault: TestVault, path: str, body: str) -> None:
    request = urllib.request.Request(
        f"{vault.address}/v1/{path}",
        data=body.encode(),
        method="PUT",
        headers={"X-Vault-Token": vault.bao.root_token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)


def run_agent(
    vault: TestVault, token_file: Path, template: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    config = {
        "version": 1,
        "vault": {"address": vault.address},
        "auth": {"method": "kubernetes", "role": ROLE, "token_path": str(token_file)},
        "templates": [{"name": "app.env", "path": "unused", "template": template}],
    }
    return subprocess.run(
        [sys.executable, "-m", "transformer.agent", "run", "--", sys.executable, "-c", DUMP_ENV],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), CONFIG_ENV_VAR: json.dumps(config)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_numbers_reach_the_app_as_written(
    test_vault: TestVault, sa_token_file: Path, tmp_path: Path
) -> None:
    path = f"kv/app/numbers-{uuid.uuid4().hex[:8]}"
    put_raw(test_vault, path, "{" + ", ".join(f'"{k}": {v}' for k, v in NUMBERS.items()) + "}")
    template = (
        f'{{{{ with secret "{path}" }}}}{{{{ range $k, $v := .Data }}}}\n'
        "{{ $k }}={{ $v }}{{ end }}\n"
        # consul-template's json.Number is a string: "0" is not empty, so this is true
        "PORT_SET={{ if .Data.PORT }}yes{{ else }}no{{ end }}\n"
        "{{ end }}"
    )
    run = run_agent(test_vault, sa_token_file, template, tmp_path)
    assert run.returncode == 0, run.stderr
    env = json.loads(run.stdout)
    for key, text in NUMBERS.items():
        assert env[key] == text, key
    assert env["PORT_SET"] == "yes"


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ('{"a": 1.0}', {"a": "1.0"}),
        ('{"a": [1E400, -0.0, 0.000001]}', {"a": ["1E400", "-0.0", "0.000001"]}),
        ('{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # a proper pair is fine
        ('{"a": true, "b": null}', {"a": True, "b": None}),
    ],
)
def test_loads_secret_keeps_numbers_as_text(body: str, value: object) -> None:
    decoded = loads_secret(body, "GET x")
    assert decoded == value
    if isinstance(decoded["a"], str):
        assert isinstance(decoded["a"], JSONNumber) == (body[6] != '"')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"data": {"k": "\\udc00"}}', "GET x: the value of key data.k is not Unicode text"),
        ('{"data": {"\\ud800": 1}}', "GET x: a key in key data is not Unicode text"),
        ('{"l": ["ok", "\\ud800"]}', "GET x: the value of key l.1 is not Unicode text"),
        ('{"a": ' * 101 + "1" + "}" * 101, "GET x: Vault's answer nests deeper than 100 levels"),
        ("[" * 100_000 + "]" * 100_000, "GET x: Vault's answer nests deeper than 100 levels"),
    ],
)
def test_loads_secret_refuses_what_it_cannot_pass_on(body: str, message: str) -> None:
    with pytest.raises(SecretDataError) as caught:
        loads_secret(body, "GET x")
    assert str(caught.value).startswith(message)


def test_loads_secret_reports_bad_json_like_loads() -> None:
    with pytest.raises(ValueError, match="line 1 column"):
        loads_secret('{"a": ', "GET x")
    with pytest.raises(ValueError, match="NaN"):
        loads_secret('{"a": NaN}', "GET x")


def test_the_vault_client_decodes_answers_keeping_their_bytes() -> None:
    from transformer.agent.vault import _json_object

    answer = _json_object(b'{"data": {"n": 1.0, "s": "\\u00e9"}}', "GET kv/x")
    assert answer == {"data": {"n": "1.0", "s": "é"}}
    with pytest.raises(SecretDataError) as caught:
        _json_object(b'{"data": {"pw": "hunter2\\ud800"}}', "GET kv/x")
    assert str(caught.value) == (
        "GET kv/x: the value of key data.pw is not Unicode text"
        " (a lone surrogate escape such as \\ud800)"
    )
