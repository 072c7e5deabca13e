"""The platform policy: what a chart's annotations and pod spec may not do to where and how
the pod's service-account token is sent, unless the platform allows it (docs/security.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner

from transformer.errors import ConfigError
from transformer.frontends import argocd
from transformer.frontends.cli import main
from transformer.options import SETTING_BY_FIELD, Options, load_options
from transformer.pod.inject import inject
from transformer.problems import PLATFORM

P = "vault.hashicorp.com/"
PLATFORM_OPTIONS = Options(vault_addr="https://vault.example:8200")


def pod(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "annotations": {
                P + "agent-inject": "true",
                P + "agent-run-as-sidecar": "false",
                P + "role": "web",
                P + "agent-inject-secret-config.env": "secret/data/web",
                **(annotations or {}),
            },
        },
        "spec": {"containers": [{"name": "web", "image": "web:1", "command": ["/web"]}], **spec},
    }


def refusals(obj: dict[str, Any], options: Options = PLATFORM_OPTIONS) -> list[str]:
    findings = inject(obj, options)
    assert all(problem.rule == PLATFORM for problem in findings.problems)
    assert findings.changed is not bool(findings.problems)
    return [problem.message for problem in findings.problems]


#: annotation, a value a chart could set, the Options change that allows it, the setting.
POLICED = [
    ("tls-skip-verify", "true", {"allow_tls_skip_verify": True}, "allowTlsSkipVerify"),
    ("ca-cert", "/app/evil-ca.pem", {"allowed_ca_certs": ("/app/evil-ca.pem",)}, "allowedCaCerts"),
    ("tls-server-name", "evil.example", {"allowed_tls_server_names": ("evil.example",)},
     "allowedTlsServerNames"),
    ("agent-image", "evil.example/agent:1", {"allowed_agent_images": ("evil.example/agent:1",)},
     "allowedAgentImages"),
    ("auth-path", "auth/evil", {"allowed_auth_paths": ("auth/evil",)}, "allowedAuthPaths"),
    ("auth-type", "jwt", {"allowed_auth_paths": ("auth/jwt",)}, "allowedAuthPaths"),
    ("namespace", "other-team", {"allowed_vault_namespaces": ("other-team",)},
     "allowedVaultNamespaces"),
]  # fmt: skip


@pytest.mark.parametrize(("annotation", "value", "allowing", "setting"), POLICED)
def test_a_chart_cannot_weaken_or_move_the_login_unless_the_platform_allows(
    annotation: str, value: str, allowing: dict[str, Any], setting: str
) -> None:
    (message,) = refusals(pod({P + annotation: value}))
    assert message.startswith(f"{P}{annotation}: ")
    assert f"platform setting {setting}" in message  # names what would allow it
    assert refusals(pod({P + annotation: value}), replace(PLATFORM_OPTIONS, **allowing)) == []


def test_the_platforms_own_values_and_harmless_ones_pass() -> None:
    own = {
        P + "agent-image": PLATFORM_OPTIONS.agent_image,
        P + "auth-path": PLATFORM_OPTIONS.auth_path,
        P + "tls-skip-verify": "false",
    }
    assert refusals(pod(own)) == []
    namespaced = replace(PLATFORM_OPTIONS, vault_namespace="team-a")
    obj = pod({P + "namespace": "team-a"})
    assert refusals(obj, namespaced) == []
    config = json.loads(obj["spec"]["containers"][0]["env"][0]["value"])
    assert config["vault"]["namespace"] == "team-a"
    # The platform's namespace reaches every pod, asked for or not.
    plain = pod()
    assert refusals(plain, namespaced) == []
    assert json.loads(plain["spec"]["containers"][0]["env"][0]["value"])["vault"]["namespace"] == (
        "team-a"
    )


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"dnsPolicy": "None", "dnsConfig": {"options": [{"name": "ndots"}]}}, "dnsPolicy None"),
        ({"dnsConfig": {"nameservers": ["203.0.113.9"]}}, "dnsConfig.nameservers"),
        ({"hostAliases": [{"ip": "203.0.113.9", "hostnames": ["VAULT.example."]}]}, "hostAliases"),
    ],
)
def test_a_chart_cannot_resolve_the_vault_host_itself(spec: dict[str, Any], where: str) -> None:
    (message,) = refusals(pod(**spec))
    assert message.startswith(where)
    assert "platform setting allowCustomDns" in message
    assert refusals(pod(**spec), replace(PLATFORM_OPTIONS, allow_custom_dns=True)) == []


def test_host_aliases_for_other_hosts_are_fine() -> None:
    aliases = [{"ip": "10.0.0.5", "hostnames": ["db.internal", "vault.example.org"]}]
    assert refusals(pod(hostAliases=aliases)) == []


def test_a_refusal_is_a_located_platform_problem_on_every_surface() -> None:
    stream = json.dumps(pod({P + "tls-skip-verify": "true"}))
    result = CliRunner().invoke(
        main, ["render", "--vault-addr", "https://vault.example:8200"], input=stream
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"-:1:307: {P}tls-skip-verify: the platform does not allow it")
    sarif = CliRunner().invoke(
        main, ["check", "--format", "sarif", "--vault-addr", "https://vault.example:8200"], stream
    )
    assert json.loads(sarif.stdout)["runs"][0]["results"][0]["ruleId"] == "platform"
    allowed = CliRunner().invoke(
        main,
        ["render", "--vault-addr", "https://vault.example:8200", "--allow-tls-skip-verify"],
        input=stream,
    )
    assert allowed.exit_code == 0, allowed.stderr


def test_every_policy_setting_comes_from_flags_file_and_environment(tmp_path: Any) -> None:
    environ = {
        "VAULT_EXEC_ALLOW_TLS_SKIP_VERIFY": "true",
        "VAULT_EXEC_ALLOWED_CA_CERTS": "/a.pem,/b.pem",
        "VAULT_EXEC_ALLOW_CUSTOM_DNS": "yes",
    }
    options = load_options({}, None, environ)
    assert options.allow_tls_skip_verify is True
    assert options.allowed_ca_certs == ("/a.pem", "/b.pem")
    assert options.allow_custom_dns is True
    config = tmp_path / "platform.yaml"
    config.write_text("allowedAgentImages: [mirror.example/agent:1]\nvaultNamespace: ops\n")
    options = load_options({"allowed_auth_paths": ("auth/ci",)}, str(config), {})
    assert options.allowed_agent_images == ("mirror.example/agent:1",)
    assert options.vault_namespace == "ops"
    assert options.allowed_auth_paths == ("auth/ci",)
    with pytest.raises(ConfigError, match="--allow-tls-skip-verify"):
        load_options({"allow_tls_skip_verify": "maybe"}, None, {})
    assert SETTING_BY_FIELD["allowed_ca_certs"].option == "--allowed-ca-cert"


def test_an_argo_cd_application_is_bounded_like_an_annotation() -> None:
    env = {"ARGOCD_APP_NAME": "shop", "ARGOCD_ENV_AGENT_IMAGE": "evil.example/agent:1"}
    with pytest.raises(ConfigError, match=r"plugin parameter agent-image: 'evil\.example/agent:1'"):
        argocd.app_options(PLATFORM_OPTIONS, argocd.app_context(env))
    env = {"ARGOCD_APP_NAME": "shop", "ARGOCD_ENV_AUTH_PATH": "auth/evil"}
    with pytest.raises(ConfigError, match="plugin parameter auth-path: 'auth/evil'"):
        argocd.app_options(PLATFORM_OPTIONS, argocd.app_context(env))
    allowed = replace(PLATFORM_OPTIONS, allowed_auth_paths=("auth/evil",))
    assert argocd.app_options(allowed, argocd.app_context(env)).auth_path == "auth/evil"
    # The policy itself is no plugin parameter: an Application cannot widen it.
    params = [{"name": "allowed-agent-images", "string": "evil.example/agent:1"}]
    env = {"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_PARAMETERS": json.dumps(params)}
    with pytest.raises(ConfigError, match="unknown plugin parameter"):
        argocd.app_context(env)
