"""vault-exec: deploy-time Vault secret injection for distroless pods.

This package root is imported by both halves (the deploy-time transformer and the
run-time agent in ``transformer.agent``), so it holds nothing but the version.
"""

__version__ = "0.1.0"
