"""Templates are bounded in CPU and memory: hostile text or data ends in one template
error, well within the agent's start-up deadline, never MemoryError, ValueError,
RecursionError or an internal error.

Each hostile template runs in a child Python whose address space is capped
(RLIMIT_AS), so a template that would allocate gigabytes fails the test with
MemoryError instead of slowing the machine down; the time bound is a generous
ceiling (the default deadline is 60 s), not a benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.template_support import error_of, render
from transformer.agent.template import limits, parse

ROOT = Path(__file__).resolve().parents[3]
MEMORY_CAP = 768 * 1024 * 1024
TIME_CEILING = 30.0

# Runs one template with the address space capped; prints the outcome as JSON.
CHILD = """\
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from transformer.agent.template import TemplateError, parse
text = sys.stdin.read()
try:
    pieces = parse(text, "t").render(lambda path, args: {{"data": {{"v": "x"}}}}, {{}})
    outcome = {{"output": "".join(p for p, _ in pieces)[:200]}}
except TemplateError as error:
    outcome = {{"error": str(error)}}
except BaseException as error:
    outcome = {{"crash": type(error).__name__}}
print(json.dumps(outcome))
"""

STEPS = f"template does too much work (more than {limits.MAX_STEPS} steps)"
TOO_LARGE = f"the result would be larger than {limits.MAX_VALUE_CHARS} characters"

HOSTILE = [
    pytest.param(
        # 136 characters whose work doubles per level: 2**25 template calls
        '{{define "x"}}{{if .}}{{template "x" (slice . 1)}}{{template "x" (slice . 1)}}'
        '{{end}}{{end}}{{template "x" "' + "a" * 25 + '"}}',
        STEPS,
        id="work doubling per level",
    ),
    pytest.param(
        '{{define "x"}}{{.}}{{.}}{{end}}'
        + '{{$x := "ab"}}'
        + '{{$x = executeTemplate "x" $x}}' * 40
        + "{{$x}}",
        "larger than",
        id="doubling a variable by executeTemplate",
    ),
    pytest.param(
        '{{$x := "ab"}}' + '{{$x = printf "%s%s" $x $x}}' * 40,
        "error calling printf: " + TOO_LARGE,
        id="doubling a variable by printf",
    ),
    pytest.param(
        '{{$x := "ab"}}' + "{{$x = print $x $x}}" * 40,
        "error calling print: " + TOO_LARGE,
        id="doubling a variable by print",
    ),
    pytest.param(
        '{{$x := split "," "a,b"}}{{range 30}}{{$x = split "," (join "," $x | printf "%s,%s" '
        '(join "," $x))}}{{end}}',
        "larger than",
        id="doubling a list",
    ),
    pytest.param('{{indent 2000000000 "x"}}', "error calling indent: " + TOO_LARGE, id="indent"),
    pytest.param(
        '{{$x := printf "%10000000s" "x"}}{{printf "%s%s" $x $x}}',
        "error calling printf: " + TOO_LARGE,
        id="printf width Go accepts",
    ),
    pytest.param(
        '{{$x := printf "%.*f" 1000000 1.5}}{{printf "' + "%s" * 17 + '"' + " $x" * 17 + "}}",
        "error calling printf: " + TOO_LARGE,
        id="printf precision",
    ),
    pytest.param(
        '{{replaceAll "" "xxxxxxxxxxxxxxxx" (printf "%9999999s" "x")}}',
        "error calling replaceAll: " + TOO_LARGE,
        id="replaceAll of the empty string",
    ),
    pytest.param(
        '{{$x := printf "%9999999s" "x"}}{{range 1000000}}{{if eq $x $x}}{{end}}{{end}}',
        STEPS,
        id="comparing large strings in a loop",
    ),
    pytest.param(
        "{{range 1000}}{{range 1000}}{{range 1000}}{{end}}{{end}}{{end}}",
        "range iterations",
        id="nested ranges",
    ),
    pytest.param(
        '{{$x := printf "%999999s" "x"}}{{range 1000}}{{$y := printf "%s." $x}}{{end}}',
        f"template builds more than {limits.MAX_ALLOCATED_CHARS} characters of strings",
        id="allocation in a loop",
    ),
    pytest.param(
        '{{block "b" .}}' * 600 + "{{end}}" * 600, "template nests too deeply", id="600 blocks"
    ),
    pytest.param(
        '{{define "r"}}{{template "r" .}}{{end}}{{template "r"}}',
        "template calls nest too deeply",
        id="endless recursion",
    ),
    pytest.param(
        "{{" + "(" * 5000 + "1" + ")" * 5000 + "}}", "template nests too deeply", id="parens"
    ),
    pytest.param(
        '{{parseJSON (printf "%s1%s" (printf "%5000s" "" | replaceAll " " "[") '
        '(printf "%5000s" "" | replaceAll " " "]"))}}',
        "error calling parseJSON: parseJSON: the JSON nests too deeply",
        id="deep parseJSON",
    ),
]


@pytest.mark.parametrize(("template", "message"), HOSTILE)
def test_hostile_template_is_one_template_error_in_bounded_time_and_memory(
    template: str, message: str
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", CHILD.format(cap=MEMORY_CAP)],
        input=template,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=TIME_CEILING * 2,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert "error" in outcome, outcome
    assert outcome["error"].startswith("template t:")
    assert message in outcome["error"]
    assert elapsed < TIME_CEILING


def test_the_136_character_template_is_136_characters() -> None:
    assert len(HOSTILE[0].values[0]) == 136  # type: ignore[arg-type]


def test_step_budget_counts_template_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_STEPS", 50)
    define = '{{define "x"}}.{{end}}'
    assert render(define + '{{template "x"}}' * 10) == "." * 10  # 10 calls of 3 steps fit
    assert error_of(define + '{{template "x"}}' * 30).endswith(
        ": template does too much work (more than 50 steps)"
    )


def test_function_work_is_charged_by_argument_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_STEPS", 1000)
    small = '{{$x := "ab"}}{{range 50}}{{if eq $x $x}}{{end}}{{end}}'
    assert render(small) == ""
    # the same loop over a 100 KB string costs ~400 steps per comparison
    large = small.replace('"ab"', 'printf "%100000s" "x"')
    assert error_of(large).endswith("more than 1000 steps)")


def test_allocation_budget_is_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ALLOCATED_CHARS", 1000)
    template = parse('{{range 9}}{{printf "%100s" "x" | len}}{{end}}', "t")
    for _ in range(3):  # each render starts with the whole budget
        assert "".join(t for t, _ in template.render(lambda p, a: {}, {})) == "100" * 9
    assert parse('{{range 11}}{{printf "%100s" "x" | len}}{{end}}', "t")
    with pytest.raises(Exception, match="more than 1000 characters of strings"):
        parse('{{range 11}}{{printf "%100s" "x" | len}}{{end}}', "t").render(lambda p, a: {}, {})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Go's caps: a * width or precision beyond 10**6 is BADWIDTH / BADPREC
        ('{{printf "%*d" 1000001 7}}', "%!(BADWIDTH)7"),
        ('{{printf "%*d" -1000001 7}}', "%!(BADWIDTH)7"),
        ('{{printf "%.*d" 1000001 7}}', "%!(BADPREC)7"),
        ('{{printf "%.*d" -1 7}}', "%!(BADPREC)7"),
        # a literal width that overflows ends the format (fmt's parsenum)
        ('{{printf "%2000000000s|" "x"}}', "%!(NOVERB)%!(EXTRA string=x)"),
        ('{{printf "%.2000000000s|" "x"}}', "%!(NOVERB)%!(EXTRA string=x)"),
        ('{{printf "%*d" 1000000 7 | len}}', "1000000"),
    ],
)
def test_printf_width_and_precision_caps_as_go(template: str, expected: str) -> None:
    assert render(template) == expected
