"""The engine's bounds: a template's run is bounded in CPU and memory whatever its text
and data, and ends in one template error when it would exceed them.

- nesting (parse and calls) and range iterations, as counts;
- work, in *steps*: every node executed, command, operand, field and template call is
  one step, and a function call costs one step plus one per ``STEP_CHARS`` characters
  (or items) of its arguments, so work that is linear in the data is paid for;
- memory, in characters: every string or list a function builds is charged to the
  run's allocation budget (a list item as ``ITEM_CHARS``), and no single value may
  exceed ``MAX_VALUE_CHARS`` (the functions that can multiply their input, such as
  ``indent``, ``replaceAll``, ``split`` and ``printf`` widths, check that before
  they build anything);
- the output's size.

The step budget is sized so a run that exhausts it ends within a few seconds on a
slow machine (tests/agent/template/test_template_limits.py); a real template takes a
few thousand steps.
"""

from __future__ import annotations

from transformer.agent.template.errors import fail

MAX_OUTPUT_CHARS = 16 * 1024 * 1024
MAX_VALUE_CHARS = 16 * 1024 * 1024
MAX_ALLOCATED_CHARS = 64 * 1024 * 1024
MAX_STEPS = 2_000_000
STEP_CHARS = 256
MAX_RANGE_ITERATIONS = 1_000_000
MAX_NESTING = 100


class Budget:
    """What is left of one run's steps and allocation (module constants read at start)."""

    __slots__ = ("chars", "steps")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.chars = MAX_ALLOCATED_CHARS

    def step(self, pos: int, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            fail(pos, f"template does too much work (more than {MAX_STEPS} steps)")

    def allocate(self, pos: int, chars: int) -> None:
        if chars > MAX_VALUE_CHARS:
            fail(pos, f"a value would be larger than {MAX_VALUE_CHARS} characters")
        self.chars -= chars
        if self.chars < 0:
            fail(
                pos,
                f"template builds more than {MAX_ALLOCATED_CHARS} characters of strings",
            )


#: What one item of a list or map costs, in characters: a Python object and a pointer.
ITEM_CHARS = 64


def size_of(value: object) -> int:
    """A value's size for the budgets: a string's length; for a list or map,
    ``ITEM_CHARS`` per item plus the length of its string items (one level: deeper
    parts were charged when they were built, or came from Vault)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return ITEM_CHARS * len(value) + sum(len(item) for item in value if isinstance(item, str))
    if isinstance(value, dict):
        return ITEM_CHARS * len(value)
    return 0
