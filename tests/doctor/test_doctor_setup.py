"""`vault-exec doctor --print-setup` / `--apply` against the real OpenBao dev server.

The printed setup is run by the real `bao` CLI; `--apply` must write exactly what
it printed and nothing else.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import hvac

from testkit.doctor_kit import (
    deployment,
    doctor,
    environment,
    kubernetes_role,
    policy_names,
    put_policy,
    put_secret,
    role_names,
)
from testkit.openbao import TestVault


def parse_script(script: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(policy name -> rules, role path -> fields) of a printed setup."""
    policies: dict[str, str] = {}
    roles: dict[str, dict[str, str]] = {}
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("#") or not line.strip() or line == "set -e":
            continue
        words = shlex.split(line.split(" <<", 1)[0])
        assert words[0] == "bao", line
        if words[1:3] == ["policy", "write"]:
            body = []
            for text in lines:
                if text == "VAULT_EXEC_POLICY":
                    break
                body.append(text)
            policies[words[3]] = "\n".join(body) + "\n"
        else:
            assert words[1] == "write", line
            roles[words[2]] = dict(word.split("=", 1) for word in words[3:])
    return policies, roles


def run_script(vault: TestVault, script: str, home: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", script],
        env=environment(vault, home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def snapshot(vault: TestVault) -> tuple[set[str], set[str], dict[str, str | None]]:
    names = policy_names(vault)
    return (
        names,
        role_names(vault, "kubernetes"),
        {n: vault.client().sys.read_policy(n)["data"]["rules"] for n in names if n != "root"},
    )


def test_printed_setup_run_by_bao_makes_a_failing_doctor_pass(
    test_vault: TestVault, tmp_path: Path
) -> None:
    new = put_secret(test_vault, "doctor/setup-new", {"k": "v"})
    old = put_secret(test_vault, "doctor/setup-old", {"user": "u"})
    extra = put_secret(test_vault, "doctor/setup-extra", {"token": "t"})
    put_policy(test_vault, "doctor-setup-old", old)
    kubernetes_role(test_vault, "doctor-setup-old", ["doctor-setup-old"])
    template = f'{{{{ with secret "{extra}" }}}}T={{{{ .Data.data.token }}}}{{{{ end }}}}'
    stream = "---\n".join(
        [
            deployment("doctor-setup-new", {"env": new}),  # no role yet
            deployment(  # an existing role that admits neither web/shop nor the extra path
                "doctor-setup-old",
                {"env": old, "extra": extra},
                templates={"extra": template},
                name="web",
                namespace="shop",
                service_account="web",
            ),
        ]
    )
    args = ("--address", test_vault.address)
    failing = doctor(test_vault, stream, *args)
    assert failing.code == 1
    assert len(failing.stdout.splitlines()) == 4  # missing role; SA, namespace, read

    before = snapshot(test_vault)
    printed = doctor(test_vault, stream, *args, "--print-setup", "--cli", "bao")
    assert printed.code == 1
    assert printed.stderr.splitlines() == failing.stdout.splitlines()
    assert snapshot(test_vault) == before  # nothing written without --apply
    policies, roles = parse_script(printed.stdout)
    assert policies == {
        "vault-exec-kubernetes-doctor-setup-new": (
            f'path "{new}" {{\n  capabilities = ["read"]\n}}\n'
        ),
        # only what the role lacks: its own policy already reads `old`
        "vault-exec-kubernetes-doctor-setup-old": (
            f'path "{extra}" {{\n  capabilities = ["read"]\n}}\n'
        ),
    }
    assert roles == {
        "auth/kubernetes/role/doctor-setup-new": {
            "bound_service_account_names": "api",
            "bound_service_account_namespaces": "apps",
            "token_policies": "vault-exec-kubernetes-doctor-setup-new",
        },
        "auth/kubernetes/role/doctor-setup-old": {
            "token_policies": "doctor-setup-old,vault-exec-kubernetes-doctor-setup-old",
            "bound_service_account_names": "api,web",
            "bound_service_account_namespaces": "apps,shop",
        },
    }

    run_script(test_vault, printed.stdout, tmp_path)
    assert doctor(test_vault, stream, *args) == type(failing)(0, "", "")
    # The existing binding was kept, not replaced.
    kept = deployment("doctor-setup-old", {"env": old})
    assert doctor(test_vault, kept, *args).code == 0
    # The pods' real logins (kubernetes auth, TokenReview test double) now work.
    for role, namespace, account in [
        ("doctor-setup-new", "apps", "api"),
        ("doctor-setup-old", "shop", "web"),
        ("doctor-setup-old", "apps", "api"),
    ]:
        jwt = test_vault.mint_sa_token(namespace, account)
        login = test_vault.client().write_data(
            "auth/kubernetes/login", data={"role": role, "jwt": jwt}
        )
        assert f"vault-exec-kubernetes-{role}" in login["auth"]["policies"]


def test_apply_writes_exactly_what_it_printed(test_vault: TestVault) -> None:
    path = put_secret(test_vault, "doctor/apply", {"k": "v"})
    manifest = deployment("doctor-apply", {"env": path}, automount=False)  # projected: "vault"
    args = ("--address", test_vault.address)
    assert doctor(test_vault, manifest, *args).code == 1
    names, roles_before, _ = snapshot(test_vault)

    applied = doctor(test_vault, manifest, *args, "--apply", "--cli", "bao")
    assert (applied.code, applied.stderr) == (0, "")  # checked again after the writes
    policies, roles = parse_script(applied.stdout)
    assert policy_names(test_vault) == names | set(policies)
    for name, rules in policies.items():
        assert test_vault.client().sys.read_policy(name)["data"]["rules"] == rules
    assert role_names(test_vault, "kubernetes") == roles_before | {"doctor-apply"}
    assert roles == {
        "auth/kubernetes/role/doctor-apply": {
            "bound_service_account_names": "api",
            "bound_service_account_namespaces": "apps",
            "audience": "vault",
            "token_policies": "vault-exec-kubernetes-doctor-apply",
        }
    }
    stored = test_vault.client().read("auth/kubernetes/role/doctor-apply")["data"]
    assert stored["bound_service_account_names"] == ["api"]
    assert stored["bound_service_account_namespaces"] == ["apps"]
    assert stored["audience"] == "vault"
    assert stored["token_policies"] == ["vault-exec-kubernetes-doctor-apply"]

    again = doctor(test_vault, manifest, *args, "--print-setup")
    assert (again.code, again.stdout) == (0, "# nothing to set up\n")


def test_what_a_setup_must_not_decide_is_a_comment(test_vault: TestVault) -> None:
    path = put_secret(test_vault, "doctor/setup-comment", {"k": "v"})
    manifest = deployment(
        "doctor-setup-comment",
        {"env": path},
        annotations={"vault.hashicorp.com/auth-path": "auth/nowhere"},
    )
    before = snapshot(test_vault)
    run = doctor(test_vault, manifest, "--address", test_vault.address, "--apply")
    assert run.code == 1
    assert run.stdout == (
        "# Deployment/apps/api: auth mount auth/nowhere (kubernetes) is missing or of another "
        "type: enabling and configuring it is the platform's setup, not done here\n"
        "# nothing to set up\n"
    )
    assert snapshot(test_vault) == before


def documented_policy(title: str) -> str:
    """The HCL block of docs/doctor.md whose first line is ``# <title>``."""
    text = (Path(__file__).parents[2] / "docs" / "doctor.md").read_text()
    for block in text.split("```hcl\n")[1:]:
        body = block.split("```", 1)[0]
        if body.startswith(f"# {title}\n"):
            return body
    raise AssertionError(f"no hcl block '# {title}' in docs/doctor.md")


def test_the_documented_doctor_policy_is_enough(test_vault: TestVault) -> None:
    client = test_vault.client()
    client.sys.create_or_update_policy("doctor-docs", documented_policy("vault-exec doctor"))
    client.sys.create_or_update_policy(
        "doctor-docs-apply", documented_policy("vault-exec doctor --apply")
    )
    checking = client.auth.token.create(policies=["doctor-docs"], ttl="5m")["auth"]["client_token"]
    applying = client.auth.token.create(policies=["doctor-docs", "doctor-docs-apply"], ttl="5m")[
        "auth"
    ]["client_token"]
    path = put_secret(test_vault, "doctor/docs", {"k": "v"})
    put_policy(test_vault, "doctor-docs-app", path)
    kubernetes_role(test_vault, "doctor-docs", ["doctor-docs-app"], token_no_default_policy=True)
    manifest = (
        deployment("doctor-docs", {"env": path})
        + "---\n"
        + deployment("doctor-docs-new", {"env": path}, name="web")
    )
    args = ("--address", test_vault.address)
    run = doctor(test_vault, manifest, *args, env={"VAULT_TOKEN": checking})
    assert (run.code, run.stderr) == (1, "")
    assert "role 'doctor-docs-new' does not exist" in run.stdout
    assert "doctor-docs'" not in run.stdout  # the complete one passes
    run = doctor(test_vault, manifest, *args, "--print-setup", env={"VAULT_TOKEN": checking})
    assert run.code == 1
    assert "vault write auth/kubernetes/role/doctor-docs-new" in run.stdout
    run = doctor(test_vault, manifest, *args, "--apply", env={"VAULT_TOKEN": applying})
    assert (run.code, run.stderr) == (0, "")


def test_an_existing_vault_exec_policy_keeps_its_text(test_vault: TestVault) -> None:
    first = put_secret(test_vault, "doctor/extend-1", {"k": "v"})
    second = put_secret(test_vault, "doctor/extend-2", {"k": "v"})
    name = "vault-exec-kubernetes-doctor-extend"
    kept = f'path "{first}" {{ capabilities = ["read"] }}\n'
    test_vault.client().sys.create_or_update_policy(name, kept)
    kubernetes_role(test_vault, "doctor-extend", [name])
    manifest = deployment("doctor-extend", {"a": first, "b": second})
    run = doctor(test_vault, manifest, "--address", test_vault.address, "--apply", "--cli", "bao")
    assert (run.code, run.stderr) == (0, "")
    policies, roles = parse_script(run.stdout)
    assert policies == {name: kept + f'\npath "{second}" {{\n  capabilities = ["read"]\n}}\n'}
    assert roles == {"auth/kubernetes/role/doctor-extend": {"token_policies": name}}
    assert test_vault.client().sys.read_policy(name)["data"]["rules"] == policies[name]


def test_a_printed_jwt_role_admits_the_projected_token(
    test_vault: TestVault, tmp_path: Path
) -> None:
    path = put_secret(test_vault, "doctor/setup-jwt", {"k": "v"})
    manifest = deployment(
        "doctor-setup-jwt",
        {"env": path},
        annotations={
            "vault.hashicorp.com/auth-type": "jwt",
            "vault.hashicorp.com/auth-path": "auth/jwt",
        },
        automount=False,
    )
    args = ("--address", test_vault.address)
    printed = doctor(test_vault, manifest, *args, "--print-setup", "--cli", "bao")
    assert printed.code == 1
    _, roles = parse_script(printed.stdout)
    assert roles == {
        "auth/jwt/role/doctor-setup-jwt": {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": "system:serviceaccount:apps:api",
            "bound_audiences": "vault",
            "token_policies": "vault-exec-jwt-doctor-setup-jwt",
        }
    }
    run_script(test_vault, printed.stdout, tmp_path)
    assert doctor(test_vault, manifest, *args).code == 0
    # and the pod's real login works with what was set up
    login = test_vault.client().write_data(
        "auth/jwt/login", data={"role": "doctor-setup-jwt", "jwt": test_vault.mint_sa_token()}
    )
    assert "vault-exec-jwt-doctor-setup-jwt" in login["auth"]["policies"]


def test_a_workload_in_a_vault_namespace_is_checked_and_set_up_there(
    test_vault: TestVault, tmp_path: Path
) -> None:
    client = test_vault.client()
    client.write_data("sys/namespaces/doctor-team", data={})
    team = hvac.Client(test_vault.address, test_vault.bao.root_token, namespace="doctor-team")
    team.sys.enable_auth_method("jwt", path="jwt")
    team.write_data(
        "auth/jwt/config", data={"jwt_validation_pubkeys": [test_vault.issuer.public_pem()]}
    )
    team.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    team.secrets.kv.v2.create_or_update_secret("team/app", secret={"k": "v"})
    manifest = deployment(
        "doctor-team",
        {"env": "secret/data/team/app"},
        annotations={
            "vault.hashicorp.com/namespace": "doctor-team",
            "vault.hashicorp.com/auth-type": "jwt",
            "vault.hashicorp.com/auth-path": "auth/jwt",
        },
        automount=False,
    )
    args = ("--address", test_vault.address)
    printed = doctor(test_vault, manifest, *args, "--print-setup", "--cli", "bao")
    assert printed.stderr.endswith(
        ": role 'doctor-team' does not exist at auth/jwt (Deployment/apps/api)\n"
    )
    assert "bao policy write -namespace=doctor-team vault-exec-jwt-doctor-team -" in printed.stdout
    assert "bao write -namespace=doctor-team auth/jwt/role/doctor-team " in printed.stdout
    run_script(test_vault, printed.stdout, tmp_path)
    assert doctor(test_vault, manifest, *args).code == 0
    assert "doctor-team" not in role_names(test_vault, "jwt")  # not in the root namespace
    login = team.write_data(
        "auth/jwt/login", data={"role": "doctor-team", "jwt": test_vault.mint_sa_token()}
    )
    assert "vault-exec-jwt-doctor-team" in login["auth"]["policies"]
