"""Test support for vault-exec: real servers, tools and pod stand-ins the tests, the demo and
the benchmarks share (importable because pytest and the bench put the checkout on sys.path).

Not shipped: nothing under ``transformer/`` imports it.
"""

from __future__ import annotations

from pathlib import Path

#: The checkout's root.
REPO = Path(__file__).resolve().parent.parent
