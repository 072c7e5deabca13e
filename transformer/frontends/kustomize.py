"""``vault-exec-kustomize-plugin``: kustomize's exec plugin, for ``kubectl kustomize``.

kubectl's built-in kustomize has no ``--enable-exec``, so it silently skips exec KRM
functions (``vault-exec krm``); it does run exec *plugins* with
``--enable-alpha-plugins``: an executable named after the transformer's kind, found at
``$KUSTOMIZE_PLUGIN_HOME/<group>/<version>/<lowercase kind>/<Kind>``, called with the
path of its config file, resources on stdin. Install by symlinking this console
script there (docs/kustomize.md). A separate console script, not a subcommand,
because kustomize passes only the config path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from transformer.errors import VaultExecError
from transformer.frontends.krm import run_exec_plugin
from transformer.options import CONFIG_FILE_ENV_VAR, load_options


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", type=click.Path(dir_okay=False))
def main(config: str) -> None:
    """Inject vault-exec into the resources on stdin (kustomize exec plugin protocol).

    CONFIG is the transformer object kustomize wrote for this plugin; its spec holds
    the platform defaults (vaultAddr, agentImage, ...) over VAULT_EXEC_* and VAULT_ADDR.
    """
    import os

    try:
        base = load_options({}, os.environ.get(CONFIG_FILE_ENV_VAR) or None, os.environ)
        config_text = Path(config).read_text(encoding="utf-8")
        stream = sys.stdin.buffer.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        click.echo(f"vault-exec kustomize plugin: cannot read input: {error}", err=True)
        sys.exit(1)
    except VaultExecError as error:
        click.echo(f"vault-exec kustomize plugin: {error}", err=True)
        sys.exit(2)
    outcome = run_exec_plugin(stream, config_text, base)
    for result in outcome.results:
        click.echo(f"vault-exec: {result.format()}", err=True)
    if outcome.failed:
        sys.exit(1)
    sys.stdout.write(outcome.text)
