"""``vault-exec doctor``: the command (I/O, flags, exit codes); the checks are
:mod:`transformer.doctor`. It takes the same platform flags as ``render``. Importing
this module costs the CLI's start-up nothing but click: hvac and the checks are loaded
when the command runs.
"""

from __future__ import annotations

import os
from typing import Any

import click

from transformer.frontends.shell import (
    options_from_params,
    platform_options,
    read_sources,
    write_output,
)

FORMATS = ("text", "json", "github", "sarif")
CLIS = ("vault", "bao")


@click.command("doctor")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: path:line:col lines; github: workflow annotations; sarif: code scanning.",
)
@click.option(
    "--namespace",
    metavar="NS",
    help="Namespace of objects that name none (a Helm 3 stream: the release namespace).",
)
@click.option(
    "--address",
    metavar="URL",
    help="The Vault to check (else VAULT_ADDR, else the platform's Vault address).",
)
@click.option(
    "--token-file",
    metavar="FILE",
    help="File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).",
)
@click.option(
    "--ca-cert",
    metavar="FILE",
    envvar="VAULT_CACERT",
    help="CA bundle to verify Vault's certificate (env VAULT_CACERT).",
)
@click.option(
    "--print-setup",
    is_flag=True,
    help="Print the Vault CLI commands that create the missing roles and policies.",
)
@click.option(
    "--apply",
    is_flag=True,
    help="Print the setup, write exactly that to Vault, then check again.",
)
@click.option(
    "--cli",
    "cli_name",
    type=click.Choice(CLIS),
    default="vault",
    show_default=True,
    help="The CLI the printed setup calls (OpenBao's is bao).",
)
@platform_options
@click.pass_context
def doctor(
    ctx: click.Context,
    /,
    files: tuple[str, ...],
    output_format: str,
    namespace: str | None,
    address: str | None,
    token_file: str | None,
    ca_cert: str | None,
    print_setup: bool,
    apply: bool,
    cli_name: str,
    **params: Any,
) -> None:
    """Check, against a live Vault, that every workload can log in and read its secrets.

    \b
    Per injected pod: the auth mount and its type, the role, whether it admits the
    pod's service account, namespace and token audience, whether its policies grant
    read on every secret path (asked of Vault with a short-lived token carrying the
    role's policies), whether each KV secret and every key a template uses exist,
    and whether every template parses. One line per problem; exit 1 when any.
    Nothing is written to Vault unless --apply.
    """
    from transformer.doctor.run import run_doctor
    from transformer.errors import EXIT_PROBLEMS

    options = options_from_params(params)
    outcome = run_doctor(
        read_sources(files),
        options,
        namespace=namespace or "",
        address=address,
        token_file=token_file,
        ca_cert=ca_cert,
        setup=print_setup or apply,
        apply=apply,
        cli=cli_name,
        environ=os.environ,
    )
    if outcome.setup is not None:
        write_output(outcome.setup)
        for line in outcome.report(output_format).splitlines():
            click.echo(line, err=True)
    else:
        write_output(outcome.report(output_format))
    if outcome.failed:
        ctx.exit(EXIT_PROBLEMS)
