"""``python -m transformer.agent``: the same as the ``vault-exec-agent`` script."""

from __future__ import annotations

from transformer.agent.main import main

raise SystemExit(main())
