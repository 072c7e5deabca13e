"""The engine against Go 1.19's text/template on thousands of generated templates.

template_grammar.py writes random templates (fixed seed); Go renders the whole batch
in one process (go_harness.py), with the secret data decoded as Vault's Go client
decodes it (json.Number) and the main template named "" as consul-template names it;
the engine renders them with the data the agent's Vault client would give it
(jsonlite.loads_secret). Outcomes are compared: the same text, or an error on both
sides (the messages' wording is not compared). The mismatch rate is printed.

Deliberate differences are counted apart (deliberate_difference): printing a nil
value is an error in the engine (the agent never starts an app on half-rendered
configuration) where Go prints "<no value>"; a value larger than the engine's bound
(limits.MAX_VALUE_CHARS) is an error; range over an int works as in Go 1.22. The
grammar leaves out ``{{else with}}`` (Go 1.23; the engine has it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from testkit.go_harness import build_go_renderer, render_with_go
from testkit.template_grammar import TemplateGrammar
from testkit.template_support import ENV, SECRETS
from transformer.agent.jsonlite import loads_secret
from transformer.agent.template import TemplateError, limits, parse

SEED = 20261202
COUNT = int(os.environ.get("VAULT_EXEC_DIFFERENTIAL_COUNT", "6000"))
TARGET_RATE = 0.005


def ours(text: str, secrets: Mapping[str, Any]) -> tuple[str, str]:
    """("ok", output) or ("error", message)."""

    def vault(path: str, args: list[str]) -> Mapping[str, Any]:
        if args:
            return {"data": {"path": path, "args": list(args)}, "lease_id": "w/1"}
        response: Mapping[str, Any] = secrets[path]
        return response

    try:
        pieces = parse(text, "").render(vault, ENV)
    except TemplateError as error:
        return "error", str(error)
    output = "".join(piece for piece, _ in pieces)
    # the harness's JSON encoder writes each invalid UTF-8 byte as U+FFFD; the engine
    # keeps such a byte as a lone surrogate (surrogateescape)
    return "ok", output.translate(INVALID_BYTES)


INVALID_BYTES = dict.fromkeys(range(56448, 56576), "�")


def deliberate_difference(expected: tuple[str, str], got: tuple[str, str]) -> bool:
    """Where the engine differs from Go 1.19 on purpose."""
    if got[0] == "error" and "cannot print nil" in got[1]:
        return "<no value>" in expected[1]  # the agent never prints half a config
    if got[0] == "error" and f"larger than {limits.MAX_VALUE_CHARS} characters" in got[1]:
        return expected[0] == "ok"  # the bound on a value's size (Go builds it)
    # range over an int is Go 1.22's (consul-template today), not Go 1.19's
    return (
        got[0] == "ok" and re.search(r"range can't iterate over -?[0-9]+$", expected[1]) is not None
    )


def go_outcome(text: str) -> tuple[str, str]:
    if text.startswith(("PARSE-ERROR: ", "EXEC-ERROR: ")):
        return "error", text
    return "ok", text


@pytest.fixture(scope="module")
def go_renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_renderer(tmp_path_factory.mktemp("gotemplate"))


def test_generated_templates_render_as_go_renders_them(
    go_renderer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grammar = TemplateGrammar(SEED)
    templates = {str(index): grammar.template() for index in range(COUNT)}
    secrets = loads_secret(json.dumps(SECRETS), "test data")
    rendered = render_with_go(go_renderer, templates, SECRETS, use_number=True)
    mismatches: list[tuple[str, tuple[str, str], tuple[str, str]]] = []
    deliberate = errors = 0
    for key, text in templates.items():
        expected, got = go_outcome(rendered[key]), ours(text, secrets)
        if expected[0] == "error":
            errors += 1
        if expected[0] == got[0] == "error" or expected == got:
            continue
        if deliberate_difference(expected, got):
            deliberate += 1
            continue
        mismatches.append((text, expected, got))
    rate = len(mismatches) / COUNT
    with capsys.disabled():
        print(
            f"\ngo differential: {COUNT} templates (seed {SEED}), {errors} errors in Go, "
            f"{deliberate} nil prints (deliberate), {len(mismatches)} mismatches: "
            f"{rate:.2%} (target <= {TARGET_RATE:.1%})"
        )
    sample = "\n".join(f"{text!r}\n  go:   {e!r}\n  ours: {g!r}" for text, e, g in mismatches[:10])
    assert rate <= TARGET_RATE, sample
    assert COUNT - errors > COUNT / 3  # most outputs compared are rendered text
