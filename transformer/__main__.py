"""``python -m transformer`` is ``vault-exec``."""

from transformer.frontends.cli import main

main(prog_name="vault-exec")
