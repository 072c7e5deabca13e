"""``vault-exec-kustomize-plugin``: kustomize's exec plugin, for ``kubectl kustomize``.

kubectl's built-in kustomize has no ``--enable-exec``, so it silently skips exec KRM
functions (``vault-exec krm``); it does run exec *plugins* with
``--enable-alpha-plugins``: an executable named after the transformer's kind, found at
``$KUSTOMIZE_PLUGIN_HOME/<group>/<version>/<lowercase kind>/<Kind>``, called with the
path of its config file, resources on stdin. Install by symlinking this console
script there (docs/kustomize.md). A separate console script, not a subcommand,
because kustomize passes only the config path; it runs under the same handler and
exit codes as ``vault-exec``.
"""

from __future__ import annotations

import os

import click

from transformer.errors import InputError
from transformer.frontends.krm import run_exec_plugin
from transformer.frontends.shell import GuardedCommand, read_sources, report, write_output
from transformer.options import CONFIG_FILE_ENV_VAR, load_options


@click.command(cls=GuardedCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", type=click.Path(dir_okay=False))
@click.pass_context
def main(ctx: click.Context, config: str) -> None:
    """Inject vault-exec into the resources on stdin (kustomize exec plugin protocol).

    CONFIG is the transformer object kustomize wrote for this plugin; its spec holds
    the platform defaults (vaultAddr, agentImage, ...) over VAULT_EXEC_* and VAULT_ADDR.
    """
    base = load_options({}, os.environ.get(CONFIG_FILE_ENV_VAR) or None, os.environ)
    try:
        with open(config, encoding="utf-8") as handle:
            config_text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{config}: cannot read the plugin config: {error}") from None
    outcome = run_exec_plugin(read_sources(["-"])[0][1], config_text, base)
    if report(outcome.problems):
        ctx.exit(outcome.exit_code)
    write_output(outcome.text)


__all__ = ["main"]
