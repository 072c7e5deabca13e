"""PyInstaller entry point of the agent bundle: the `vault-exec-agent` console script."""

from __future__ import annotations

import sys

from transformer.agent.main import main

if __name__ == "__main__":
    sys.exit(main())
