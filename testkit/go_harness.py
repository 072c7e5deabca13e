"""Go's own text/template, for the differential tests: builds tests/agent/template/
gotemplate/main.go once (Debian's golang-go is enough: standard library only) and
renders a whole batch of templates in one Go process."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).parent / "gotemplate" / "main.go"


def build_go_renderer(workdir: Path) -> Path:
    """The harness binary, built in ``workdir``; skips the test where Go is missing."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain installed (apt-get install golang-go)")
    out = workdir / "render"
    cache = workdir / "gocache"
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


def render_with_go(
    renderer: Path,
    templates: dict[str, str],
    secrets: dict[str, Any],
    *,
    use_number: bool = False,
    timeout: float = 300,
) -> dict[str, str]:
    """{id: output | "PARSE-ERROR: ..." | "EXEC-ERROR: ..."} for each template.

    ``use_number``: secrets decoded as Vault's Go client decodes them (json.Number)
    and the main template named "" as consul-template names it.
    """
    payload = {
        "secrets": secrets,
        "cases": [{"id": key, "template": text} for key, text in templates.items()],
        "use_number": use_number,
    }
    result = subprocess.run(
        [str(renderer)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rendered: dict[str, str] = json.loads(result.stdout)
    return rendered
