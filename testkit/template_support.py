"""What the template engine's tests share: canned Vault responses, an env, helpers.

Expected outputs are written by hand from the documentation: Go's text/template
package documentation (src/text/template/doc.go: actions, trim markers, pipelines,
variables, functions), fmt's (verbs, %v of floats/maps/slices), encoding/json's
(Marshal/MarshalIndent) and consul-template's docs/templating-language.md and
template/funcs.go (argument orders: contains needle haystack, replaceAll old new s,
split sep s, join sep list). Where the engine deliberately differs from Go (printing
nil is an error instead of "<no value>"; see the module docstring) the test says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from transformer.agent.template import TemplateError, parse

SEED = (
    '{{- with secret "secret/data/spitikos/api" -}}\n'
    "{{- range $key, $value := .Data.data }}\n"
    "{{ $key }}={{ $value }}\n"
    "{{- end }}\n"
    "{{- end }}\n"
)

PEM = "-----BEGIN KEY-----\nMIIBAAAA\nBBBB==\n-----END KEY-----\n"

SECRETS: dict[str, dict[str, Any]] = {
    "secret/data/app": {
        "request_id": "req-1",
        "lease_id": "",
        "lease_duration": 0,
        "renewable": False,
        "data": {
            "data": {
                "password": "s3cr3t",
                "user": "admin",
                "pem": PEM,
                "empty": "",
                "no_items": [],
                "port": 5432,
                "ratio": 1.5,
                "big": 1e21,
                "million": 1000000.0,
                "on": True,
                "off": False,
                "nothing": None,
                "tags": ["a", "b", "c"],
                "nums": [3, 1, 2],
                "nested": {"z": "last", "a": "first", "m": {"k": "v"}},
                "html": "<a&b>",
                "b64": "aGVsbG8gd29ybGQ=",
                "spaced": "  padded \n",
                "csv": "x,y,z",
                "unicode": "héllo wörld",
            },
            "metadata": {"version": 3},
        },
        "warnings": None,
    },
    "secret/data/spitikos/api": {
        "data": {"data": {"DB_URL": "postgres://u:p@h/db?x=1", "API_KEY": "k1"}, "metadata": {}}
    },
    "secret/kv1": {"data": {"b": "2", "a": "1"}, "lease_duration": 2764800},
    "database/creds/ro": {
        "lease_id": "database/creds/ro/abc",
        "lease_duration": 3600,
        "renewable": True,
        "data": {"username": "v-ro", "password": "pw-ro"},
    },
}


class FakeVault:
    """Stand-in for the agent's Vault reader: a dict of canned responses (the engine only
    sees the callable; the real client is tested against OpenBao elsewhere)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, path: str, args: list[str]) -> Mapping[str, Any]:
        self.calls.append((path, list(args)))
        if args:
            return {"data": {"path": path, "args": list(args)}, "lease_id": "w/1"}
        return SECRETS[path]


ENV = {"HOME": "/home/app", "EMPTY": "", "STAGE": "prod"}


def render(text: str, env: Mapping[str, str] = ENV) -> str:
    pieces = parse(text, "t").render(FakeVault(), env)
    return "".join(piece for piece, _ in pieces)


def pieces_of(text: str) -> list[tuple[str, bool]]:
    return parse(text, "t").render(FakeVault(), ENV)


def error_of(text: str) -> str:
    with pytest.raises(TemplateError) as caught:
        render(text)
    return str(caught.value)


S = '{{ with secret "secret/data/app" }}{{ with .Data.data }}'  # dot = the KV v2 data
E = "{{ end }}{{ end }}"
