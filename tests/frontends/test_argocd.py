"""The Argo CD plugin's decisions: environment -> release, tool argv, platform options."""

from __future__ import annotations

import json

import pytest

from transformer.errors import ConfigError
from transformer.frontends import argocd
from transformer.options import Options

ENV = {
    "ARGOCD_APP_NAME": "argocd_shop-api",
    "ARGOCD_APP_NAMESPACE": "shop",
    "KUBE_VERSION": "1.31.4",
    "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1",
}
PLATFORM = Options(
    vault_addr="https://vault.example:8200",
    allowed_vault_addrs=("https://vault.example:8200", "https://vault-dr.example:8200"),
    allowed_auth_paths=("auth/k8s-prod",),  # the platform lets Applications pick this mount
)


def test_release_name_drops_the_apps_in_any_namespace_prefix() -> None:
    assert argocd.release_name("argocd_shop-api") == "shop-api"
    assert argocd.release_name("shop-api") == "shop-api"


def test_helm_template_argv_is_what_argo_cds_helm_would_run() -> None:
    params = [
        {"name": "values-files", "array": ["values-prod.yaml"]},
        {"name": "set", "map": {"image.tag": "1.2", "b": "x"}},
    ]
    ctx = argocd.app_context({**ENV, "ARGOCD_APP_PARAMETERS": json.dumps(params)})
    assert argocd.helm_template_argv(["helm"], ctx) == [
        "helm", "template", "shop-api", ".", "--include-crds",
        "--namespace", "shop",
        "--kube-version", "1.31.4",
        "--api-versions", "v1", "--api-versions", "apps/v1", "--api-versions", "batch/v1",
        "--values", "values-prod.yaml",
        "--set", "b=x", "--set", "image.tag=1.2",
    ]  # fmt: skip


def test_empty_kube_variables_add_no_flags() -> None:
    ctx = argocd.app_context({"ARGOCD_APP_NAME": "api", "KUBE_API_VERSIONS": ""})
    assert argocd.helm_template_argv(["helm"], ctx) == [
        "helm",
        "template",
        "api",
        ".",
        "--include-crds",
    ]


def test_values_files_outside_the_source_are_refused() -> None:
    ctx = argocd.app_context({**ENV, "ARGOCD_ENV_VALUES_FILES": "../../secrets.yaml"})
    with pytest.raises(ConfigError, match="inside the Application's source"):
        argocd.helm_template_argv(["helm"], ctx)


def test_parameters_win_over_argocd_env() -> None:
    params = [{"name": "auth-path", "string": "auth/k8s-prod"}]
    environ = {
        **ENV,
        "ARGOCD_ENV_AUTH_PATH": "auth/ignored",
        "ARGOCD_ENV_TOKEN_AUDIENCE": "vault-prod",
        "ARGOCD_APP_PARAMETERS": json.dumps(params),
    }
    options = argocd.app_options(PLATFORM, argocd.app_context(environ))
    assert options.auth_path == "auth/k8s-prod"
    assert options.token_audience == "vault-prod"
    assert options.vault_addr == PLATFORM.vault_addr


def test_an_application_may_pick_only_an_allowed_vault_address() -> None:
    ok = argocd.app_context({**ENV, "ARGOCD_ENV_VAULT_ADDR": "https://vault-dr.example:8200/"})
    options = argocd.app_options(PLATFORM, ok)
    assert options.vault_addr == "https://vault-dr.example:8200"
    assert set(options.allowed_vault_addrs) == set(PLATFORM.allowed_vault_addrs)
    evil = argocd.app_context({**ENV, "ARGOCD_ENV_VAULT_ADDR": "https://evil.example"})
    with pytest.raises(
        ConfigError, match=r"vault-addr: https://evil\.example is not an allowed Vault address"
    ):
        argocd.app_options(PLATFORM, evil)


def test_unknown_parameters_and_bad_json_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown plugin parameter 'valuesFiles'"):
        argocd.app_context({**ENV, "ARGOCD_APP_PARAMETERS": '[{"name": "valuesFiles"}]'})
    with pytest.raises(ConfigError, match="not JSON"):
        argocd.app_context({**ENV, "ARGOCD_APP_PARAMETERS": "[{"})
    with pytest.raises(ConfigError, match="not a valid Helm release name"):
        argocd.app_context({"ARGOCD_APP_NAME": "Shop_API!"})


def test_source_kind_and_directory_files() -> None:
    assert argocd.source_kind({"Chart.yaml", "values.yaml"}) == argocd.HELM
    assert argocd.source_kind({"kustomization.yaml", "a.yaml"}) == argocd.KUSTOMIZE
    assert argocd.source_kind({"a.yaml"}) == argocd.DIRECTORY
    assert argocd.manifest_files({"b.yml", "a.yaml", "c.json", "README.md", ".x.yaml"}) == [
        "a.yaml",
        "b.yml",
        "c.json",
    ]


def test_tool_command_is_split_into_words_never_a_shell() -> None:
    assert argocd.tool_command({}, argocd.HELM_COMMAND_ENV, argocd.HELM_COMMAND) == ["helm"]
    default = argocd.tool_command({}, argocd.KUSTOMIZE_COMMAND_ENV, argocd.KUSTOMIZE_COMMAND)
    assert argocd.kustomize_argv(default) == ["kustomize", "build", "."]
    environ = {argocd.KUSTOMIZE_COMMAND_ENV: "kubectl kustomize"}
    command = argocd.tool_command(environ, argocd.KUSTOMIZE_COMMAND_ENV, argocd.KUSTOMIZE_COMMAND)
    assert argocd.kustomize_argv(command) == ["kubectl", "kustomize", "."]


def test_flatten_lists_unpacks_items_and_keeps_other_documents_byte_for_byte() -> None:
    stream = (
        "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
        "---\napiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"
    )
    out = argocd.flatten_lists(stream)
    assert out.startswith(
        "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
    )
    assert "kind: List" not in out
    assert out.count("kind: ConfigMap") == 3
    assert argocd.flatten_lists("kind: ConfigMapList_not\n") == "kind: ConfigMapList_not\n"
