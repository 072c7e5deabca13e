"""Helpers for the `vault-exec doctor` tests: workloads as manifests, Vault set-up, a runner.

Every test sets up its own roles, policies and secrets (names carry the test's
own word) on the session's OpenBao dev server (tests/openbao.py), so tests do not
depend on one another. The kubernetes auth mount there has a TokenReview test
double as its host; the doctor never logs in, it only reads role config, so any
configured kubernetes mount would do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from testkit.openbao import TestVault, find_bao
from transformer.frontends.cli import main
from transformer.pod.annotations import PREFIX, SECRET_PREFIX, TEMPLATE_PREFIX

PLATFORM_ADDR = "https://vault.example:8200"  # the pods' address; the doctor checks --address


def deployment(
    role: str,
    secrets: Mapping[str, str],
    *,
    templates: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    name: str = "api",
    namespace: str | None = "apps",
    service_account: str | None = "api",
    automount: bool | None = None,
) -> str:
    """A Deployment whose pod asks for ``secrets`` (name -> path) with ``role``."""
    wanted: dict[str, str] = {
        PREFIX + "agent-inject": "true",
        PREFIX + "agent-run-as-sidecar": "false",
        PREFIX + "role": role,
        PREFIX + "agent-exec-command": "/server",
    }
    wanted.update({SECRET_PREFIX + key: path for key, path in secrets.items()})
    wanted.update({TEMPLATE_PREFIX + key: text for key, text in (templates or {}).items()})
    wanted.update(annotations or {})
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "example.invalid/app:1"}]}
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    document = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": wanted},
                "spec": spec,
            },
        },
    }
    return yaml.safe_dump(document, sort_keys=False)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` that holds ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the manifest")


# ---- Vault set-up ------------------------------------------------------------


def put_secret(vault: TestVault, path: str, data: Mapping[str, str]) -> str:
    """Write KV v2 ``secret/<path>``; the path the agent reads (``secret/data/<path>``)."""
    vault.client().secrets.kv.v2.create_or_update_secret(path, secret=dict(data))
    return f"secret/data/{path}"


def put_policy(vault: TestVault, name: str, *read_paths: str) -> str:
    rules = "\n".join(f'path "{path}" {{ capabilities = ["read"] }}' for path in read_paths)
    vault.client().sys.create_or_update_policy(name, rules or "# nothing")
    return name


def kubernetes_role(
    vault: TestVault,
    name: str,
    policies: list[str],
    *,
    accounts: str = "api",
    namespaces: str = "apps",
    **fields: Any,
) -> None:
    vault.client().write_data(
        f"auth/kubernetes/role/{name}",
        data={
            "bound_service_account_names": accounts,
            "bound_service_account_namespaces": namespaces,
            "token_policies": ",".join(policies),
            **fields,
        },
    )


def jwt_role(vault: TestVault, name: str, policies: list[str], **fields: Any) -> None:
    data = {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_subject": "system:serviceaccount:apps:api",
        "bound_audiences": "vault",
        "token_policies": ",".join(policies),
    }
    data.update(fields)
    vault.client().write_data(f"auth/jwt/role/{name}", data=data)


def role_names(vault: TestVault, mount: str) -> set[str]:
    listed = vault.client().adapter.request("LIST", f"/v1/auth/{mount}/role")
    return set(listed["data"]["keys"]) if listed else set()


def policy_names(vault: TestVault) -> set[str]:
    listed = vault.client().sys.list_policies()  # type: ignore[no-untyped-call]
    return set(listed["data"]["policies"])


# ---- running the doctor --------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def environment(vault: TestVault, home: Path) -> dict[str, str]:
    """What an operator's shell would have: the Vault address and token, a HOME of its own."""
    return {
        "VAULT_ADDR": vault.address,
        "VAULT_TOKEN": vault.bao.root_token,
        "HOME": str(home),
        "PATH": os.path.dirname(find_bao()) + os.pathsep + os.environ.get("PATH", ""),
    }


#: Login mounts the doctor tests' workloads may pick (the platform policy's list).
TEST_AUTH_PATHS = ("auth/jwt", "auth/k8s", "auth/nowhere")


def doctor(
    vault: TestVault,
    manifest: str,
    *args: str,
    env: Mapping[str, str | None] | None = None,
    home: Path | None = None,
) -> Run:
    """``vault-exec doctor ARGS`` with ``manifest`` on stdin, as an operator runs it."""
    environ: dict[str, str | None] = dict(environment(vault, home or Path("/nonexistent")))
    # The platform lets these workloads log in at the mounts the tests set up.
    environ["VAULT_EXEC_ALLOWED_AUTH_PATHS"] = ",".join(TEST_AUTH_PATHS)
    environ["VAULT_EXEC_ALLOWED_VAULT_NAMESPACES"] = "doctor-team"
    environ.update(env or {})
    result = CliRunner().invoke(
        main,
        ["doctor", "--vault-addr", PLATFORM_ADDR, *args],
        input=manifest,
        env=environ,
        catch_exceptions=False,
    )
    run = Run(result.exit_code, result.stdout, result.stderr)
    # Whatever happens, the operator's token is never printed.
    assert vault.bao.root_token not in run.stdout + run.stderr
    return run
