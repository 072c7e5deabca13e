"""Shared by the bundle and end-to-end tests: the built bundle and the rootfs runner.

`ensure_bundle()` runs `make agent-bundle`, which rebuilds dist/ when it is
missing or older than the agent's sources or the build files (once per test
session, under a file lock, since several pytest processes may share the checkout).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

from testkit import REPO as ROOT
from testkit import rootfs
from transformer.agent.contract import AGENT_EXECUTABLE_NAME

BUNDLE = ROOT / "dist" / AGENT_EXECUTABLE_NAME
BUNDLE_EXECUTABLE = BUNDLE / AGENT_EXECUTABLE_NAME
BUILD_VENV = ROOT / "build" / "bundle-venv"

_checked = False


def ensure_bundle() -> Path:
    """dist/vault-exec-agent/, (re)built by `make agent-bundle` if missing or stale."""
    global _checked
    if _checked:
        return BUNDLE
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".agent-bundle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # make knows what is stale (Makefile: AGENT_SOURCES)
        result = subprocess.run(
            ["make", "--no-print-directory", "agent-bundle"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
    if result.returncode != 0:
        raise RuntimeError(
            "make agent-bundle failed:\n" + result.stdout[-3000:] + result.stderr[-3000:]
        )
    _checked = True
    return BUNDLE


def probe_app() -> Path:
    """The static probe program (testkit/probe_app.c), compiled once into build/."""
    return rootfs.build_probe_app(ROOT / "build" / "probe-app")
