"""The template engine's Go-checked cases, rendered by Go's own text/template.

GO_CHECKED in test_template_go_checked.py lists cases whose expected outputs were
confirmed with Go while the engine was written. Where a Go toolchain is installed
(.ci/run installs golang-go), this renders them with Go again, so a wrong
expectation cannot hide in the table. Without Go it skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.go_harness import build_go_renderer, render_with_go
from testkit.template_support import SECRETS
from tests.agent.template.test_template_go_checked import GO_CHECKED


@pytest.fixture(scope="module")
def go_renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_renderer(tmp_path_factory.mktemp("gotemplate"))


def test_go_renders_every_go_checked_case_as_expected(go_renderer: Path) -> None:
    rendered = render_with_go(
        go_renderer, {name: text for name, text, _ in GO_CHECKED}, SECRETS, timeout=60
    )
    mismatches = {
        name: (rendered[name], expected)
        for name, _, expected in GO_CHECKED
        if rendered[name] != expected
    }
    assert mismatches == {}
