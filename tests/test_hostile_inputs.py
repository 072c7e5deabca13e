"""The hostile-input campaign (testkit/hostile.py): 10,000 generated and mutated streams,
ResourceLists, agent configs and templates through render, check, the KRM function and
the agent's parsers, each bounded in time, the whole bounded in memory; plus the named
attacks: an alias bomb, deep nesting, huge scalars, a 100,000-document stream."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit import REPO, hostile
from testkit.manifests import opted_in_pod
from transformer.options import Options
from transformer.pipeline import render_stream
from transformer.problems import has_errors

MEMORY_BYTES = 3 * 1024**3
#: Two workers (this machine has two cores), fixed seeds: the same 10,000 inputs each run.
SEEDS_AND_COUNTS = ((20261202, 5000), (20261203, 5000))
OPTIONS = Options(vault_addr="https://vault.example:8200")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _campaign(seed: int, count: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "testkit.hostile", str(seed), str(count)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_ten_thousand_hostile_inputs_break_no_promise() -> None:
    with ThreadPoolExecutor(len(SEEDS_AND_COUNTS)) as pool:
        results = list(pool.map(lambda job: _campaign(*job), SEEDS_AND_COUNTS))
    counts: dict[str, int] = {}
    findings: list[object] = []
    for result in results:
        for kind, n in result["counts"].items():  # type: ignore[attr-defined]
            counts[kind] = counts.get(kind, 0) + n
        findings += result["findings"]  # type: ignore[operator]
    print(f"hostile inputs: {counts}, findings: {len(findings)}")
    assert sum(counts.values()) >= 10_000
    assert set(counts) == {"stream", "krm", "config", "template"}
    assert findings == []


def test_the_campaign_can_find_something(monkeypatch: pytest.MonkeyPatch) -> None:
    """A campaign whose check breaks reports it, with the input; a hang is a finding."""

    def broken(text: str) -> None:
        if "Deployment" in text:
            raise KeyError("spec")

    def hangs(text: str) -> None:
        time.sleep(5)

    monkeypatch.setattr(hostile, "SECONDS_PER_INPUT", 0.2)
    monkeypatch.setitem(hostile.CHECKS, "stream", broken)
    monkeypatch.setitem(hostile.CHECKS, "config", hangs)
    result = hostile.campaign(1, 40)
    failures = {finding["failure"] for finding in result["findings"]}
    assert "escaped: KeyError: 'spec'" in failures
    assert "took more than 0.2 s" in failures


def _render(text: str) -> tuple[str, list[str]]:
    rendered = render_stream([("in.yaml", text)], OPTIONS)
    return rendered.text, [problem.format() for problem in rendered.problems]


def test_an_alias_bomb_is_refused_quickly() -> None:
    levels = "".join(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    bomb = opted_in_pod("  x-labels:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + levels)
    start = time.perf_counter()
    output, problems = _render(bomb)
    assert time.perf_counter() - start < 5
    assert output == ""
    assert problems == [
        "in.yaml:1:1: invalid YAML: its aliases expand to 1234567917 values, more than 1000000 "
        "(an alias bomb?)"
    ]


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_a_problem_or_fine_never_a_crash(depth: int) -> None:
    nested = "  deep: " + "[" * depth + "]" * depth + "\n"
    output, problems = _render(opted_in_pod().replace("spec:\n", nested + "spec:\n"))
    if depth > 1000:
        assert output == ""
        assert len(problems) == 1
        assert "nest" in problems[0]  # libyaml: "exceeded maximum nesting depth"
    else:
        assert problems == []
        assert "vault-exec-install" in output


def test_a_huge_scalar_passes_through() -> None:
    big = "x" * 5_000_000
    stream = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: {big}\n---\n"
    stream += opted_in_pod(f"  labels:\n    note: {big[:60]}\n")
    output, problems = _render(stream)
    assert problems == []
    assert output.startswith(stream.split("---\n")[0])


@pytest.mark.slow
def test_a_stream_of_100000_documents() -> None:
    stream = "".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n---\n" for i in range(100_000)
    )
    stream += opted_in_pod()
    start = time.perf_counter()
    rendered = render_stream([("in.yaml", stream)], OPTIONS)
    seconds = time.perf_counter() - start
    assert not has_errors(rendered.problems)
    assert rendered.text.count("\n---\n") == 100_000
    assert rendered.text.startswith(stream[: stream.index("c1000\n")])
    assert "vault-exec-install" in rendered.text
    print(f"100,000 documents rendered in {seconds:.1f} s")
