"""inject(): the pod contract (docs/annotations.md), on one object at a time."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from testkit.pod_security import violations
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_TARGET_PATH,
    PROJECTED_TOKEN_DIR,
    PROJECTED_TOKEN_PATH,
)
from transformer.options import Options
from transformer.pod.facts import StreamFacts
from transformer.pod.inject import find_pod_templates, inject
from transformer.yaml import kube, roundtrip

P = "vault.hashicorp.com/"
OPTIONS = Options(vault_addr="https://vault.example:8200")
AGENT_CONFIG_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "agent-config.schema.json").read_text()
)


def deployment(annotations: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "api",
                "image": "registry.example/api:1",
                "args": ["--listen", ":8080"],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    pod_spec.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "prod"},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        P + "agent-inject": "true",
                        P + "agent-run-as-sidecar": "false",
                        P + "role": "api",
                        P + "agent-exec-command": "/server",
                        P + "agent-inject-secret-config.env": "secret/data/app",
                        **(annotations or {}),
                    }
                },
                "spec": pod_spec,
            }
        },
    }


def pod_spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def config_of(container: dict[str, Any]) -> dict[str, Any]:
    [value] = [e["value"] for e in container["env"] if e["name"] == CONFIG_ENV_VAR]
    config: dict[str, Any] = json.loads(value)
    return config


def test_pod_contract() -> None:
    obj = deployment()
    findings = inject(obj, OPTIONS)
    assert findings.problems == []
    assert findings.changed
    template = obj["spec"]["template"]
    assert template["metadata"]["annotations"][P + "agent-inject-status"] == "injected"
    spec = template["spec"]
    install = spec["initContainers"][0]
    assert install["name"] == "vault-exec-install"
    assert install["image"] == OPTIONS.agent_image
    assert install["command"] == [AGENT_EXECUTABLE, "install", INSTALL_TARGET_PATH]
    assert install["volumeMounts"] == [
        {"name": "vault-exec-agent", "mountPath": INSTALL_TARGET_PATH}
    ]
    assert set(install["resources"]) == {"requests", "limits"}
    assert {"name": "vault-exec-agent", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]
    [app] = spec["containers"]
    assert app["command"] == [AGENT_EXECUTABLE, "run", "--", "/server"]
    assert app["args"] == ["--listen", ":8080"]
    assert {"name": "vault-exec-agent", "mountPath": BUNDLE_MOUNT_PATH, "readOnly": True} in app[
        "volumeMounts"
    ]
    assert list(app)[:3] == ["name", "image", "command"]  # where a reader looks for it


def test_agent_config_matches_its_schema_and_holds_no_value() -> None:
    obj = deployment(
        {
            P + "auth-type": "jwt",
            P + "namespace": "team",
            P + "ca-cert": "/ca.pem",
            P + "tls-server-name": "vault",
            P + "tls-skip-verify": "false",
            P + "client-max-retries": "2",
            P + "client-timeout": "30s",
            P + "agent-inject-token": "true",
            P + "agent-inject-template-config.env": '{{ with secret "secret/data/app" }}{{ end }}',
        }
    )
    permissive = replace(
        OPTIONS,
        allowed_auth_paths=("auth/jwt",),
        allowed_vault_namespaces=("team",),
        allowed_ca_certs=("/ca.pem",),
        allowed_tls_server_names=("vault",),
    )
    assert not inject(obj, permissive).problems
    config = config_of(pod_spec_of(obj)["containers"][0])
    Draft202012Validator(AGENT_CONFIG_SCHEMA).validate(config)
    assert config == {
        "version": 1,
        "vault": {
            "address": "https://vault.example:8200",
            "namespace": "team",
            "ca_cert": "/ca.pem",
            "tls_server_name": "vault",
            "tls_skip_verify": False,
        },
        "auth": {"method": "jwt", "mount_path": "auth/jwt", "role": "api"},
        "retry": {"timeout_seconds": 30.0, "max_retries": 2},
        "token": {"to_app": True},
        "templates": [
            {
                "name": "config.env",
                "path": "secret/data/app",
                "template": '{{ with secret "secret/data/app" }}{{ end }}',
            }
        ],
    }


@pytest.mark.parametrize(
    ("mode", "written"), [("auto", None), ("inline", "inline"), ("standard", "standard")]
)
def test_the_platform_auth_mode_reaches_the_agent_config(mode: str, written: str | None) -> None:
    obj = deployment()
    inject(obj, Options(vault_addr="http://127.0.0.1:8200", auth_mode=mode))
    config = config_of(pod_spec_of(obj)["containers"][0])
    Draft202012Validator(AGENT_CONFIG_SCHEMA).validate(config)
    assert config["auth"].get("mode") == written  # auto is the agent's default: not written


def test_minimal_config_matches_its_schema() -> None:
    obj = deployment()
    inject(obj, Options(vault_addr="http://127.0.0.1:8200", auth_path="auth/k8s"))
    config = config_of(pod_spec_of(obj)["containers"][0])
    Draft202012Validator(AGENT_CONFIG_SCHEMA).validate(config)
    assert config["auth"] == {"method": "kubernetes", "mount_path": "auth/k8s", "role": "api"}


def test_output_is_restricted_whenever_input_was() -> None:
    obj = deployment()
    assert violations(pod_spec_of(obj)) == set()
    inject(obj, OPTIONS)
    assert violations(pod_spec_of(obj)) == set()


def test_init_container_settings_from_annotations() -> None:
    obj = deployment(
        {
            P + "agent-image": "mirror.example/agent:1",
            P + "agent-requests-cpu": "5m",
            P + "agent-limits-mem": "1Gi",
            P + "agent-run-as-user": "1234",
            P + "agent-run-as-group": "4321",
        },
        initContainers=[{"name": "wait", "image": "wait:1"}],
    )
    assert not inject(
        obj, replace(OPTIONS, allowed_agent_images=("mirror.example/agent:1",))
    ).problems
    install, wait = pod_spec_of(obj)["initContainers"]
    assert wait["name"] == "wait"
    assert install["image"] == "mirror.example/agent:1"
    assert install["resources"]["requests"]["cpu"] == "5m"
    assert install["resources"]["limits"]["memory"] == "1Gi"
    assert (install["securityContext"]["runAsUser"], install["securityContext"]["runAsGroup"]) == (
        1234,
        4321,
    )
    assert install["securityContext"]["runAsNonRoot"] is True


def test_projected_token_only_without_automount_and_only_in_injected_containers() -> None:
    obj = deployment(
        {P + "agent-inject-containers": "api"},
        automountServiceAccountToken=False,
        containers=[
            {"name": "api", "image": "a", "command": ["/server"]},
            {"name": "proxy", "image": "p"},
        ],
    )
    inject(obj, Options(vault_addr="https://v:8200", token_audience="https://v"))
    spec = pod_spec_of(obj)
    [token] = [v for v in spec["volumes"] if v["name"] == "vault-exec-token"]
    source = token["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == "https://v"
    assert f"{PROJECTED_TOKEN_DIR}/{source['path']}" == PROJECTED_TOKEN_PATH
    api, proxy = spec["containers"]
    assert {"name": "vault-exec-token", "mountPath": PROJECTED_TOKEN_DIR, "readOnly": True} in api[
        "volumeMounts"
    ]
    assert config_of(api)["auth"]["token_path"] == PROJECTED_TOKEN_PATH
    assert proxy == {"name": "proxy", "image": "p"}  # not selected: untouched

    automounted = deployment()
    inject(automounted, OPTIONS)
    assert [v["name"] for v in pod_spec_of(automounted)["volumes"]] == ["vault-exec-agent"]
    assert "token_path" not in config_of(pod_spec_of(automounted)["containers"][0])["auth"]


def test_per_container_commands() -> None:
    obj = deployment(
        {P + "agent-exec-command-worker": "/worker -q 'a b'"},
        containers=[
            {"name": "api", "image": "a", "command": ["/server", "--x"]},
            {"name": "worker", "image": "w", "command": ["/ignored"]},
        ],
    )
    del obj["spec"]["template"]["metadata"]["annotations"][P + "agent-exec-command"]
    assert inject(obj, OPTIONS).problems == []
    api, worker = pod_spec_of(obj)["containers"]
    assert api["command"] == [AGENT_EXECUTABLE, "run", "--", "/server", "--x"]
    assert worker["command"] == [AGENT_EXECUTABLE, "run", "--", "/worker", "-q", "a b"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda o: o["spec"]["template"]["metadata"]["annotations"].pop(P + "agent-exec-command"),
         "has no command to exec"),
        (lambda o: pod_spec_of(o).update(volumes=[{"name": "vault-exec-agent", "emptyDir": {}}]),
         "already has a volume named 'vault-exec-agent'"),
        (lambda o: pod_spec_of(o).update(initContainers=[{"name": "vault-exec-install"}]),
         "already has an init container"),
        (lambda o: pod_spec_of(o)["containers"][0].update(env=[{"name": CONFIG_ENV_VAR}]),
         f"already sets {CONFIG_ENV_VAR}"),
        (lambda o: pod_spec_of(o).update(containers=[]), "no containers"),
        (lambda o: o["spec"]["template"]["metadata"]["annotations"].update(
            {P + "service": "https://elsewhere"}), "not an allowed Vault address"),
        (lambda o: o["spec"]["template"]["metadata"]["annotations"].update(
            {P + "agent-inject-containers": "nope"}), "'nope', which is not a container"),
        (lambda o: o["spec"]["template"]["metadata"]["annotations"].update(
            {P + "agent-exec-command-nope": "/x"}), "'nope' is not an injected container"),
    ],
)  # fmt: skip
def test_problems_leave_the_object_as_it_was(change: Any, expected: str) -> None:
    obj = deployment()
    change(obj)
    before = copy.deepcopy(obj)
    findings = inject(obj, OPTIONS)
    assert not findings.changed
    assert any(expected in p.message for p in findings.problems), findings.problems
    assert obj == before
    assert all(p.resource is not None and p.resource.name == "api" for p in findings.problems)


def test_problem_paths_point_into_the_document() -> None:
    obj = deployment({P + "rol": "x"})
    [problem] = inject(obj, OPTIONS).problems
    assert problem.path == ("spec", "template", "metadata", "annotations", P + "rol")


def test_no_vault_address_at_all() -> None:
    [problem] = inject(deployment(), Options()).problems
    assert "no Vault address" in problem.message


def test_allowed_service_address() -> None:
    obj = deployment({P + "service": "https://eu.example:8200/"})
    options = Options(
        vault_addr="https://vault.example:8200", allowed_vault_addrs=("https://eu.example:8200",)
    )
    assert inject(obj, options).problems == []
    assert (
        config_of(pod_spec_of(obj)["containers"][0])["vault"]["address"]
        == "https://eu.example:8200"
    )


def test_already_injected_and_opted_out_are_untouched() -> None:
    for extra in ({P + "agent-inject-status": "injected"}, {P + "agent-inject": "false"}):
        obj = deployment(extra)
        before = copy.deepcopy(obj)
        findings = inject(obj, OPTIONS)
        assert (findings.changed, findings.problems, obj) == (False, [], before)


def test_inject_twice_changes_nothing_the_second_time() -> None:
    obj = deployment()
    inject(obj, OPTIONS)
    once = copy.deepcopy(obj)
    assert not inject(obj, OPTIONS).changed
    assert obj == once


def test_skip_hooks() -> None:
    obj = deployment()
    obj["metadata"]["annotations"] = {"helm.sh/hook": "pre-install"}
    before = copy.deepcopy(obj)
    assert not inject(obj, Options(vault_addr="https://v", skip_hooks=True)).changed
    assert obj == before
    assert inject(obj, OPTIONS).changed


def test_works_on_ruamel_round_trip_maps_and_keeps_comments() -> None:
    text = kube.dump_document(deployment()).replace(
        "kind: Deployment\n", "kind: Deployment  # the app\n"
    )
    document = roundtrip.load_roundtrip(text)
    assert inject(document, OPTIONS).changed
    out = roundtrip.dump_roundtrip(document)
    assert "kind: Deployment  # the app" in out
    assert kube.load_document(out)["spec"]["template"]["spec"]["containers"][0]["command"][0] == (
        AGENT_EXECUTABLE
    )


def test_find_pod_templates_re_export() -> None:
    [(path, template)] = list(find_pod_templates(deployment()))
    assert path == ("spec", "template")
    assert "spec" in template


def test_service_account_without_automount_gets_a_projected_token() -> None:
    """The kubelet mounts no token when the pod's ServiceAccount says so."""
    tokenless = StreamFacts(frozenset({("prod", "api")}))
    obj = deployment(serviceAccountName="api")
    inject(obj, OPTIONS, tokenless)
    assert "vault-exec-token" in [v["name"] for v in pod_spec_of(obj)["volumes"]]

    other = deployment(serviceAccountName="other")
    inject(other, OPTIONS, tokenless)
    assert "vault-exec-token" not in [v["name"] for v in pod_spec_of(other)["volumes"]]

    # The pod's own automountServiceAccountToken: true wins over its ServiceAccount's.
    overridden = deployment(serviceAccountName="api", automountServiceAccountToken=True)
    inject(overridden, OPTIONS, tokenless)
    assert "vault-exec-token" not in [v["name"] for v in pod_spec_of(overridden)["volumes"]]


def test_exec_mode_in_an_unsupported_kind_is_an_error() -> None:
    clone_set = deployment()
    clone_set["apiVersion"] = "apps.kruise.io/v1alpha1"
    clone_set["kind"] = "CloneSet"
    before = copy.deepcopy(clone_set)
    [problem] = inject(clone_set, OPTIONS).problems
    assert "cannot inject CloneSet (apps.kruise.io/v1alpha1)" in problem.message
    assert problem.path == ("spec", "template", "metadata", "annotations", P + "agent-inject")
    assert clone_set == before
    # Sidecar mode there is a cluster webhook's business: not ours to refuse.
    del clone_set["spec"]["template"]["metadata"]["annotations"][P + "agent-run-as-sidecar"]
    assert inject(clone_set, OPTIONS).problems == []


def test_annotations_on_the_workload_instead_of_its_pod_template() -> None:
    obj = deployment()
    annotations = obj["spec"]["template"]["metadata"].pop("annotations")
    obj["metadata"]["annotations"] = annotations
    [problem] = inject(obj, OPTIONS).problems
    assert "belong on its pod template (spec.template.metadata.annotations" in problem.message
    assert problem.path == ("metadata", "annotations", P + "agent-inject")
    # On both is fine: the pod template decides.
    obj["spec"]["template"]["metadata"]["annotations"] = dict(annotations)
    assert inject(obj, OPTIONS).problems == []


def test_skip_hooks_covers_unsupported_kinds_too() -> None:
    hook = deployment()
    hook["apiVersion"], hook["kind"] = "apps.kruise.io/v1alpha1", "CloneSet"
    hook["metadata"]["annotations"] = {"helm.sh/hook": "test"}
    assert inject(hook, Options(vault_addr="https://v", skip_hooks=True)).problems == []
    assert inject(hook, OPTIONS).problems
