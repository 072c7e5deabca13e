"""The KRM function core: ResourceList in, ResourceList out, results per problem."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.frontends.cli import main
from transformer.frontends.krm import run_exec_plugin, run_function
from transformer.options import Options
from transformer.pipeline import render
from transformer.yaml import roundtrip

KEPT_ANNOTATIONS = {
    "config.kubernetes.io/index": "'0'",
    "config.kubernetes.io/path": "'apps/web.yaml'",
    "internal.config.kubernetes.io/index": "'0'",
    "internal.config.kubernetes.io/path": "'apps/web.yaml'",
    "internal.config.kubernetes.io/id": "'1'",
    "internal.config.kubernetes.io/seqindent": "'compact'",
    "config.k8s.io/id": "'1'",
}


def resource_list(pod_annotations: str, *, function_config: str = "", kind: str = "Pod") -> str:
    kept = "".join(f"      {k}: {v}\n" for k, v in KEPT_ANNOTATIONS.items())
    return (
        "apiVersion: config.kubernetes.io/v1\n"
        "kind: ResourceList\n"
        f"{function_config}"
        "items:\n"
        "- apiVersion: v1\n"
        "  kind: ConfigMap  # untouched\n"
        "  metadata:\n"
        "    name: settings\n"
        "    annotations:\n"
        "      config.kubernetes.io/index: '1'\n"
        "      internal.config.kubernetes.io/path: 'apps/web.yaml'\n"
        "      internal.config.kubernetes.io/index: '1'\n"
        "  data: {A: b}\n"
        "- apiVersion: v1\n"
        f"  kind: {kind}\n"
        "  metadata:\n"
        "    name: web  # the web pod\n"
        "    namespace: shop\n"
        "    annotations:\n"
        f"{kept}"
        "      kustomize.config.k8s.io/id: |\n"
        '        group: ""\n'
        "        kind: Pod\n"
        "        name: web\n"
        "        version: v1\n"
        f"{pod_annotations}"
        "  spec:\n"
        "    containers:\n"
        "    - name: web\n"
        "      image: example.invalid/web:1\n"
        "      command: [/web]\n"
    )


OPT_IN = (
    '      vault.hashicorp.com/agent-inject: "true"\n'
    '      vault.hashicorp.com/agent-run-as-sidecar: "false"\n'
    '      vault.hashicorp.com/role: "web"\n'
    '      vault.hashicorp.com/agent-inject-secret-config.env: "secret/data/web"\n'
)
PLATFORM = Options(vault_addr="https://vault.example:8200")


def load(text: str) -> Any:
    return roundtrip.load_roundtrip(text)


def test_opted_in_item_is_injected_and_every_orchestrator_annotation_kept() -> None:
    text = resource_list(OPT_IN)
    outcome = run_function(text, PLATFORM)
    assert not outcome.failed
    assert outcome.problems == []
    out = load(outcome.text)
    pod = out["items"][1]
    annotations = pod["metadata"]["annotations"]
    for key in KEPT_ANNOTATIONS:
        assert key in annotations
    assert annotations["kustomize.config.k8s.io/id"].startswith('group: ""\nkind: Pod')
    assert annotations["vault.hashicorp.com/agent-inject-status"] == "injected"
    assert pod["spec"]["containers"][0]["command"][:4] == [
        "/vault-exec/vault-exec-agent",
        "run",
        "--",
        "/web",
    ]
    assert pod["spec"]["initContainers"][0]["name"] == "vault-exec-install"
    # Comments survive the round trip; the other item is unchanged.
    assert "# the web pod" in outcome.text
    assert "kind: ConfigMap  # untouched" in outcome.text
    assert out["items"][0] == load(text)["items"][0]
    assert "results" not in out


def test_function_is_idempotent() -> None:
    once = run_function(resource_list(OPT_IN), PLATFORM).text
    assert run_function(once, PLATFORM).text == once


def test_function_config_spec_carries_the_platform_defaults() -> None:
    config = (
        "functionConfig:\n"
        "  apiVersion: vault-exec.dev/v1alpha1\n"
        "  kind: VaultExec\n"
        "  metadata: {name: vault-exec}\n"
        "  spec:\n"
        "    vaultAddr: https://vault.platform:8200\n"
        "    agentImage: registry.example/agent:9\n"
    )
    out = load(run_function(resource_list(OPT_IN, function_config=config), Options()).text)
    pod = out["items"][1]
    assert pod["spec"]["initContainers"][0]["image"] == "registry.example/agent:9"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert "https://vault.platform:8200" in env["VAULT_EXEC_CONFIG"]


def test_config_map_function_config_uses_data() -> None:
    config = (
        "functionConfig:\n"
        "  apiVersion: v1\n"
        "  kind: ConfigMap\n"
        "  metadata: {name: vault-exec}\n"
        "  data: {vaultAddr: 'https://vault.cm:8200', skipHooks: 'true'}\n"
    )
    outcome = run_function(resource_list(OPT_IN, function_config=config), Options())
    assert not outcome.failed
    assert "https://vault.cm:8200" in outcome.text


def test_bad_annotation_is_an_error_result_with_ref_field_and_file() -> None:
    outcome = run_function(resource_list(OPT_IN + '      vault.hashicorp.com/rol: "x"\n'), PLATFORM)
    assert outcome.failed
    results = load(outcome.text)["results"]
    assert len(results) == 1
    result = results[0]
    assert "vault.hashicorp.com/rol" in result["message"]
    assert "did you mean vault.hashicorp.com/role" in result["message"]
    assert result["severity"] == "error"
    assert dict(result["resourceRef"]) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web",
        "namespace": "shop",
    }
    assert result["field"]["path"] == "metadata.annotations[vault.hashicorp.com/rol]"
    assert dict(result["file"]) == {"path": "apps/web.yaml", "index": 0}
    assert outcome.problems[0].format().startswith("apps/web.yaml: unknown annotation")
    assert outcome.problems[0].rule == "annotation"


def test_bad_function_config_and_bad_input_fail_with_one_result() -> None:
    config = (
        "functionConfig:\n"
        "  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n"
        "  data: {vaultAdr: 'https://x'}\n"
    )
    outcome = run_function(resource_list(OPT_IN, function_config=config), PLATFORM)
    assert outcome.exit_code == 2  # a bad platform setting, like a bad flag
    assert "functionConfig: unknown setting 'vaultAdr'" in outcome.problems[0].message
    for bad in ("items: [", "apiVersion: v1\nkind: Pod\n", "- a\n"):
        outcome = run_function(bad, PLATFORM)
        assert outcome.exit_code == 1
        assert load(outcome.text)["kind"] == "ResourceList"


def test_exec_plugin_protocol_takes_a_stream_and_the_config_object() -> None:
    stream = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a  # keep me\n---\n"
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
        + OPT_IN.replace("      ", "    ")
        + "spec:\n  containers:\n  - name: web\n    image: x\n    command: [/web]\n"
    )
    config = "apiVersion: vault-exec.dev/v1alpha1\nkind: VaultExec\nspec:\n  vaultAddr: https://v.example\n"
    outcome = run_exec_plugin(stream + pod, config, Options())
    assert not outcome.failed
    documents = outcome.text.split("---\n")
    assert len(documents) == 2
    assert documents[0] == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a  # keep me\n"
    assert "https://v.example" in documents[1]
    bad = run_exec_plugin(pod.replace("role:", "rol:"), config, Options())
    assert bad.failed
    assert bad.text == ""
    assert bad.problems[0].format().startswith("-:8:5: unknown annotation vault.hashicorp.com/rol")


def test_cli_krm_reads_stdin_and_exits_1_on_error_results() -> None:
    runner = CliRunner()
    ok = runner.invoke(
        main, ["krm", "--vault-addr", PLATFORM.vault_addr], input=resource_list(OPT_IN)
    )
    assert ok.exit_code == 0
    assert load(ok.stdout)["kind"] == "ResourceList"
    bad_text = resource_list(OPT_IN + '      vault.hashicorp.com/rol: "x"\n')
    bad = runner.invoke(main, ["krm", "--vault-addr", PLATFORM.vault_addr], input=bad_text)
    assert bad.exit_code == 1
    assert "results:" in bad.stdout
    assert bad.stderr.startswith("apps/web.yaml: unknown annotation vault.hashicorp.com/rol;")


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda cut, extra: resource_list(OPT_IN)[:cut] + extra,
            st.integers(min_value=0, max_value=1200),
            st.text(max_size=20),
        ),
    )
)
def test_any_input_gives_a_resource_list_or_error_results_never_a_traceback(text: str) -> None:
    outcome = run_function(text, PLATFORM)
    assert outcome.text
    if outcome.failed:
        assert all(problem.message for problem in outcome.problems)
    plugin = run_exec_plugin(text, "spec: {}", PLATFORM)
    if plugin.failed:
        assert plugin.text == ""
    else:
        assert plugin.text == render(text, PLATFORM)[0]  # the render pipeline, exactly
