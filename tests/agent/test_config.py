"""The agent's hand-written config validator against the JSON Schema itself.

The agent must not import jsonschema (start-up cost), so the test proves that
``config_problems`` accepts exactly the documents jsonschema accepts: every
single-field mutation of valid configs, plus random documents of the right shape.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.agent.config import (
    ADDRESS_PATTERN,
    address_matches,
    config_problems,
    parse_config,
)
from transformer.agent.contract import DEFAULT_SA_TOKEN_PATH
from transformer.agent.errors import ConfigError

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "agent-config.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

MINIMAL: dict[str, Any] = {
    "version": 1,
    "vault": {"address": "http://127.0.0.1:8200"},
    "auth": {"method": "kubernetes", "role": "api"},
    "templates": [{"name": "config.env", "path": "secret/data/api", "template": ""}],
}
FULL: dict[str, Any] = {
    "version": 1,
    "vault": {
        "address": "https://vault.example:8200/prefix",
        "namespace": "team-a",
        "ca_cert": "/etc/ca.pem",
        "tls_server_name": "vault.internal",
        "tls_skip_verify": False,
    },
    "auth": {
        "method": "jwt",
        "mount_path": "auth/jwt-k8s",
        "role": "api",
        "token_path": "/var/run/secrets/vault-exec/token",
        "mode": "inline",
    },
    "retry": {"timeout_seconds": 2.5, "max_retries": 3},
    "token": {"revoke": False, "to_app": True},
    "templates": [
        {"name": "a", "path": "secret/data/a", "template": "{{ .Data }}"},
        {"name": "b", "path": "kv/b", "template": "X=1"},
    ],
}

# Values of every JSON type, including the edge cases JSON Schema treats specially.
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, 1.0, -1, 2.5, 0.0, 10**20, "", "x", "kubernetes", "token",
    "http://h", "https://h:1/p", "ftp://h", "http://", "http://a b", "http://h/\n", "http://h\n",
    [], [1], {}, {"a": 1},
]  # fmt: skip


def agree(doc: Any) -> None:
    schema_ok = VALIDATOR.is_valid(doc)
    problems = config_problems(doc)
    assert schema_ok == (not problems), (doc, problems)


def test_pattern_is_the_schemas() -> None:
    assert SCHEMA["properties"]["vault"]["properties"]["address"]["pattern"] == ADDRESS_PATTERN


@pytest.mark.parametrize("doc", [MINIMAL, FULL])
def test_valid_examples_are_valid(doc: dict[str, Any]) -> None:
    assert VALIDATOR.is_valid(doc)
    assert config_problems(doc) == []


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _mutations(base: dict[str, Any]) -> list[Any]:
    docs: list[Any] = []
    for path in _paths(base):
        if not path:
            continue
        for value in [*ODD_VALUES, "__delete__"]:
            doc = copy.deepcopy(base)
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            if value == "__delete__":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            docs.append(doc)
        # an unknown field next to each object's fields
        if isinstance(_at(base, path), dict):
            doc = copy.deepcopy(base)
            _at(doc, path)["surprise"] = 1
            docs.append(doc)
    for key in ("retry", "token", "vault", "auth"):
        for sub in ("timeout_seconds", "max_retries", "revoke", "to_app", "namespace", "method"):
            for value in ODD_VALUES:
                doc = copy.deepcopy(base)
                if isinstance(doc.get(key), dict):
                    doc[key][sub] = value
                else:
                    doc[key] = {sub: value}
                docs.append(doc)
    return docs


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def test_mutations_agree_with_jsonschema() -> None:
    docs = _mutations(MINIMAL) + _mutations(FULL) + ODD_VALUES
    valid = sum(VALIDATOR.is_valid(d) for d in docs)
    assert 0 < valid < len(docs)  # the walk covers both outcomes
    for doc in docs:
        agree(doc)


def test_role_rule_follows_method() -> None:
    for method in ("kubernetes", "jwt", "token", "other"):
        doc = copy.deepcopy(MINIMAL)
        doc["auth"] = {"method": method}
        agree(doc)
    doc = copy.deepcopy(MINIMAL)
    doc["auth"] = {"method": "token"}
    assert config_problems(doc) == []


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["", "kubernetes", "jwt", "token", "x", "http://h:8200", "https://v/p", "h"]),
)  # fmt: skip
fields = st.sampled_from(
    ["version", "vault", "auth", "retry", "token", "templates", "address", "namespace",
     "ca_cert", "tls_server_name", "tls_skip_verify", "method", "mount_path", "role",
     "token_path", "timeout_seconds", "max_retries", "revoke", "to_app", "name", "path",
     "template", "other"]
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fields, inner, max_size=5),
    max_leaves=12,
)


def _shaped() -> st.SearchStrategy[dict[str, Any]]:
    """Documents close to valid so that both outcomes are common."""
    obj = st.dictionaries(fields, json_values, max_size=3)
    return st.fixed_dictionaries(
        {
            "version": st.sampled_from([1, 1.0, 2, "1", True]),
            "vault": st.fixed_dictionaries(
                {"address": st.sampled_from(["http://h:1", "https://h/p", "h", 1])},
                optional={
                    "namespace": json_scalars,
                    "tls_skip_verify": json_scalars,
                    "ca_cert": json_scalars,
                },
            ),
            "auth": st.fixed_dictionaries(
                {},
                optional={
                    "method": st.sampled_from(["kubernetes", "jwt", "token", "x", 1]),
                    "mode": st.sampled_from(["auto", "inline", "standard", "fast", None]),
                    "role": json_scalars,
                    "mount_path": json_scalars,
                },
            ),
            "templates": st.lists(
                st.fixed_dictionaries(
                    {"name": json_scalars, "path": json_scalars, "template": json_scalars}
                )
                | obj,
                max_size=2,
            ),
        },
        optional={
            "retry": st.dictionaries(
                st.sampled_from(["timeout_seconds", "max_retries", "x"]), json_scalars
            ),
            "token": st.dictionaries(st.sampled_from(["revoke", "to_app", "x"]), json_scalars),
        },
    )


@settings(max_examples=400, deadline=None)
@given(_shaped())
def test_random_shaped_documents_agree(doc: dict[str, Any]) -> None:
    agree(doc)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_documents_agree(doc: Any) -> None:
    agree(doc)


def test_parse_applies_defaults() -> None:
    config = parse_config(json.dumps(MINIMAL), "test")
    assert config.auth.mount_path == "auth/kubernetes"
    assert config.auth.token_path == DEFAULT_SA_TOKEN_PATH
    assert config.auth.mode == "auto"
    assert config.retry.timeout_seconds == 60
    assert config.retry.max_retries == 10
    assert config.token.revoke is True
    assert config.token.to_app is False
    assert config.vault.namespace is None
    assert config.vault.tls_skip_verify is False
    assert [t.name for t in config.templates] == ["config.env"]


def test_parse_keeps_given_values() -> None:
    config = parse_config(json.dumps(FULL), "test")
    assert config.auth.mount_path == "auth/jwt-k8s"
    assert config.auth.mode == "inline"
    assert config.retry.timeout_seconds == 2.5
    assert config.retry.max_retries == 3
    assert config.token.to_app is True
    assert config.vault.tls_server_name == "vault.internal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config (VAULT_EXEC_CONFIG): not valid JSON: Expecting value: line 1 column 1"),
        ("[]", "config (VAULT_EXEC_CONFIG): (top level): must be an object"),
        (
            '{"version": 1, "vault": {"address": "http://h"}, "auth": {"method": "jwt"}, '
            '"templates": [], "retry": {"timeout_seconds": NaN}}',
            "config (VAULT_EXEC_CONFIG): not valid JSON: NaN is not allowed",
        ),
        (
            json.dumps({**MINIMAL, "vault": {"address": "vault:8200"}}),
            "config (VAULT_EXEC_CONFIG): vault.address: must be an http:// or https:// URL",
        ),
        (
            json.dumps({**MINIMAL, "auth": {"method": "jwt"}, "templates": []}),
            "config (VAULT_EXEC_CONFIG): auth.role: required for kubernetes and jwt auth"
            " (and 1 more)",
        ),
    ],
)
def test_bad_config_is_one_clear_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "VAULT_EXEC_CONFIG")
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "http:/", "ftp://", "", "HTTP://"]),
    st.text(alphabet="ab/:.\n \t\u00a0\u2028\x1c", max_size=12),
)
def test_address_check_is_the_schema_regex(prefix: str, rest: str) -> None:
    address = prefix + rest
    assert address_matches(address) == bool(re.search(ADDRESS_PATTERN, address)), repr(address)
