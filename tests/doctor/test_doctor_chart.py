"""`vault-exec doctor` on the seed's `api` chart as Helm 3 renders it (release `demo`,
namespace `apps`), against the platform's Vault set-up for the pod end-to-end test
(role `api` bound to namespace `spitikos`), then fixed with `--apply`."""

from __future__ import annotations

from pathlib import Path

from testkit import pod_scenario
from testkit.doctor_kit import doctor
from testkit.openbao import running_test_vault


def test_the_seed_chart_from_no_role_to_a_passing_run(api_helm3: str, tmp_path: Path) -> None:
    # A server of its own: the end-to-end tests write role `api` on the shared one.
    with running_test_vault(tmp_path / "openbao") as vault:
        args = ("--address", vault.address)
        before = doctor(vault, api_helm3, *args)
        assert before.code == 1
        (line,) = before.stdout.splitlines()
        assert line.startswith("-:")  # located in the stream Helm pipes in
        assert line.endswith(
            ": role 'api' does not exist at auth/kubernetes (Deployment/apps/demo-api)"
        )

        pod_scenario.configure_vault(vault.client(), pod_scenario.DEMO_SECRETS)
        (line,) = doctor(vault, api_helm3, *args).stdout.splitlines()
        assert (
            "does not admit namespace 'apps' (bound_service_account_namespaces: spitikos)" in line
        )

        applied = doctor(vault, api_helm3, *args, "--apply")
        assert (applied.code, applied.stderr) == (0, "")
        assert applied.stdout.endswith(
            "vault write auth/kubernetes/role/api bound_service_account_namespaces=spitikos,apps\n"
        )
        outputs = before.stdout + applied.stdout
        assert not [value for value in pod_scenario.DEMO_SECRETS.values() if value in outputs]
