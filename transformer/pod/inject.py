"""Rewrite one Kubernetes object so its opted-in pod templates run the agent first.

Pure: no I/O, no YAML. Works on plain dicts and on ruamel.yaml's CommentedMaps
alike (only MutableMapping/MutableSequence operations; what is added is plain
dicts and lists), so a comment-keeping front end can use it too.
"""

from __future__ import annotations

from collections.abc import (
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
)
from dataclasses import dataclass, field
from typing import Any

from transformer.agent.contract import (
    AGENT_VOLUME,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_CONTAINER,
    PROJECTED_TOKEN_DIR,
    TOKEN_VOLUME,
)
from transformer.options import Options, normalize_address
from transformer.pod import annotations as ann
from transformer.pod.agent_config import agent_config, agent_config_json, login_mount
from transformer.pod.facts import NO_FACTS, StreamFacts
from transformer.pod.kinds import (
    POD_TEMPLATE_PATHS,
    PodTemplate,
    find_unsupported_pod_templates,
    is_helm_hook,
)
from transformer.pod.kinds import find_pod_templates as _find
from transformer.pod.rewrite import Rewrite, install_container, volumes_and_mounts
from transformer.problems import ANNOTATION, INJECTION, PLATFORM, FieldPath, Problem, Resource

#: Linux's MAX_ARG_STRLEN: the longest one environment string (``NAME=value``, NUL
#: included) execve accepts; the agent config travels in one.
MAX_ENV_STRING_BYTES = 32 * 4096


@dataclass
class Findings:
    """What :func:`inject` did to one object."""

    changed: bool = False
    problems: list[Problem] = field(default_factory=list)


def find_pod_templates(obj: Any) -> Iterator[tuple[FieldPath, MutableMapping[str, Any]]]:
    """(path, pod template) for every supported kind in ``obj``, List items included."""
    for found in _find(obj):
        yield found.path, found.template


def inject(
    obj: MutableMapping[str, Any],
    options: Options,
    facts: StreamFacts = NO_FACTS,
) -> Findings:
    """Rewrite every opted-in pod template of ``obj`` in place, or report why not.

    All templates are checked before any is changed: with a problem, ``obj`` is
    left as it was. Problems carry a field path, not yet a line.
    ``facts`` are what the rest of the stream says (a ServiceAccount that turns the
    token automount off: its pods get a projected token too).
    """
    findings = Findings()
    plans = []
    seen: set[int] = set()
    for found in (*find_unsupported_pod_templates(obj), *_find(obj)):
        if id(found.template) in seen:
            # One pod template shared through a YAML anchor by two workloads: it is one
            # object, so it is rewritten once (the dump writes it out under each).
            continue
        seen.add(id(found.template))
        if options.skip_hooks and is_helm_hook(found.owner):
            continue
        if not found.supported:
            findings.problems += _unsupported_kind_problems(found)
            continue
        findings.problems += _misplaced_annotation_problems(found)
        plan, problems = _plan(found, options, facts)
        findings.problems += problems
        if plan is not None:
            plans.append(plan)
    if findings.problems:
        return findings
    for plan in plans:
        plan.apply()
    findings.changed = bool(plans)
    return findings


def _wants_exec_mode(annotations: Mapping[str, Any]) -> bool:
    return (
        ann.decide(annotations) is ann.Decision.INJECT
        and annotations.get(ann.RUN_AS_SIDECAR) in ann.FALSE_VALUES
    )


def _unsupported_kind_problems(found: PodTemplate) -> list[Problem]:
    """A pod asking for exec mode in a kind vault-exec does not rewrite: say so."""
    if not _wants_exec_mode(_annotations(found.template)):
        return []
    resource = found.resource
    kind = f"{resource.kind} ({resource.api_version})" if resource else "this kind"
    supported = ", ".join(sorted({name for _group, name in POD_TEMPLATE_PATHS}))
    return [
        Problem(
            "-",
            0,
            0,
            f"vault-exec cannot inject {kind}: it rewrites only {supported} and List items",
            resource,
            path=(*found.path, "metadata", "annotations", ann.INJECT),
            rule=INJECTION,
        )
    ]


def _misplaced_annotation_problems(found: PodTemplate) -> list[Problem]:
    """agent-inject on the workload instead of its pod template is a silent no-op
    for the webhook too; a render can say so."""
    if found.path == found.owner_path:  # a Pod is its own template
        return []
    owner_annotations = _annotations(found.owner)
    if ann.INJECT not in owner_annotations or ann.INJECT in _annotations(found.template):
        return []
    if ann.decide(owner_annotations) is not ann.Decision.INJECT:
        return []
    template_path = ".".join(str(step) for step in found.path[len(found.owner_path) :])
    return [
        Problem(
            "-",
            0,
            0,
            f"{ann.INJECT} is on the {found.owner.get('kind')}, but vault.hashicorp.com/ "
            f"annotations belong on its pod template ({template_path}.metadata.annotations; "
            "in most charts: podAnnotations)",
            found.resource,
            path=(*found.owner_path, "metadata", "annotations", ann.INJECT),
            rule=ANNOTATION,
        )
    ]


def _annotations(template: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = template.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def _names(items: object) -> list[str]:
    if not isinstance(items, list | MutableSequence):
        return []
    return [str(item.get("name")) for item in items if isinstance(item, Mapping)]


def _plan(
    found: PodTemplate, options: Options, facts: StreamFacts
) -> tuple[Rewrite | None, list[Problem]]:
    """The rewrite of one opted-in pod template, or the problems that stop it."""
    annotations = _annotations(found.template)
    if ann.decide(annotations) is not ann.Decision.INJECT:
        return None, []
    planner = _Planner(found, options)
    request, annotation_problems = ann.parse(annotations)
    if request is None:
        for p in annotation_problems:
            planner.report(p.message, p.key or None, rule=ANNOTATION)
        return None, planner.problems
    spec = found.template.get("spec")
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    if (
        not isinstance(spec, MutableMapping)
        or not isinstance(containers, MutableSequence)
        or not containers
    ):
        planner.report_at("the pod template has no containers to inject", planner.spec_path)
        return None, planner.problems
    address = planner.vault_address(request)
    planner.check_policy(request, spec, address)
    rewrites = planner.container_rewrites(request, containers)
    planner.check_names_are_free(spec)
    if planner.problems:
        return None, planner.problems
    needs_token = _needs_projected_token(spec, found, facts)
    volumes, mounts = volumes_and_mounts(needs_token, options)
    config_json = agent_config_json(agent_config(request, options, address, needs_token))
    size = len(CONFIG_ENV_VAR) + 1 + len(config_json.encode()) + 1  # NAME=value and its NUL
    if size > MAX_ENV_STRING_BYTES:
        planner.report(
            f"the agent config these annotations make is {size} bytes: Linux limits one "
            f"environment string to {MAX_ENV_STRING_BYTES} bytes (MAX_ARG_STRLEN), so no "
            "container could start with it; shorten the templates or split them",
            None,
            INJECTION,
        )
        return None, planner.problems
    return (
        Rewrite(
            template=found.template,
            containers=rewrites,
            init_container=install_container(request, options),
            volumes=volumes,
            mounts=mounts,
            config_json=config_json,
        ),
        [],
    )


@dataclass
class _Planner:
    """The checks of one pod template's plan, each step adding its problems."""

    found: PodTemplate
    options: Options
    problems: list[Problem] = field(default_factory=list)

    @property
    def spec_path(self) -> FieldPath:
        return (*self.found.path, "spec")

    def report_at(self, message: str, where: FieldPath, rule: str = INJECTION) -> None:
        self.problems.append(
            Problem("-", 0, 0, message, self.found.resource, path=where, rule=rule)
        )

    def report(self, message: str, annotation: str | None, rule: str = ANNOTATION) -> None:
        """A problem located at ``annotation`` of the template (at its annotations: None)."""
        where = (*self.found.path, "metadata", "annotations")
        self.report_at(message, (*where, annotation) if annotation else where, rule)

    def vault_address(self, request: ann.InjectionRequest) -> str:
        """The platform's Vault address, or one the platform allowed."""
        address = self.options.vault_addr
        if request.service is not None:
            address = normalize_address(request.service)
            refusal = self.options.address_refusal(address)
            if refusal is not None:
                self.report(f"{ann.SERVICE}: {refusal}", ann.SERVICE, PLATFORM)
        elif not address:
            self.report(
                "no Vault address: pass --vault-addr, set vaultAddr in the config file, "
                "or set VAULT_EXEC_VAULT_ADDR or VAULT_ADDR",
                ann.INJECT,
                PLATFORM,
            )
        return address

    def check_policy(
        self, request: ann.InjectionRequest, spec: Mapping[str, Any], address: str
    ) -> None:
        """What the annotations ask about where and how the token is sent must be what the
        platform allows (docs/security.md); so must the pod's name resolution."""
        asked = (
            (
                "allow_tls_skip_verify",
                ann.TLS_SKIP_VERIFY,
                "true" if request.tls_skip_verify else None,
            ),
            ("allowed_ca_certs", ann.CA_CERT, request.ca_cert),
            ("allowed_tls_server_names", ann.TLS_SERVER_NAME, request.tls_server_name),
            ("agent_image", ann.AGENT_IMAGE, request.agent_image),
            ("vault_namespace", ann.NAMESPACE, request.namespace),
        )
        for field_name, annotation, value in asked:
            refusal = self.options.refusal(field_name, value) if value else None
            if refusal is not None:
                self.report(f"{annotation}: {refusal}", annotation, PLATFORM)
        mount = login_mount(request, self.options)
        if mount != self.options.auth_path:
            annotation = ann.AUTH_PATH if request.auth_path is not None else ann.AUTH_TYPE
            refusal = self.options.refusal("auth_path", mount)
            if refusal is not None:
                self.report(f"{annotation}: login mount {refusal}", annotation, PLATFORM)
        if self.options.allow_custom_dns:
            return
        no_dns = self.options.refusal("allow_custom_dns", "")
        if spec.get("dnsPolicy") == "None":
            self.report_at(
                f"dnsPolicy None: the pod would resolve the Vault address with its own "
                f"nameservers; {no_dns}",
                (*self.spec_path, "dnsPolicy"),
                PLATFORM,
            )
        dns_config = spec.get("dnsConfig")
        if isinstance(dns_config, Mapping) and dns_config.get("nameservers"):
            self.report_at(
                f"dnsConfig.nameservers: the pod would resolve the Vault address with its own "
                f"nameservers; {no_dns}",
                (*self.spec_path, "dnsConfig", "nameservers"),
                PLATFORM,
            )
        host = _host_of(address)
        aliases = spec.get("hostAliases")
        for index, alias in enumerate(
            aliases if isinstance(aliases, list | MutableSequence) else []
        ):
            names = alias.get("hostnames") if isinstance(alias, Mapping) else None
            if isinstance(names, list | MutableSequence) and any(
                isinstance(name, str) and name.lower().rstrip(".") == host for name in names
            ):
                self.report_at(
                    f"hostAliases maps the Vault host {host} to {alias.get('ip')!r}: the "
                    f"service-account token would go there; {no_dns}",
                    (*self.spec_path, "hostAliases", index),
                    PLATFORM,
                )

    def container_rewrites(
        self, request: ann.InjectionRequest, containers: MutableSequence[Any]
    ) -> list[tuple[MutableMapping[str, Any], tuple[str, ...]]]:
        """Which containers are injected, and what each one execs."""
        by_name = {
            str(c.get("name")): (i, c)
            for i, c in enumerate(containers)
            if isinstance(c, MutableMapping)
        }
        selected = list(request.containers) if request.containers is not None else list(by_name)
        for name in selected:
            if name not in by_name:
                self.report(
                    f"{ann.CONTAINERS} names {name!r}, which is not a "
                    f"container of this pod (containers: {', '.join(by_name)})",
                    ann.CONTAINERS,
                )
        selected = [name for name in selected if name in by_name]
        for name in request.exec_commands:
            if name not in selected:
                self.report(
                    f"{ann.EXEC_COMMAND_PREFIX}{name}: {name!r} is not an injected container "
                    f"(injected: {', '.join(selected) or 'none'})",
                    ann.EXEC_COMMAND_PREFIX + name,
                )
        if request.exec_command is not None and len(selected) > 1:
            self.report(
                f"{ann.EXEC_COMMAND} is ambiguous with {len(selected)} injected containers "
                f"({', '.join(selected)}): use {ann.EXEC_COMMAND_PREFIX}<container> for each",
                ann.EXEC_COMMAND,
            )
        rewrites = []
        for name in selected:
            index, container = by_name[name]
            where = (*self.spec_path, "containers", index)
            command = _original_command(container, name, request)
            if command is None:
                self.report_at(
                    f"container {name!r} has no command to exec: add "
                    f'{ann.EXEC_COMMAND}: "/path/to/app" (or {ann.EXEC_COMMAND_PREFIX}{name}); '
                    "the image's ENTRYPOINT is not visible at render time",
                    where,
                )
                continue
            self._check_container_is_free(container, where)
            rewrites.append((container, command))
        return rewrites

    def check_lists(
        self, mapping: Mapping[str, Any], keys: tuple[str, ...], where: FieldPath
    ) -> None:
        """Fields vault-exec adds to must be lists where present: a mapping in their place
        (``env: {A: b}``) would be dropped by the rewrite, so it is refused instead."""
        for key in keys:
            value = mapping.get(key)
            if value is not None and not isinstance(value, list | MutableSequence):
                kind = "a mapping" if isinstance(value, Mapping) else f"a {type(value).__name__}"
                self.report_at(f"{key} must be a list, not {kind}", (*where, key))

    def _check_container_is_free(self, container: Mapping[str, Any], where: FieldPath) -> None:
        self.check_lists(container, ("env", "volumeMounts"), where)
        if CONFIG_ENV_VAR in _names(container.get("env")):
            self.report_at(f"the container already sets {CONFIG_ENV_VAR}", (*where, "env"))
        mounts = container.get("volumeMounts")
        if isinstance(mounts, list | MutableSequence):
            for mount in mounts:
                path = mount.get("mountPath") if isinstance(mount, Mapping) else None
                if path in (BUNDLE_MOUNT_PATH, PROJECTED_TOKEN_DIR):
                    self.report_at(
                        f"the container already mounts something at {path}",
                        (*where, "volumeMounts"),
                    )

    def check_names_are_free(self, spec: Mapping[str, Any]) -> None:
        """Names vault-exec adds must be free, or the pod was half-injected by hand."""
        self.check_lists(spec, ("initContainers", "volumes"), self.spec_path)
        if INSTALL_CONTAINER in _names(spec.get("initContainers")):
            self.report_at(
                f"the pod already has an init container named {INSTALL_CONTAINER!r}",
                self.spec_path,
            )
        volumes = spec.get("volumes")
        for index, item in enumerate(volumes if isinstance(volumes, MutableSequence) else []):
            volume = item.get("name") if isinstance(item, Mapping) else None
            if volume in (AGENT_VOLUME, TOKEN_VOLUME):
                self.report_at(
                    f"the pod already has a volume named {volume!r} but is not marked "
                    f'{ann.STATUS}: "{ann.INJECTED}"',
                    (*self.spec_path, "volumes", index),
                )


def _host_of(address: str) -> str:
    """The host name of a Vault address, as a resolver would look it up."""
    from urllib.parse import urlsplit

    try:
        return (urlsplit(address).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _needs_projected_token(spec: Mapping[str, Any], found: PodTemplate, facts: StreamFacts) -> bool:
    """Will the kubelet mount no service-account token into this pod?"""
    automount = spec.get("automountServiceAccountToken")
    if automount is not None:
        return automount is False  # the pod's own word wins over its ServiceAccount's
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    namespace = found.resource.namespace if found.resource is not None else ""
    return not facts.token_mounted(namespace, str(account))


def _original_command(
    container: Mapping[str, Any], name: str, request: ann.InjectionRequest
) -> tuple[str, ...] | None:
    if name in request.exec_commands:
        return request.exec_commands[name]
    if request.exec_command is not None:
        return request.exec_command
    command = container.get("command")
    if isinstance(command, list | MutableSequence) and command:
        return tuple(str(word) for word in command)
    return None


__all__ = ["Findings", "Resource", "agent_config", "find_pod_templates", "inject"]
