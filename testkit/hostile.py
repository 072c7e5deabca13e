"""A hostile-input campaign: thousands of generated and mutated manifest streams, agent
configs and templates, each run through the real code with its promises checked.

Run as a worker process (``python -m testkit.hostile SEED COUNT``) so that the test can
bound it in memory (RLIMIT_AS) and every input in time (an interval timer): a hang or a
blow-up is a finding, not a stuck test run. Prints one JSON line: counts and findings.

Promises checked on every stream, for ``render``, ``check`` and the KRM function:
no exception escapes; with an error there is no output at all; every problem is located
and one line; a success renders again to itself (idempotence); a document that does not
opt in comes out byte for byte. The agent's config and template parsers may only raise
their own errors.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from testkit import REPO
from transformer.agent.config import parse_config
from transformer.agent.errors import AgentError
from transformer.agent.template import TemplateError, parse
from transformer.frontends.check import check_sources, looks_like_kubernetes
from transformer.frontends.krm import run_function
from transformer.options import Options
from transformer.pipeline import render_stream
from transformer.problems import has_errors
from transformer.yaml.stream import split_documents

OPTIONS = Options(vault_addr="https://vault.example:8200")
SECONDS_PER_INPUT = 10.0

#: Values a chart author could put where an annotation's string belongs.
HOSTILE_VALUES = [
    "[true]", "{a: b}", "!!binary aGVsbG8=", "2001-12-14t21:59:43.10-05:00", "null", "~",
    "9" * 5000, '"' + "x" * 200_000 + '"', '"\\ud800"', '"a\\nb"', '"\\u0000"', "*missing",
    '"{{ if }}"', '"{{ template \\"x\\" . }}"', '"{{ range $k := }}{{ end }}"', "0x10",
    "'" + '{{ block "b" . }}' * 50 + "{{ end }}" * 50 + "'", "&a [*a]", "'''",
    '"https://vault.example:8200/ x"', '"maybe"', "-1", "1e400", '"\\x1b[31m"', "yes",
]  # fmt: skip
#: Fragments that stress a YAML reader and the stream split.
TOKENS = [
    "&a ", "*a", "!!str ", "!!int ", "!custom ", "---\n", "...\n", "{", "}", "[", "]", ": ",
    "- ", "\t", "\\", '"', "'", " #", "%YAML 1.1\n", "\x00", "\ufeff", "\x85", "\u2028",
    "? ", "|\n", ">-\n", "<<: *a\n", "\r\n", "\u00a0", "vault.hashicorp.com/agent-inject: ",
]  # fmt: skip


@cache
def corpus() -> list[str]:
    """The golden inputs and a real chart's output: what mutations start from."""
    texts = [
        path.read_text()
        for path in sorted((REPO / "fixtures" / "render").glob("*/*.yaml"))
        if not path.parent.name.startswith(".")
    ]
    texts.append((REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml").read_text())
    return texts


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of ``text``."""
    for _ in range(rng.randint(1, 3)):
        lines = text.splitlines(keepends=True) or [""]
        index = rng.randrange(len(lines))
        choice = rng.randrange(9)
        if choice == 0 and "vault.hashicorp.com/" in text:  # a hostile annotation value
            keyed = [i for i, line in enumerate(lines) if "vault.hashicorp.com/" in line]
            i = rng.choice(keyed)
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {rng.choice(HOSTILE_VALUES)}\n"
        elif choice == 1:
            del lines[index]
        elif choice == 2:
            lines.insert(index, lines[index])
        elif choice == 3:
            position = rng.randrange(len(lines[index]) + 1)
            token = rng.choice(TOKENS)
            lines[index] = lines[index][:position] + token + lines[index][position:]
        elif choice == 4:
            text = text[: rng.randrange(len(text) + 1)]
            continue
        elif choice == 5 and lines[index].strip():
            position = rng.randrange(len(lines[index]))
            line = lines[index]
            lines[index] = line[:position] + chr(rng.randrange(32, 0x3000)) + line[position + 1 :]
        elif choice == 6:  # deep nesting
            depth = rng.choice((50, 500, 2000))
            lines.insert(index, "deep: " + "[" * depth + "]" * depth + "\n")
        elif choice == 7:  # a huge scalar
            lines.insert(index, "    big: " + "x" * rng.choice((1000, 10_000, 1_000_000)) + "\n")
        else:  # lines of another stream
            other = rng.choice(corpus()).splitlines(keepends=True)
            start = rng.randrange(len(other) or 1)
            lines[index:index] = other[start : start + rng.randint(1, 20)]
        text = "".join(lines)
    return text


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _bounded(run: Callable[[], None]) -> str | None:
    """None, or what went wrong: an exception that escaped, or a timeout."""
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_INPUT)
    try:
        run()
    except _Timeout:
        return f"took more than {SECONDS_PER_INPUT} s"
    except AssertionError as error:
        return f"promise broken: {error}"
    except BaseException:
        return "escaped: " + traceback.format_exc(limit=3).splitlines()[-1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return None


def check_stream(text: str) -> None:
    """The promises of render and check on one stream."""
    rendered = render_stream([("in.yaml", text)], OPTIONS)
    for problem in rendered.problems:
        assert problem.line >= 1, f"not located: {problem}"
        assert problem.col >= 1, f"not located: {problem}"
        assert "\n" not in problem.format(), "a problem line split in two"
    if has_errors(rendered.problems):
        assert rendered.outputs == ("",), "output with an error"
    else:
        output = rendered.text
        assert output.strip(), "empty success"
        again = render_stream([("in.yaml", output)], OPTIONS)
        assert again.text == output, "not idempotent"
        assert not has_errors(again.problems), "its own output refused"
        before, after = split_documents(text), split_documents(output)
        assert len(before) == len(after), "documents added or dropped"
        for old, new in zip(before, after, strict=True):
            if "agent-inject" not in old.text and "\\" not in old.text:
                assert old.text == new.text, "an untouched document changed"
    if looks_like_kubernetes(text):
        assert check_sources([("in.yaml", text)], OPTIONS) == rendered.problems


def check_krm(text: str) -> None:
    outcome = run_function(text, OPTIONS)
    assert outcome.text, "no ResourceList out"
    assert all(problem.message for problem in outcome.problems)


def resource_list(text: str) -> str:
    """The stream's documents as a ResourceList's items (as YAML text, unparsed)."""
    items = "".join(
        "- " + chunk.text.replace("\n", "\n  ").rstrip(" ") for chunk in split_documents(text)
    )
    return f"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}\n"


def check_agent_config(text: str) -> None:
    with contextlib.suppress(AgentError):
        parse_config(text, "VAULT_EXEC_CONFIG")


def check_template(text: str) -> None:
    with contextlib.suppress(TemplateError):
        parse(text, "t")


#: The mix of inputs: streams most (render and check are fast), a KRM ResourceList in
#: thirty-three (ruamel.yaml's round trip is two orders of magnitude slower).
KINDS = ("stream",) * 23 + ("config",) * 4 + ("template",) * 5 + ("krm",)


def inputs(seed: int, count: int) -> Iterator[tuple[str, str]]:
    """(kind, text) of ``count`` inputs: mostly streams, also ResourceLists, agent configs
    and templates, each a mutation of something real."""
    rng = random.Random(seed)
    texts = corpus()
    config = json.dumps(
        {
            "version": 1,
            "vault": {"address": "https://vault.example:8200"},
            "auth": {"method": "kubernetes", "mount_path": "auth/kubernetes", "role": "web"},
            "templates": [{"name": "a", "path": "secret/data/a", "template": "{{ .Data }}"}],
        }
    )
    templates = [
        '{{- with secret "secret/data/a" -}}{{ range $k, $v := .Data.data }}{{ $k }}={{ $v }}\n'
        "{{ end }}{{ end }}",
        '{{ define "x" }}{{ printf "%-10s|%x" .a .b }}{{ end }}{{ template "x" . }}',
    ]
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        if kind == "config":
            yield kind, mutate(config, rng)
        elif kind == "template":
            yield kind, mutate(rng.choice(templates), rng)
        else:
            yield kind, mutate(rng.choice(texts), rng)


CHECKS: dict[str, Callable[[str], None]] = {
    "stream": check_stream,
    "krm": lambda text: check_krm(resource_list(text)),
    "config": check_agent_config,
    "template": check_template,
}


def campaign(seed: int, count: int) -> dict[str, Any]:
    signal.signal(signal.SIGALRM, _on_alarm)
    counts: dict[str, int] = {}
    findings: list[dict[str, str]] = []
    seconds: dict[str, float] = {}
    for kind, text in inputs(seed, count):
        counts[kind] = counts.get(kind, 0) + 1
        start = time.perf_counter()
        failure = _bounded(lambda: CHECKS[kind](text))  # noqa: B023 (called at once)
        seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - start
        if failure is not None:
            findings.append({"kind": kind, "failure": failure, "input": text[:2000]})
    return {"counts": counts, "seconds": seconds, "findings": findings}


def main() -> None:
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(campaign(seed, count)))


if __name__ == "__main__":
    main()
