"""The template engine's Go-checked cases, rendered by Go's own text/template.

GO_CHECKED in test_template_go_checked.py lists cases whose expected outputs were confirmed with
Go while the engine was written. Where a Go toolchain is installed (Debian's
golang-go is enough: the harness uses the standard library only), this renders them
with Go again, so a wrong expectation cannot hide in the table. Without Go it skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.template_support import SECRETS
from tests.agent.template.test_template_go_checked import GO_CHECKED

HARNESS = Path(__file__).parent / "gotemplate" / "main.go"


@pytest.fixture(scope="module")
def go_renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain installed (apt-get install golang-go)")
    out = tmp_path_factory.mktemp("gotemplate") / "render"
    cache = tmp_path_factory.mktemp("gocache")
    subprocess.run(
        [go, "build", "-o", str(out), str(HARNESS)],
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(cache),
            "GOCACHE": str(cache / "build"),
            "GOFLAGS": "-mod=mod",
            "GO111MODULE": "off",
        },
        timeout=300,
    )
    return out


def test_go_renders_every_go_checked_case_as_expected(go_renderer: Path) -> None:
    payload = {
        "secrets": SECRETS,
        "cases": [{"id": name, "template": text} for name, text, _ in GO_CHECKED],
    }
    result = subprocess.run(
        [str(go_renderer)], input=json.dumps(payload), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    mismatches = {
        name: (rendered[name], expected)
        for name, _, expected in GO_CHECKED
        if rendered[name] != expected
    }
    assert mismatches == {}
