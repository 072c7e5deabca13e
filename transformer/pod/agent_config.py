"""The agent's JSON config, as the transformer writes it into the pod (pure).

Its schema is schemas/agent-config.schema.json (version: CONFIG_VERSION of the pod
contract); the agent reads it in transformer/agent/config.py. Never a secret value:
paths, templates, the role and the address only.
"""

from __future__ import annotations

import json
from typing import Any

from transformer.agent.contract import CONFIG_VERSION, PROJECTED_TOKEN_PATH
from transformer.options import Options
from transformer.pod import annotations as ann


def agent_config(
    request: ann.InjectionRequest, options: Options, address: str, projected_token: bool
) -> dict[str, Any]:
    """The agent's JSON config (schemas/agent-config.schema.json): never a secret value."""
    vault: dict[str, Any] = {"address": address}
    namespace = request.namespace if request.namespace is not None else options.vault_namespace
    if namespace:
        vault["namespace"] = namespace
    if request.ca_cert is not None:
        vault["ca_cert"] = request.ca_cert
    if request.tls_server_name is not None:
        vault["tls_server_name"] = request.tls_server_name
    if request.tls_skip_verify is not None:
        vault["tls_skip_verify"] = request.tls_skip_verify
    method = request.auth_type or options.auth_type
    mount_path = login_mount(request, options)
    auth: dict[str, Any] = {"method": method, "mount_path": mount_path, "role": request.role}
    if options.auth_mode != "auto":  # the agent's default
        auth["mode"] = options.auth_mode
    if projected_token:
        auth["token_path"] = PROJECTED_TOKEN_PATH
    config: dict[str, Any] = {"version": CONFIG_VERSION, "vault": vault, "auth": auth}
    retry: dict[str, Any] = {}
    if request.timeout_seconds is not None:
        retry["timeout_seconds"] = request.timeout_seconds
    if request.max_retries is not None:
        retry["max_retries"] = request.max_retries
    if retry:
        config["retry"] = retry
    if request.token_to_app:
        config["token"] = {"to_app": True}
    config["templates"] = [
        {"name": secret.name, "path": secret.path, "template": secret.template}
        for secret in request.secrets
    ]
    return config


def agent_config_json(config: dict[str, Any]) -> str:
    """The config as the env var's value: compact, UTF-8 kept as is."""
    return json.dumps(config, separators=(",", ":"), ensure_ascii=False)


def login_mount(request: ann.InjectionRequest, options: Options) -> str:
    """The auth mount the agent logs in at: the annotation's, else the platform's for the
    platform's method, else the method's default mount."""
    method = request.auth_type or options.auth_type
    if request.auth_path is not None:
        return request.auth_path
    if method == options.auth_type:
        return options.auth_path
    return f"auth/{method}"
