"""One doctor run: manifests in, problems (and a setup) out; no argv, no exit codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from transformer.doctor.checks import diagnose
from transformer.doctor.setup import apply_setup, plan_setup, setup_script
from transformer.doctor.vault import Vault, VaultUnavailable, read_token
from transformer.doctor.workloads import find_workloads
from transformer.errors import ConfigError
from transformer.options import Options, normalize_address
from transformer.output.formats import format_problems
from transformer.problems import VAULT, Problem, has_errors

NO_WORKLOAD = "no pod template in the input asks for vault-exec injection: nothing to check"


@dataclass(frozen=True)
class Outcome:
    problems: list[Problem]
    setup: str | None  # the --print-setup script, when asked for

    @property
    def failed(self) -> bool:
        return has_errors(self.problems)

    def report(self, output_format: str) -> str:
        return format_problems(self.problems, output_format)


def vault_address(address: str | None, options: Options, environ: Mapping[str, str]) -> str:
    """Where to check: ``--address``, else ``VAULT_ADDR``, else the platform's address."""
    chosen = address or environ.get("VAULT_ADDR", "").strip() or options.vault_addr
    if not chosen:
        raise ConfigError(
            "no Vault to check: pass --address, set VAULT_ADDR, or give the platform's --vault-addr"
        )
    if not chosen.startswith(("http://", "https://")):
        raise ConfigError(f"--address: {chosen!r} is not a Vault address like https://vault:8200")
    return normalize_address(chosen)


def run_doctor(
    sources: Sequence[tuple[str, str]],
    options: Options,
    *,
    namespace: str = "",
    address: str | None = None,
    token_file: str | None = None,
    ca_cert: str | None = None,
    setup: bool = False,
    apply: bool = False,
    cli: str = "vault",
    environ: Mapping[str, str],
) -> Outcome:
    """Check every workload of ``sources``; raises VaultUnavailable (exit 2) when Vault
    cannot be asked."""
    workloads, problems = find_workloads(sources, options, namespace)
    if has_errors(problems) or not workloads:
        if not workloads and not has_errors(problems):
            name = sources[-1][0] if sources else "-"
            problems.append(Problem(name, 1, 1, NO_WORKLOAD, severity="warning", rule=VAULT))
        return Outcome(problems, "" if setup else None)
    vault = Vault(
        vault_address(address, options, environ), read_token(token_file, environ), ca_cert
    )
    vault.check_token()
    found, gaps = diagnose(vault, workloads)
    script = None
    if setup:
        steps = plan_setup(vault, gaps)
        script = setup_script(steps, cli)
        if apply:
            apply_setup(vault, steps)
            found, gaps = diagnose(vault, workloads)  # what is left after the setup
    return Outcome(problems + found, script)


__all__ = ["Outcome", "VaultUnavailable", "run_doctor"]
