"""Annotations: schema, decisions, did-you-mean, parsing into a request."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from transformer.pod import annotations as ann
from transformer.pod import schema as schema_module
from transformer.pod import values
from transformer.pod.annotations import Decision, decide, did_you_mean, parse

P = "vault.hashicorp.com/"

SEED = {
    P + "agent-inject": "true",
    P + "agent-run-as-sidecar": "false",
    P + "role": "api",
    P + "agent-exec-command": "/server",
    P + "agent-inject-secret-config.env": "secret/data/spitikos/api",
    P + "agent-inject-template-config.env": (
        '{{- with secret "secret/data/spitikos/api" -}}\n'
        "{{- range $key, $value := .Data.data }}\n{{ $key }}={{ $value }}\n{{- end }}\n"
        "{{- end }}\n"
    ),
}

#: Every annotation the issue lists as meaningful in exec mode.
ISSUE_ANNOTATIONS = [
    "agent-inject",
    "agent-run-as-sidecar",
    "role",
    "agent-exec-command",
    "auth-type",
    "auth-path",
    "namespace",
    "service",
    "ca-cert",
    "tls-skip-verify",
    "tls-server-name",
    "agent-image",
    "agent-inject-containers",
    "agent-requests-cpu",
    "agent-requests-mem",
    "agent-limits-cpu",
    "agent-limits-mem",
    "agent-run-as-user",
    "agent-run-as-group",
    "client-max-retries",
    "client-timeout",
    "agent-inject-token",
    "preserve-secret-case",
    "agent-inject-status",
]


def with_(**changes: Any) -> dict[str, Any]:
    annotations = dict(SEED)
    for name, value in changes.items():
        key = P + name.replace("_", "-")
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    return annotations


def messages(annotations: dict[str, Any]) -> list[str]:
    request, problems = parse(annotations)
    assert request is None
    return [problem.message for problem in problems]


def test_schema_is_valid_draft_2020_12() -> None:
    schema = schema_module.annotation_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", ISSUE_ANNOTATIONS)
def test_schema_covers_the_issue_list(name: str) -> None:
    assert P + name in schema_module.annotation_schema()["properties"]


def test_schema_pattern_properties() -> None:
    validator = Draft202012Validator(schema_module.annotation_schema())
    good = {
        P + "agent-inject-secret-db": "database/creds/app",
        P + "agent-inject-template-db": "{{ . }}",
        P + "agent-exec-command-worker": "/worker",
        "prometheus.io/port": "9898",
    }
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({P + "nonsense": "x"}))


@pytest.mark.parametrize(
    ("annotations", "decision"),
    [
        ({}, Decision.SKIP),
        ({P + "agent-inject": "false"}, Decision.SKIP),
        ({P + "agent-inject": "0"}, Decision.SKIP),
        ({P + "agent-inject": False}, Decision.SKIP),
        ({P + "role": "x"}, Decision.SKIP),
        ({P + "agent-inject": "true"}, Decision.INJECT),
        ({P + "agent-inject": "ture"}, Decision.INJECT),  # reported, not skipped
        ({P + "agent-inject": True}, Decision.INJECT),
        (
            {P + "agent-inject": "true", P + "agent-inject-status": "injected"},
            Decision.ALREADY_INJECTED,
        ),
    ],
)
def test_decide(annotations: dict[str, Any], decision: Decision) -> None:
    assert decide(annotations) is decision


def test_seed_annotations_parse() -> None:
    request, problems = parse(SEED)
    assert problems == []
    assert request is not None
    assert request.role == "api"
    assert request.exec_command == ("/server",)
    assert request.containers is None
    assert [(s.name, s.path) for s in request.secrets] == [
        ("config.env", "secret/data/spitikos/api")
    ]
    assert request.secrets[0].template == SEED[P + "agent-inject-template-config.env"]


def test_every_option_parses() -> None:
    request, problems = parse(
        with_(
            auth_type="jwt",
            auth_path="/auth/jwt/",
            namespace="team",
            service="https://vault:8200/",
            ca_cert="/ca.pem",
            tls_skip_verify="True",
            tls_server_name="vault.internal",
            agent_image="img:1",
            agent_inject_containers=" api , worker,api",
            agent_requests_cpu="10m",
            agent_requests_mem="8Mi",
            agent_limits_cpu="0.5",
            agent_limits_mem="1Gi",
            agent_run_as_user="1000",
            agent_run_as_group="0",
            client_max_retries="0",
            client_timeout="2m5s",
            agent_inject_token="true",
            agent_exec_command="/server --name 'two words'",
        )
    )
    assert problems == []
    assert request is not None
    assert request.auth_type == "jwt"
    assert request.auth_path == "auth/jwt"
    assert request.service == "https://vault:8200"
    assert request.tls_skip_verify is True
    assert request.containers == ("api", "worker")
    assert (request.run_as_user, request.run_as_group) == (1000, 0)
    assert (request.max_retries, request.timeout_seconds) == (0, 125.0)
    assert request.token_to_app is True
    assert request.exec_command == ("/server", "--name", "two words")


def test_sidecar_mode_is_refused_with_the_fix() -> None:
    for value in (None, "true"):
        [message] = messages(with_(agent_run_as_sidecar=value))
        assert 'vault.hashicorp.com/agent-run-as-sidecar: "false"' in message
        assert "exec mode" in message


def test_a_misspelt_run_as_sidecar_is_a_value_error_not_sidecar_mode() -> None:
    [message] = messages(with_(agent_run_as_sidecar="flase"))
    assert message.startswith(f'{P}agent-run-as-sidecar: "flase" is not "false"')


def test_sidecar_only_and_unsupported_annotations() -> None:
    found = messages(
        with_(
            agent_pre_populate="false",
            agent_cache_enable="true",
            **{"agent-inject-command-config.env": "kill -HUP 1"},
            tls_secret="vault-tls",
        )
    )
    assert sum("only makes sense for a Vault Agent sidecar" in m for m in found) == 3
    assert any("tls-secret is not supported by vault-exec" in m for m in found)


def test_template_file_is_sidecar_only_not_a_template() -> None:
    [message] = messages(with_(**{"agent-inject-template-file-config.env": "/tmpl"}))
    assert "only makes sense for a Vault Agent sidecar" in message


def test_unknown_annotations_suggest_the_closest() -> None:
    found = messages(with_(rol="api", **{"agent-inject-secrets-db": "db/creds/x"}, xyzzy="1"))
    assert f"unknown annotation {P}rol; did you mean {P}role?" in found
    assert (
        f"unknown annotation {P}agent-inject-secrets-db; did you mean {P}agent-inject-secret-db?"
        in found
    )
    assert f"unknown annotation {P}xyzzy" in found


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("agnet-inject", "agent-inject"),
        ("agent-exec-comand", "agent-exec-command"),
        ("agent-exec-comand-worker", "agent-exec-command-worker"),
        ("agent-inject-templat-db", "agent-inject-template-db"),
        ("agent-limit-cpu", "agent-limits-cpu"),
        ("tls-skip-verfy", "tls-skip-verify"),
    ],
)
def test_did_you_mean(typo: str, suggestion: str) -> None:
    assert did_you_mean(P + typo) == P + suggestion


def test_did_you_mean_stays_quiet_when_nothing_is_close() -> None:
    assert did_you_mean(P + "completely-different") is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("agent-limits-cpu", "lots", '"lots" is not a CPU quantity'),
        ("agent-requests-mem", "64MB", '"64MB" is not a memory quantity'),
        ("agent-run-as-user", "0", "non-zero user ID"),
        ("auth-type", "ldap", '"ldap" is not "kubernetes" or "jwt"'),
        ("service", "vault:8200", "is not a Vault address"),
        ("client-timeout", "soon", "is not a duration"),
        ("tls-skip-verify", "yes", 'is not "true" or "false"'),
        ("agent-inject-containers", "Api", "comma-separated list of container names"),
        ("agent-inject-secret-x", "path with space", "is not a Vault secret path"),
        ("client-max-retries", 3, "must be a string: quote it"),
    ],
)
def test_bad_values(name: str, value: Any, expected: str) -> None:
    [message] = messages(with_(**{name: value}))
    assert message.startswith(P + name + ": ")
    assert expected in message


def test_template_without_secret_is_named() -> None:
    [message] = messages(with_(**{"agent-inject-template-db": "{{ . }}"}))
    assert "template 'db' has no matching secret" in message
    assert P + "agent-inject-secret-db" in message


def test_secret_names_are_lower_cased_unless_preserved() -> None:
    annotations = with_(**{"agent-inject-secret-DB": "database/creds/x"})
    request, _ = parse(annotations)
    assert request is not None
    assert [s.name for s in request.secrets] == ["config.env", "db"]
    request, _ = parse({**annotations, P + "preserve-secret-case": "true"})
    assert request is not None
    assert [s.name for s in request.secrets] == ["config.env", "DB"]
    clash = messages(with_(**{"agent-inject-secret-Config.env": "secret/other"}))
    assert any("already requested" in m for m in clash)


def test_missing_role_and_secrets_are_named() -> None:
    found = messages(
        {
            P + "agent-inject": "true",
            P + "agent-run-as-sidecar": "false",
            P + "agent-exec-command": "/x",
        }
    )
    assert any(f"missing {P}role" in m for m in found)
    assert any(f"add {P}agent-inject-secret-<name>" in m for m in found)


def test_unsplittable_exec_command() -> None:
    [message] = messages(with_(agent_exec_command="/server 'unclosed"))
    assert "cannot split" in message


def test_zero_timeout_is_refused() -> None:
    [message] = messages(with_(client_timeout="0s"))
    assert "must be more than 0" in message


def test_other_annotations_are_not_vault_execs_business() -> None:
    request, problems = parse({**SEED, "prometheus.io/port": 9898, "example.com/x": None})
    assert problems == []
    assert request is not None


def test_default_template_per_engine() -> None:
    kv2 = ann.default_template("secret/data/app/config")
    assert kv2 == (
        '{{ with secret "secret/data/app/config" }}{{ range $k, $v := .Data.data }}'
        "{{ $k }}={{ $v }}\n{{ end }}{{ end }}"
    )
    assert "range $k, $v := .Data }}" in ann.default_template("database/creds/app")
    assert "range $k, $v := .Data }}" in ann.default_template("kv1/data")  # no path below data/


def test_parse_duration_and_split_command() -> None:
    assert values.parse_duration("1h2m3s") == 3723.0
    assert values.parse_duration("250ms") == 0.25
    assert values.parse_duration("30") == 30.0
    assert values.split_command('/bin/app --flag="a b" c') == ("/bin/app", "--flag=a b", "c")


KEYS = st.sampled_from(
    [
        *(P + name for name in ISSUE_ANNOTATIONS),
        P + "agent-inject-secret-db",
        P + "agent-inject-template-db",
        P + "agent-inject-template-file-db",
        P + "agent-exec-command-worker",
        P + "agent-exec-command-Worker",
        P + "nonsense",
        "prometheus.io/port",
    ]
)
VALUES = st.one_of(
    st.sampled_from(
        ["true", "false", "True", "0", "injected", "api", "", " ", "250m", "64Mi", "1.5", "10001",
         "0", "1m30s", "https://vault:8200", "vault:8200", "/ca.pem", "a,b", "jwt", "kubernetes",
         "secret/data/x", "has space", "{{ . }}"]
    ),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_fast_path_agrees_with_jsonschema(annotations: dict[str, Any]) -> None:
    schema = schema_module.annotation_schema()
    assert schema_module.conforms(annotations, schema, schema) == Draft202012Validator(
        schema
    ).is_valid(annotations)


def test_fast_path_defers_on_unknown_keywords() -> None:
    root: dict[str, Any] = {}
    assert schema_module.conforms("x", {"minLength": 2}, root) is None
    assert schema_module.conforms("x", {"type": ["string", "null"]}, root) is None
    assert schema_module.conforms("x", {"type": "string", "description": "d"}, root) is True
