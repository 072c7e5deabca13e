"""`vault-exec doctor` against the real OpenBao dev server: one test per failure class.

Each test builds its own role, policy and secret, runs the doctor as an operator
would (stdin, VAULT_ADDR/VAULT_TOKEN) and checks the one located line it expects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.doctor_kit import (
    deployment,
    doctor,
    jwt_role,
    kubernetes_role,
    line_of,
    put_policy,
    put_secret,
)
from testkit.openbao import TestVault
from transformer.pod.annotations import PREFIX, SECRET_PREFIX, TEMPLATE_PREFIX


def ready(vault: TestVault, word: str, data: dict[str, str] | None = None) -> str:
    """A KV v2 secret, a policy that reads it and a kubernetes role for apps/api with it."""
    path = put_secret(vault, f"doctor/{word}", data or {"user": "u", "password": "p"})
    put_policy(vault, f"doctor-{word}", path)
    kubernetes_role(vault, f"doctor-{word}", [f"doctor-{word}"])
    return path


def check(vault: TestVault, manifest: str, *args: str) -> list[str]:
    """The problem lines of a text-format run (exit 1 when any is an error)."""
    run = doctor(vault, manifest, "--address", vault.address, *args)
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert run.code == (1 if any(": warning: " not in line for line in lines) else 0), run
    return lines


def only_line(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    return lines[0]


def test_a_fully_correct_setup_passes_and_leaves_no_token(test_vault: TestVault) -> None:
    path = ready(test_vault, "ok")
    template = f'{{{{ with secret "{path}" }}}}PW={{{{ .Data.data.password }}}}{{{{ end }}}}'
    manifest = deployment("doctor-ok", {"db": path, "all": path}, templates={"db": template})
    before = test_vault.bao.token_accessors()
    assert check(test_vault, manifest) == []
    assert test_vault.bao.token_accessors() == before  # the probe token was revoked


def test_a_correct_jwt_setup_with_a_projected_token_passes(test_vault: TestVault) -> None:
    path = put_secret(test_vault, "doctor/jwt-ok", {"k": "v"})
    jwt_role(test_vault, "doctor-jwt-ok", [put_policy(test_vault, "doctor-jwt-ok", path)])
    manifest = deployment(
        "doctor-jwt-ok",
        {"env": path},
        annotations={PREFIX + "auth-type": "jwt", PREFIX + "auth-path": "auth/jwt"},
        automount=False,  # render mounts a projected token for audience "vault"
    )
    assert check(test_vault, manifest) == []


def test_missing_auth_mount(test_vault: TestVault) -> None:
    path = ready(test_vault, "mount")
    manifest = deployment(
        "doctor-mount", {"env": path}, annotations={PREFIX + "auth-path": "auth/k8s"}
    )
    line = only_line(check(test_vault, manifest))
    assert f"-:{line_of(manifest, 'auth-path')}:" in line
    assert "has no auth mount auth/k8s (auth mounts: auth/jwt, auth/kubernetes, auth/token)" in line


def test_auth_mount_of_the_wrong_type(test_vault: TestVault) -> None:
    path = ready(test_vault, "type")
    manifest = deployment(
        "doctor-type", {"env": path}, annotations={PREFIX + "auth-path": "auth/jwt"}
    )
    line = only_line(check(test_vault, manifest))
    assert "auth/jwt is a jwt auth mount, but the agent logs in there with kubernetes" in line


def test_missing_role(test_vault: TestVault) -> None:
    path = ready(test_vault, "role")
    manifest = deployment("doctor-no-such-role", {"env": path})
    line = only_line(check(test_vault, manifest))
    assert f"-:{line_of(manifest, PREFIX + 'role:')}:" in line
    assert "role 'doctor-no-such-role' does not exist at auth/kubernetes" in line
    assert line.endswith("(Deployment/apps/api)")


def test_service_account_not_bound(test_vault: TestVault) -> None:
    path = ready(test_vault, "sa")
    line = only_line(
        check(test_vault, deployment("doctor-sa", {"env": path}, service_account="web"))
    )
    assert "does not admit service account 'web' (bound_service_account_names: api)" in line


def test_default_service_account_when_the_pod_names_none(test_vault: TestVault) -> None:
    path = ready(test_vault, "default-sa")
    manifest = deployment("doctor-default-sa", {"env": path}, service_account=None)
    assert "does not admit service account 'default'" in only_line(check(test_vault, manifest))


def test_namespace_not_bound_from_the_manifest_or_the_flag(test_vault: TestVault) -> None:
    path = ready(test_vault, "ns")
    line = only_line(check(test_vault, deployment("doctor-ns", {"env": path}, namespace="shop")))
    assert "does not admit namespace 'shop' (bound_service_account_namespaces: apps)" in line
    unnamed = deployment("doctor-ns", {"env": path}, namespace=None)
    assert check(test_vault, unnamed, "--namespace", "apps") == []
    assert "admit namespace 'web'" in only_line(check(test_vault, unnamed, "--namespace", "web"))
    (warning,) = check(test_vault, unnamed)
    assert "warning: not checked: whether role 'doctor-ns'" in warning
    assert "pass --namespace" in warning


def test_globbed_bindings_admit(test_vault: TestVault) -> None:
    path = put_secret(test_vault, "doctor/glob", {"k": "v"})
    policy = put_policy(test_vault, "doctor-glob", path)
    kubernetes_role(test_vault, "doctor-glob", [policy], accounts="ap*", namespaces="*")
    assert check(test_vault, deployment("doctor-glob", {"env": path}, namespace="any")) == []


def test_policies_do_not_grant_read(test_vault: TestVault) -> None:
    path = ready(test_vault, "deny")
    other = put_secret(test_vault, "doctor/deny-other", {"k": "v"})
    manifest = deployment("doctor-deny", {"env": path, "other": other})
    before = test_vault.bao.token_accessors()
    line = only_line(check(test_vault, manifest))
    assert f"-:{line_of(manifest, SECRET_PREFIX + 'other')}:" in line
    assert (
        "role 'doctor-deny' at auth/kubernetes cannot read secret/data/doctor/deny-other: "
        "its policies (doctor-deny) grant deny"
    ) in line
    assert test_vault.bao.token_accessors() == before


def test_a_role_without_the_default_policy_is_asked_for_by_the_operator(
    test_vault: TestVault,
) -> None:
    path = put_secret(test_vault, "doctor/nodefault", {"k": "v"})
    put_policy(test_vault, "doctor-nodefault", path)
    kubernetes_role(
        test_vault, "doctor-nodefault", ["doctor-nodefault"], token_no_default_policy=True
    )
    assert check(test_vault, deployment("doctor-nodefault", {"env": path})) == []
    kubernetes_role(test_vault, "doctor-nodefault", ["default"], token_no_default_policy=True)
    assert "cannot read" in only_line(
        check(test_vault, deployment("doctor-nodefault", {"env": path}))
    )


def test_a_kv_path_that_holds_no_secret(test_vault: TestVault) -> None:
    missing = "secret/data/doctor/never-written"
    put_policy(test_vault, "doctor-missing", missing)
    kubernetes_role(test_vault, "doctor-missing", ["doctor-missing"])
    line = only_line(check(test_vault, deployment("doctor-missing", {"env": missing})))
    assert f"no secret at {missing}" in line


def test_a_kv2_path_without_data(test_vault: TestVault) -> None:
    put_secret(test_vault, "doctor/bare", {"k": "v"})
    put_policy(test_vault, "doctor-bare", "secret/doctor/bare")
    kubernetes_role(test_vault, "doctor-bare", ["doctor-bare"])
    line = only_line(check(test_vault, deployment("doctor-bare", {"env": "secret/doctor/bare"})))
    assert (
        "is on a KV version 2 mount (secret/): the agent must read secret/data/doctor/bare" in line
    )


def test_a_key_the_template_uses_is_missing(test_vault: TestVault) -> None:
    path = ready(test_vault, "keys", {"user": "u", "password": "hunter2-value"})
    template = (
        f'{{{{ with secret "{path}" }}}}\n'
        "USER={{ .Data.data.user }}\nPW={{ .Data.data.pasword }}\n{{ end }}"
    )
    manifest = deployment("doctor-keys", {"db": path}, templates={"db": template})
    run = doctor(test_vault, manifest, "--address", test_vault.address)
    line = only_line(run.stdout.splitlines())
    assert f"-:{line_of(manifest, TEMPLATE_PREFIX + 'db')}:" in line
    assert (
        "template db:3:7: .Data.data.pasword: .Data.data of secret/data/doctor/keys has no key "
        "'pasword' (keys: password, user)"
    ) in line
    assert "hunter2" not in run.stdout + run.stderr  # key names, never values


def test_a_template_that_does_not_parse(test_vault: TestVault) -> None:
    path = ready(test_vault, "parse")
    template = '{{ with secret "' + path + '" }}{{ .Data.data.user }'  # an action left open
    manifest = deployment("doctor-parse", {"db": path}, templates={"db": template})
    line = only_line(check(test_vault, manifest))
    assert f"-:{line_of(manifest, TEMPLATE_PREFIX + 'db')}:" in line
    assert ": the template does not parse: template db:1:" in line  # render's own check


def test_a_path_built_at_run_time_is_reported_not_checked(test_vault: TestVault) -> None:
    path = ready(test_vault, "dynamic")
    template = '{{ with secret (printf "secret/data/%s" (env "APP")) }}{{ .Data.data.k }}{{ end }}'
    manifest = deployment("doctor-dynamic", {"db": path}, templates={"db": template})
    line = only_line(check(test_vault, manifest))
    assert (
        "warning: template db:1:9: not checked: a secret path built when the template runs" in line
    )


def test_jwt_audiences_must_hold_the_projected_tokens(test_vault: TestVault) -> None:
    path = put_secret(test_vault, "doctor/aud", {"k": "v"})
    jwt_role(
        test_vault,
        "doctor-aud",
        [put_policy(test_vault, "doctor-aud", path)],
        bound_audiences="sts",
    )
    jwt = {PREFIX + "auth-type": "jwt", PREFIX + "auth-path": "auth/jwt"}
    projected = deployment("doctor-aud", {"env": path}, annotations=jwt, automount=False)
    line = only_line(check(test_vault, projected))
    assert "accepts audiences sts, but the pod's projected token is for 'vault'" in line
    assert check(test_vault, projected, "--token-audience", "sts") == []
    kubelet = deployment("doctor-aud", {"env": path}, annotations=jwt)
    (warning,) = check(test_vault, kubelet)
    assert "warning: not checked: whether the pod's token has an audience" in warning


def test_kubernetes_role_audience_must_match_the_projected_token(test_vault: TestVault) -> None:
    path = ready(test_vault, "k8s-aud")
    kubernetes_role(test_vault, "doctor-k8s-aud", ["doctor-k8s-aud"], audience="other")
    line = only_line(
        check(test_vault, deployment("doctor-k8s-aud", {"env": path}, automount=False))
    )
    assert "wants tokens for audience 'other', but the pod's projected token is for 'vault'" in line


def test_token_uses_and_batch_tokens(test_vault: TestVault) -> None:
    path = ready(test_vault, "uses")
    other = put_secret(test_vault, "doctor/uses-2", {"k": "v"})
    put_policy(test_vault, "doctor-uses", path, other)
    kubernetes_role(test_vault, "doctor-uses", ["doctor-uses"], token_num_uses=1)
    manifest = deployment("doctor-uses", {"a": path, "b": other})
    line = only_line(check(test_vault, manifest))
    assert "good for 1 use(s) (token_num_uses), but the agent makes 2 Vault call(s)" in line
    kubernetes_role(
        test_vault, "doctor-uses", ["doctor-uses"], token_num_uses=0, token_type="batch"
    )
    assert check(test_vault, manifest) == []
    kubernetes_role(test_vault, "doctor-uses", ["doctor-uses"], token_bound_cidrs="10.0.0.0/8")
    (warning,) = check(test_vault, manifest)
    assert "not checked: whether the pod's address is in role 'doctor-uses'" in warning


def test_render_problems_come_first_and_no_vault_is_asked(test_vault: TestVault) -> None:
    manifest = deployment("r", {"env": "secret/data/x"}, annotations={PREFIX + "rol": "x"})
    run = doctor(test_vault, manifest, "--address", "http://127.0.0.1:9")  # nothing listens
    assert run.code == 1
    assert "did you mean vault.hashicorp.com/role" in only_line(run.stdout.splitlines())


def test_unreachable_vault_and_a_refused_token_are_one_line_exit_2(
    test_vault: TestVault, tmp_path: Path
) -> None:
    manifest = deployment("doctor-x", {"env": "secret/data/x"})
    run = doctor(test_vault, manifest, "--address", "http://127.0.0.1:9")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "vault-exec: cannot reach Vault at http://127.0.0.1:9: ConnectionError\n"
    token_file = tmp_path / "token"
    token_file.write_text("not-a-token\n")
    run = doctor(
        test_vault, manifest, "--address", test_vault.address, "--token-file", str(token_file)
    )
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith(f"vault-exec: Vault at {test_vault.address} refused the doctor's")
    assert "not-a-token" not in run.stderr
    run = doctor(test_vault, manifest, "--address", test_vault.address, env={"VAULT_TOKEN": None})
    assert run.code == 2
    assert run.stderr.startswith("vault-exec: no Vault token: set VAULT_TOKEN")


def test_the_token_helper_file_is_read(test_vault: TestVault, tmp_path: Path) -> None:
    path = ready(test_vault, "helper")
    (tmp_path / ".vault-token").write_text(test_vault.bao.root_token)
    run = doctor(
        test_vault,
        deployment("doctor-helper", {"env": path}),
        "--address",
        test_vault.address,
        env={"VAULT_TOKEN": None},
        home=tmp_path,
    )
    assert (run.code, run.stdout, run.stderr) == (0, "", "")


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_json_and_sarif_reports(test_vault: TestVault, output_format: str) -> None:
    path = ready(test_vault, f"fmt-{output_format}")
    manifest = deployment(f"doctor-fmt-{output_format}", {"env": path}, service_account="web")
    run = doctor(test_vault, manifest, "--address", test_vault.address, "--format", output_format)
    assert run.code == 1
    report = json.loads(run.stdout)
    expected_line = line_of(manifest, PREFIX + "role:")
    if output_format == "json":
        (entry,) = report
        assert entry["severity"] == "error"
        assert (entry["line"], entry["column"]) == (expected_line, 9)
        assert entry["resource"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "apps", "name": "api"
        }  # fmt: skip
        assert "does not admit service account 'web'" in entry["message"]
    else:
        (result,) = report["runs"][0]["results"]
        assert result["level"] == "error"
        assert "does not admit service account 'web'" in result["message"]["text"]
        assert "locations" not in result  # stdin has no file to point at


def test_kv1_keys_are_checked_too(test_vault: TestVault) -> None:
    test_vault.client().write_data("kv/doctor-v1", data={"api_key": "k"})
    put_policy(test_vault, "doctor-v1", "kv/doctor-v1")
    kubernetes_role(test_vault, "doctor-v1", ["doctor-v1"])
    template = '{{ with secret "kv/doctor-v1" }}A={{ .Data.api_key }}\nB={{ .Data.b }}{{ end }}'
    manifest = deployment("doctor-v1", {"env": "kv/doctor-v1"}, templates={"env": template})
    line = only_line(check(test_vault, manifest))
    assert ".Data.b: .Data of kv/doctor-v1 has no key 'b' (keys: api_key)" in line


def test_a_write_needs_update_and_nothing_is_issued(test_vault: TestVault) -> None:
    # app-read (tests/openbao.py) may create/update pki/issue/leased.
    kubernetes_role(test_vault, "doctor-pki", ["app-read"])
    issued = test_vault.client().adapter.request("LIST", "/v1/pki/certs")["data"]["keys"]
    issue = (
        '{{ with secret "pki/issue/leased" "common_name=a.example.test" }}'
        "{{ .Data.certificate }}{{ end }}"
    )
    manifest = deployment("doctor-pki", {"cert": "pki/issue/leased"}, templates={"cert": issue})
    assert check(test_vault, manifest) == []
    kubernetes_role(test_vault, "doctor-pki", [put_policy(test_vault, "doctor-pki", "pki/*")])
    line = only_line(check(test_vault, manifest))
    assert "template cert:1:9: role 'doctor-pki' at auth/kubernetes cannot update" in line
    assert test_vault.client().adapter.request("LIST", "/v1/pki/certs")["data"]["keys"] == issued


def test_other_engines_are_not_read(test_vault: TestVault) -> None:
    kubernetes_role(
        test_vault, "doctor-engine", [put_policy(test_vault, "doctor-engine", "pki/ca")]
    )
    (warning,) = check(test_vault, deployment("doctor-engine", {"ca": "pki/ca"}))
    assert "warning: not checked: whether pki/ca exists (pki engine at pki/" in warning


def test_problems_name_their_file_in_the_github_format(
    test_vault: TestVault, tmp_path: Path
) -> None:
    path = ready(test_vault, "github")
    manifest = deployment("doctor-github", {"env": path}, namespace="shop")
    (tmp_path / "ok.yaml").write_text(deployment("doctor-github", {"env": path}))
    (tmp_path / "shop.yaml").write_text(manifest)
    files = [str(tmp_path / "ok.yaml"), str(tmp_path / "shop.yaml")]
    run = doctor(test_vault, "", "--address", test_vault.address, "--format", "github", *files)
    assert run.code == 1
    (line,) = run.stdout.splitlines()
    role_line = line_of(manifest, PREFIX + "role:")
    assert line.startswith(f"::error file={tmp_path}/shop.yaml,line={role_line},col=9,")
    assert "does not admit namespace 'shop'" in line


def test_a_tls_vault_needs_its_ca(tmp_path: Path, test_vault: TestVault) -> None:
    from testkit.openbao import start_dev_server

    server = start_dev_server(tmp_path / "tls", tls=True)
    try:
        manifest = deployment("doctor-tls", {"env": "secret/data/x"})
        env = {"VAULT_TOKEN": server.root_token}
        run = doctor(test_vault, manifest, "--address", server.address, env=env)
        assert run.code == 2
        assert run.stderr.startswith(f"vault-exec: cannot verify Vault at {server.address} (pass")
        assert server.ca_cert is not None
        run = doctor(
            test_vault, manifest, "--address", server.address, "--ca-cert", str(server.ca_cert),
            env=env,
        )  # fmt: skip
        assert run.code == 1  # reached: it has no kubernetes auth mount
        assert "has no auth mount auth/kubernetes (auth mounts: auth/token)" in run.stdout
        assert server.root_token not in run.stdout + run.stderr
    finally:
        server.stop()


def test_a_path_no_engine_serves(test_vault: TestVault) -> None:
    put_policy(test_vault, "doctor-unmounted", "nowhere/data/x")
    kubernetes_role(test_vault, "doctor-unmounted", ["doctor-unmounted"])
    line = only_line(check(test_vault, deployment("doctor-unmounted", {"env": "nowhere/data/x"})))
    assert "no secrets engine is mounted at nowhere/data/x" in line
