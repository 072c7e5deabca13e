"""What each workload of a manifest stream needs from Vault, as ``render`` decides it.

Nothing is re-parsed by hand: the stream goes through render's own walk and
``inject`` (the same annotation parsing and injection plan), and the doctor reads
back the agent config that the rewrite put into each pod (role, auth method and
mount, token path, templates) and the projected token's audience. A stream that
is already rendered (``agent-inject-status: injected``) is read the same way.
Templates are parsed with the agent's own parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from transformer.agent.contract import CONFIG_ENV_VAR, PROJECTED_TOKEN_PATH, TOKEN_VOLUME
from transformer.agent.template import TemplateError, parse
from transformer.doctor.templates import TemplateUse, Where, template_use
from transformer.options import Options

# render's own pipeline, so the doctor sees exactly the pods render writes.
from transformer.pipeline import locate_problems, render_stream
from transformer.pod import annotations as ann
from transformer.pod.kinds import find_pod_templates
from transformer.problems import ERROR, VAULT, FieldPath, Problem, Resource, has_errors
from transformer.yaml import kube
from transformer.yaml.stream import Chunk, split_documents


@dataclass(frozen=True)
class TemplateNeed:
    """One ``agent-inject-secret-<name>`` (and its template) of a workload."""

    name: str
    path: str  # the annotation's secret path
    annotation: str  # the annotation to point at: the template's, else the secret's
    use: TemplateUse | None  # None: the template does not parse
    error: str = ""  # why it does not parse (the agent's own message)


@dataclass(frozen=True)
class Workload:
    """One injected pod template and what its agent will do at pod start."""

    resource: Resource | None
    role: str
    auth_method: str  # kubernetes | jwt | token
    auth_mount: str  # auth/kubernetes
    service_account: str
    namespace: str  # "" when neither the manifest nor --namespace says
    #: Audience of the projected token the pod gets; None: the kubelet's default token.
    audience: str | None
    vault_namespace: str | None
    token_to_app: bool
    templates: tuple[TemplateNeed, ...]
    annotations: Mapping[str, Any]
    # where the workload sits, to locate its problems
    filename: str
    chunk: Chunk
    doc_index: int
    annotations_path: FieldPath

    def problem(self, message: str, key: str | None = None, severity: str = ERROR) -> Problem:
        """A problem located at annotation ``key`` (else at the role annotation)."""
        key = self.annotation_key(key or ann.ROLE)
        path = (*self.annotations_path, key) if key in self.annotations else self.annotations_path
        problem = Problem(
            "-", 0, 0, message, self.resource, severity=severity, path=path, rule=VAULT
        )
        return locate_problems([problem], self.chunk, self.filename, self.doc_index)[0]

    def annotation_key(self, key: str) -> str:
        """The key as the manifest spells it (secret names are compared lower-cased)."""
        if key in self.annotations:
            return key
        for spelt in self.annotations:
            if isinstance(spelt, str) and spelt.lower() == key.lower():
                return spelt
        return key

    @property
    def subject(self) -> str:
        """The service account's user name, as Kubernetes puts it in the token's ``sub``."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def read_paths(self) -> list[str]:
        """Every path the agent reads, in order: each annotation's, then each template's."""
        paths = [need.path for need in self.templates]
        for need in self.templates:
            if need.use is not None:
                paths += [call.path for call in need.use.reads()]
        return list(dict.fromkeys(paths))


def find_workloads(
    sources: Sequence[tuple[str, str]], options: Options, default_namespace: str = ""
) -> tuple[list[Workload], list[Problem]]:
    """The injected workloads of the stream, and the problems render (or parsing the
    templates) finds. With a render error there are no workloads: render would
    refuse the stream anyway."""
    rendered = render_stream(sources, options)
    problems = list(rendered.problems)
    if has_errors(problems):
        return [], problems
    workloads: list[Workload] = []
    doc_index = 0
    for (filename, text), output in zip(sources, rendered.outputs, strict=True):
        # render keeps every document in its place: the input's chunk locates a
        # problem, the output's holds the pod as render wrote it (agent config and all).
        for before, after in zip(split_documents(text), split_documents(output), strict=True):
            if before.is_empty:
                continue
            if CONFIG_ENV_VAR in after.text:
                obj = kube.load_document(after.text)
                for found in find_pod_templates(obj) if isinstance(obj, Mapping) else ():
                    workload = _workload(
                        found.template, found.path, found.resource, default_namespace
                    )
                    if workload is not None:
                        workloads.append(
                            replace(workload, filename=filename, chunk=before, doc_index=doc_index)
                        )
            doc_index += 1
    for workload in workloads:
        problems += _template_problems(workload)
    return workloads, problems


def _workload(
    template: Mapping[str, Any],
    path: FieldPath,
    resource: Resource | None,
    default_namespace: str,
) -> Workload | None:
    """The workload of one pod template, if render injected it (None otherwise)."""
    spec = _mapping(template.get("spec"))
    config = _agent_config(spec)
    if config is None:
        return None
    auth = _mapping(config.get("auth"))
    vault = _mapping(config.get("vault"))
    annotations = _mapping(_mapping(template.get("metadata")).get("annotations"))
    audience = None
    if auth.get("token_path") == PROJECTED_TOKEN_PATH:
        audience = _projected_audience(spec)
    names = {str(key).lower(): str(key) for key in annotations}
    needs = []
    for item in config.get("templates") or ():
        name, secret_path, text = str(item["name"]), str(item["path"]), str(item["template"])
        template_key = names.get((ann.TEMPLATE_PREFIX + name).lower())
        annotation = template_key or names.get((ann.SECRET_PREFIX + name).lower(), ann.INJECT)
        try:
            needs.append(
                TemplateNeed(name, secret_path, annotation, template_use(parse(text, name)))
            )
        except TemplateError as error:
            needs.append(TemplateNeed(name, secret_path, annotation, None, str(error)))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    return Workload(
        resource=resource,
        role=str(auth.get("role") or ""),
        auth_method=str(auth.get("method") or "kubernetes"),
        auth_mount=str(auth.get("mount_path") or "").strip("/"),
        service_account=str(account),
        namespace=(resource.namespace if resource is not None else "") or default_namespace,
        audience=audience,
        vault_namespace=vault.get("namespace"),
        token_to_app=bool(_mapping(config.get("token")).get("to_app")),
        templates=tuple(needs),
        annotations=annotations,
        filename="-",
        chunk=Chunk(0, 0, 0, ""),
        doc_index=0,
        annotations_path=(*path, "metadata", "annotations"),
    )


def _agent_config(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The agent's JSON config as the rewrite put it into the pod's containers."""
    for container in spec.get("containers") or ():
        for variable in _mapping(container).get("env") or ():
            variable = _mapping(variable)
            if variable.get("name") == CONFIG_ENV_VAR and isinstance(variable.get("value"), str):
                try:
                    config = json.loads(variable["value"])
                except ValueError:
                    return None  # not ours to read: render would have refused to write it
                return config if isinstance(config, Mapping) else None
    return None


def _projected_audience(spec: Mapping[str, Any]) -> str | None:
    for volume in spec.get("volumes") or ():
        volume = _mapping(volume)
        if volume.get("name") != TOKEN_VOLUME:
            continue
        for source in _mapping(volume.get("projected")).get("sources") or ():
            token = _mapping(_mapping(source).get("serviceAccountToken"))
            if isinstance(token.get("audience"), str):
                return str(token["audience"])
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def template_where(need: TemplateNeed, where: Where) -> str:
    """``template config.env:3:12``: a place inside a template, as the agent names it."""
    return f"template {need.name}:{where.line}:{where.col}"


def _template_problems(workload: Workload) -> Iterable[Problem]:
    """Templates that do not parse (the agent would fail the pod), and the places
    in the others that the doctor cannot follow."""
    for need in workload.templates:
        if need.use is None:
            yield workload.problem(need.error, need.annotation)
            continue
        for where, what in need.use.unknown:
            yield workload.problem(
                f"{template_where(need, where)}: not checked: {what}",
                need.annotation,
                severity="warning",
            )
