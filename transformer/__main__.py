"""``python -m transformer`` is ``vault-exec``."""

from transformer.cli import main

main(prog_name="vault-exec")
