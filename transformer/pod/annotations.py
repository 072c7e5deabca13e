"""Pod template annotations: decide, validate, and parse into an InjectionRequest.

The schema (schemas/pod-annotations.schema.json) is the definition of what a
chart author may write; this module adds what a schema says badly: did-you-mean
for misspelt names, a clear word for sidecar-only annotations, and the
cross-field rules (a template needs its secret, a role is required).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from transformer.pod import schema, values
from transformer.problems import shown

PREFIX = "vault.hashicorp.com/"
INJECT = PREFIX + "agent-inject"
STATUS = PREFIX + "agent-inject-status"
RUN_AS_SIDECAR = PREFIX + "agent-run-as-sidecar"
ROLE = PREFIX + "role"
SERVICE = PREFIX + "service"
NAMESPACE = PREFIX + "namespace"
AUTH_PATH = PREFIX + "auth-path"
AUTH_TYPE = PREFIX + "auth-type"
AGENT_IMAGE = PREFIX + "agent-image"
CA_CERT = PREFIX + "ca-cert"
TLS_SKIP_VERIFY = PREFIX + "tls-skip-verify"
TLS_SERVER_NAME = PREFIX + "tls-server-name"
CONTAINERS = PREFIX + "agent-inject-containers"
SECRET_PREFIX = PREFIX + "agent-inject-secret-"
TEMPLATE_PREFIX = PREFIX + "agent-inject-template-"
EXEC_COMMAND = PREFIX + "agent-exec-command"
EXEC_COMMAND_PREFIX = EXEC_COMMAND + "-"
INJECTED = "injected"

#: client-timeout bounds the agent's whole start-up; past an hour it bounds nothing.
MAX_CLIENT_TIMEOUT_SECONDS = 3600
#: The largest value each numeric annotation may take (the schema checks the digits).
INT_MAXIMA = {
    "client-max-retries": 100,
    "agent-run-as-user": 2**31 - 1,  # Kubernetes' and Linux's range for IDs
    "agent-run-as-group": 2**31 - 1,
}

TRUE_VALUES = frozenset({"1", "t", "T", "TRUE", "true", "True"})
FALSE_VALUES = frozenset({"0", "f", "F", "FALSE", "false", "False"})

#: Upstream injector annotations that configure the Vault Agent *sidecar*
#: (its files, cache, lifecycle, templates re-rendered while running). In exec
#: mode the agent is gone once the app starts, so they cannot mean anything.
SIDECAR_ONLY = frozenset(
    PREFIX + name
    for name in (
        "agent-pre-populate",
        "agent-pre-populate-only",
        "agent-init-first",
        "agent-cache-enable",
        "agent-cache-use-auto-auth-token",
        "agent-cache-listener-port",
        "agent-cache-exit-on-err",
        "agent-cache-persist",
        "agent-revoke-on-shutdown",
        "agent-revoke-grace",
        "agent-enable-quit",
        "agent-share-process-namespace",
        "agent-copy-volume-mounts",
        "agent-run-as-same-user",
        "agent-set-security-context",
        "agent-limits-ephemeral",
        "agent-requests-ephemeral",
        "agent-configmap",
        "agent-extra-secret",
        "agent-json-patch",
        "agent-init-json-patch",
        "agent-service-account-token-volume-name",
        "agent-inject-default-template",
        "agent-auto-auth-exit-on-err",
        "agent-disable-idle-connections",
        "agent-disable-keep-alives",
        "secret-volume-path",
        "template-static-secret-render-interval",
        "template-max-connections-per-host",
        "template-config-exit-on-retry-failure",
        "log-level",
        "log-format",
        "go-max-procs",
        "proxy-address",
        "agent-auth-min-backoff",
        "agent-auth-max-backoff",
    )
)
SIDECAR_ONLY_PREFIXES = tuple(
    PREFIX + name
    for name in (
        "agent-inject-command-",
        "agent-inject-file-",
        "agent-inject-perms-",
        "agent-inject-template-file-",
        "agent-telemetry-",
    )
)
#: Upstream annotations that could mean something in exec mode but that
#: vault-exec does not implement: refused rather than silently ignored.
UNSUPPORTED = frozenset(
    PREFIX + name for name in ("tls-secret", "ca-key", "client-cert", "client-key")
)
UNSUPPORTED_PREFIXES = (PREFIX + "auth-config-",)

#: The name forms with a user-chosen suffix, for did-you-mean.
PATTERN_PREFIXES = (SECRET_PREFIX, TEMPLATE_PREFIX, EXEC_COMMAND_PREFIX)


class Decision(Enum):
    """What to do with one pod template."""

    SKIP = "skip"  # no agent-inject, or agent-inject false: byte for byte
    ALREADY_INJECTED = "already-injected"  # agent-inject-status: injected
    INJECT = "inject"  # validate, then rewrite


@dataclass(frozen=True)
class AnnotationProblem:
    """A problem with one annotation (``key``), or with the set (key None)."""

    message: str
    key: str | None = None


@dataclass(frozen=True)
class SecretRequest:
    name: str  # <name> of agent-inject-secret-<name>, lower-cased unless preserve-secret-case
    path: str
    template: str


@dataclass(frozen=True)
class InjectionRequest:
    """Everything the annotations of one opted-in pod template ask for."""

    role: str
    secrets: tuple[SecretRequest, ...]
    auth_type: str | None = None
    auth_path: str | None = None
    namespace: str | None = None
    service: str | None = None
    ca_cert: str | None = None
    tls_skip_verify: bool | None = None
    tls_server_name: str | None = None
    agent_image: str | None = None
    containers: tuple[str, ...] | None = None  # None: every container
    requests_cpu: str | None = None
    requests_mem: str | None = None
    limits_cpu: str | None = None
    limits_mem: str | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    max_retries: int | None = None
    timeout_seconds: float | None = None
    token_to_app: bool = False
    exec_command: tuple[str, ...] | None = None
    exec_commands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def decide(annotations: Mapping[str, Any]) -> Decision:
    """Does this pod template opt in? (Validation comes after, for INJECT only.)

    Anything but a clear "false" in agent-inject counts as opting in, so that a
    typo such as ``"ture"`` is reported instead of silently skipped.
    """
    if annotations.get(STATUS) == INJECTED:
        return Decision.ALREADY_INJECTED
    value = annotations.get(INJECT)
    if value is None or value is False or (isinstance(value, str) and value in FALSE_VALUES):
        return Decision.SKIP
    return Decision.INJECT


def parse(
    annotations: Mapping[str, Any],
) -> tuple[InjectionRequest | None, list[AnnotationProblem]]:
    """Validate the annotations of a pod template that opted in and parse them.

    Returns the request, or None and at least one problem.
    """
    inject = annotations.get(INJECT)
    if not (inject is True or (isinstance(inject, str) and inject in TRUE_VALUES)):
        # A bad opt-in value is reported as what it is, before any talk of modes.
        explained = [problem for problem in _value_problems(annotations) if problem.key == INJECT]
        message = f"{INJECT}: {_described(inject)} is not true or false"
        return None, explained or [AnnotationProblem(message, INJECT)]
    given = annotations.get(RUN_AS_SIDECAR)
    if given is None or given is True or (isinstance(given, str) and given in TRUE_VALUES):
        where = RUN_AS_SIDECAR if given is not None else INJECT
        return None, [
            AnnotationProblem(
                "vault-exec only injects the agent in exec mode: add "
                f'{RUN_AS_SIDECAR}: "false" (sidecar mode is the Vault Agent Injector\'s job)',
                where,
            )
        ]
    problems = _name_problems(annotations)
    problems += _value_problems(annotations)
    if problems:
        return None, problems
    return _build(annotations)


def _name_problems(annotations: Mapping[str, Any]) -> list[AnnotationProblem]:
    problems = []
    for key in annotations:
        if not isinstance(key, str) or not key.startswith(PREFIX) or _is_known(key):
            continue
        if key in SIDECAR_ONLY or key.startswith(SIDECAR_ONLY_PREFIXES):
            message = (
                f"{key} only makes sense for a Vault Agent sidecar; "
                "vault-exec runs the agent in exec mode: remove it"
            )
        elif key in UNSUPPORTED or key.startswith(UNSUPPORTED_PREFIXES):
            message = f"{key} is not supported by vault-exec"
        else:
            message = f"unknown annotation {key}"
            suggestion = did_you_mean(key)
            if suggestion:
                message += f"; did you mean {suggestion}?"
        problems.append(AnnotationProblem(message, key))
    return problems


def _is_known(key: str) -> bool:
    root = schema.annotation_schema()
    if key in root["properties"]:
        return True
    return any(
        re.search(pattern, key)
        for pattern in root["patternProperties"]
        if pattern.startswith("^vault")
    )


def did_you_mean(key: str) -> str | None:
    """The known annotation closest to a misspelt ``key``, if any is close."""
    candidates = [name for name in schema.annotation_schema()["properties"] if name != STATUS]
    name = key[len(PREFIX) :]
    # agent-inject-secrets-db -> agent-inject-secret-db: try every pattern form
    # with the user's suffix cut after each of its dashes.
    cuts = [match.end() for match in re.finditer("-", name)]
    for pattern_prefix in PATTERN_PREFIXES:
        candidates += [pattern_prefix + name[cut:] for cut in cuts if name[cut:]]
    import difflib  # only a misspelt annotation pays for it

    # Compare without the shared prefix, or every name looks close to every other.
    names = [candidate[len(PREFIX) :] for candidate in candidates]
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return PREFIX + matches[0] if matches else None


def _value_problems(annotations: Mapping[str, Any]) -> list[AnnotationProblem]:
    subset = {key: value for key, value in annotations.items() if isinstance(key, str)}
    root = schema.annotation_schema()
    if schema.conforms(subset, root, root):
        return []
    problems: dict[str, AnnotationProblem] = {}
    for error in schema.validator().iter_errors(subset):
        if not error.path or error.validator == "additionalProperties":
            continue  # unknown names are reported by _name_problems, with a suggestion
        key = str(error.path[0])
        if key in problems:
            continue
        value = subset[key]
        if not isinstance(value, str):
            message = f"{key}: the value must be a string: quote it ({_described(value)})"
        else:
            subschema = error.schema if isinstance(error.schema, Mapping) else {}
            expected = schema.property_schema(key).get("description") or subschema.get(
                "description", "valid"
            )
            message = f"{key}: {_described(value)} is not {expected}"
        problems[key] = AnnotationProblem(message, key)
    return list(problems.values())


def _template_problems(
    templates: Mapping[str, str], keys: Mapping[str, str]
) -> list[AnnotationProblem]:
    """Each template parsed by the agent's own parser now, so a syntax error is a
    deploy-time problem at its annotation, not a crash-looping pod."""
    from transformer.agent.template import TemplateError, parse

    problems = []
    for name, text in templates.items():
        key = keys[name]
        try:
            template = parse(text, name)
        except TemplateError as error:
            problems.append(AnnotationProblem(f"{key}: the template does not parse: {error}", key))
            continue
        # What Go reports only once a branch runs (a wrong argument count, say) fails every
        # pod start that reaches it: as much a deploy-time problem as a syntax error.
        problems += [
            AnnotationProblem(f"{key}: the template cannot run: {error}", key)
            for error in template.problems()
        ]
    return problems


def _described(value: object) -> str:
    """A value for a message: a string quoted (and cut when long), anything else by kind."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float) and abs(value) < 2**63:
        return repr(value)
    kinds = {
        bytes: "binary data",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a mapping",
    }
    for kind, name in kinds.items():
        if isinstance(value, kind):
            return name
    return "a " + type(value).__name__.lower() if value is not None else "null"


def _bool(annotations: Mapping[str, Any], key: str) -> bool | None:
    value = annotations.get(PREFIX + key)
    return None if value is None else value in TRUE_VALUES


def _str(annotations: Mapping[str, Any], key: str) -> str | None:
    value = annotations.get(PREFIX + key)
    return value.strip() if isinstance(value, str) else None


def default_template(path: str) -> str:
    """Every key of the secret as one ``KEY=value`` line.

    A KV version 2 read (``<mount>/data/...``) holds the keys in ``.Data.data``;
    every other engine in ``.Data``. The newline is the template's own text, so
    the agent splits entries there and never inside a value.
    """
    parts = path.strip("/").split("/")
    data = ".Data.data" if len(parts) > 2 and parts[1] == "data" else ".Data"
    return (
        f"{{{{ with secret {json.dumps(path)} }}}}{{{{ range $k, $v := {data} }}}}"
        "{{ $k }}={{ $v }}\n{{ end }}{{ end }}"
    )


def _build(
    annotations: Mapping[str, Any],
) -> tuple[InjectionRequest | None, list[AnnotationProblem]]:
    problems: list[AnnotationProblem] = []
    preserve_case = bool(_bool(annotations, "preserve-secret-case"))

    def secret_name(key: str, prefix: str) -> str:
        name = key[len(prefix) :]
        return name if preserve_case else name.lower()

    paths: dict[str, str] = {}
    for key, value in annotations.items():
        if isinstance(key, str) and key.startswith(SECRET_PREFIX):
            name = secret_name(key, SECRET_PREFIX)
            if name in paths:
                problems.append(
                    AnnotationProblem(
                        f"{key}: a secret named {name!r} is already requested "
                        "(names are compared lower-cased unless preserve-secret-case)",
                        key,
                    )
                )
            paths[name] = value.strip().lstrip("/")
    templates: dict[str, str] = {}
    template_keys: dict[str, str] = {}
    for key, value in annotations.items():
        if isinstance(key, str) and key.startswith(TEMPLATE_PREFIX):
            name = secret_name(key, TEMPLATE_PREFIX)
            if name not in paths:
                problems.append(
                    AnnotationProblem(
                        f"{key}: template {name!r} has no matching secret: "
                        f"add {SECRET_PREFIX}{key[len(TEMPLATE_PREFIX) :]}",
                        key,
                    )
                )
            templates[name] = value
            template_keys[name] = key
    problems += _template_problems(templates, template_keys)
    if not paths:
        problems.append(
            AnnotationProblem(
                f"no secret requested: add {SECRET_PREFIX}<name> with a Vault path", INJECT
            )
        )
    role = _str(annotations, "role")
    if role is None:
        problems.append(
            AnnotationProblem(f"missing {ROLE}: the Vault role the pod logs in with", INJECT)
        )
    exec_command: tuple[str, ...] | None = None
    exec_commands: dict[str, tuple[str, ...]] = {}
    for key, value in annotations.items():
        if not isinstance(key, str) or not key.startswith(EXEC_COMMAND):
            continue
        try:
            words = values.split_command(value)
        except ValueError as error:
            problems.append(AnnotationProblem(f"{key}: cannot split {value!r}: {error}", key))
            continue
        if key == EXEC_COMMAND:
            exec_command = words
        else:
            exec_commands[key[len(EXEC_COMMAND_PREFIX) :]] = words
    timeout = _str(annotations, "client-timeout")
    timeout_seconds = None if timeout is None else values.parse_duration(timeout)
    if timeout_seconds is not None and not 0 < timeout_seconds <= MAX_CLIENT_TIMEOUT_SECONDS:
        problems.append(
            AnnotationProblem(
                f"{PREFIX}client-timeout: {_described(timeout)} must be more than 0 and at most "
                f"{MAX_CLIENT_TIMEOUT_SECONDS // 60} minutes (it bounds the whole pod start)",
                PREFIX + "client-timeout",
            )
        )
    numbers: dict[str, int | None] = {}
    for name, maximum in INT_MAXIMA.items():
        text = _str(annotations, name)
        number = int(text) if text is not None and len(text) <= len(str(maximum)) else None
        if text is not None and (number is None or number > maximum):
            problems.append(
                AnnotationProblem(
                    f"{PREFIX}{name}: {_described(text)} is more than {maximum}", PREFIX + name
                )
            )
        numbers[name] = number
    if problems or role is None:
        return None, problems
    containers = _str(annotations, "agent-inject-containers")
    service = _str(annotations, "service")
    auth_path = _str(annotations, "auth-path")
    return (
        InjectionRequest(
            role=role,
            secrets=tuple(
                SecretRequest(name, path, templates.get(name) or default_template(path))
                for name, path in paths.items()
            ),
            auth_type=_str(annotations, "auth-type"),
            auth_path=None if auth_path is None else auth_path.strip("/"),
            namespace=_str(annotations, "namespace"),
            service=None if service is None else service.rstrip("/"),
            ca_cert=_str(annotations, "ca-cert"),
            tls_skip_verify=_bool(annotations, "tls-skip-verify"),
            tls_server_name=_str(annotations, "tls-server-name"),
            agent_image=_str(annotations, "agent-image"),
            containers=None
            if containers is None
            else tuple(dict.fromkeys(name.strip() for name in containers.split(","))),
            requests_cpu=_str(annotations, "agent-requests-cpu"),
            requests_mem=_str(annotations, "agent-requests-mem"),
            limits_cpu=_str(annotations, "agent-limits-cpu"),
            limits_mem=_str(annotations, "agent-limits-mem"),
            run_as_user=numbers["agent-run-as-user"],
            run_as_group=numbers["agent-run-as-group"],
            max_retries=numbers["client-max-retries"],
            timeout_seconds=timeout_seconds,
            token_to_app=bool(_bool(annotations, "agent-inject-token")),
            exec_command=exec_command,
            exec_commands=exec_commands,
        ),
        [],
    )
