"""Where pod templates live in each supported Kubernetes kind.

An explicit table rather than "anything with spec.template.spec.containers":
other kinds share that shape (Knative Services, ...) and must not be rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from transformer.problems import FieldPath, Resource

HELM_HOOK_ANNOTATION = "helm.sh/hook"

#: (API group, kind) -> path of the pod template (an object with metadata and spec).
#: A Pod is its own template. The core group is "".
POD_TEMPLATE_PATHS: Mapping[tuple[str, str], FieldPath] = {
    ("", "Pod"): (),
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): ("spec", "template"),
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("argoproj.io", "Rollout"): ("spec", "template"),
}

LIST_KIND = "List"


@dataclass(frozen=True)
class PodTemplate:
    """One pod template found in a document."""

    path: FieldPath  # from the document root to the template
    template: MutableMapping[str, Any]
    owner: MutableMapping[str, Any]  # the object holding it (a List item, or the document)
    owner_path: FieldPath
    resource: Resource | None
    supported: bool = True  # False: a lookalike in a kind vault-exec does not rewrite

    @classmethod
    def in_owner(
        cls,
        owner: MutableMapping[str, Any],
        owner_path: FieldPath,
        template_path: FieldPath,
        template: MutableMapping[str, Any],
        *,
        supported: bool = True,
    ) -> PodTemplate:
        """TEMPLATE, found at TEMPLATE_PATH below OWNER (itself at OWNER_PATH)."""
        return cls(
            path=(*owner_path, *template_path),
            template=template,
            owner=owner,
            owner_path=owner_path,
            resource=Resource.of(owner),
            supported=supported,
        )


def api_group(api_version: object) -> str | None:
    """``apps/v1`` -> ``apps``; ``v1`` -> "" (core); not a string -> None."""
    if not isinstance(api_version, str) or not api_version:
        return None
    group, slash, _version = api_version.rpartition("/")
    return group if slash else ""


def is_helm_hook(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return False
    annotations = metadata.get("annotations")
    return isinstance(annotations, Mapping) and HELM_HOOK_ANNOTATION in annotations


def _kinded_objects(
    obj: Any, path: FieldPath
) -> Iterator[tuple[MutableMapping[str, Any], FieldPath, str, str]]:
    """(object, its path, API group, kind) of OBJ, or of every item of a core ``List``
    (nested Lists included); objects without a string kind or an apiVersion are skipped."""
    if not isinstance(obj, MutableMapping):
        return
    kind = obj.get("kind")
    group = api_group(obj.get("apiVersion"))
    if kind == LIST_KIND and group == "":
        items = obj.get("items")
        if isinstance(items, list):
            for index, item in enumerate(items):
                yield from _kinded_objects(item, (*path, "items", index))
        return
    if isinstance(kind, str) and group is not None:
        yield obj, path, group, kind


def _value_at(obj: Mapping[str, Any], field_path: FieldPath) -> Any:
    """What is at FIELD_PATH below OBJ (None where a step is missing or not a mapping)."""
    node: Any = obj
    for step in field_path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node


def find_pod_templates(obj: Any, path: FieldPath = ()) -> Iterator[PodTemplate]:
    """Every pod template of a supported kind in ``obj``, items of a ``List`` included.

    A Rollout that points at a Deployment (``spec.workloadRef``) has no template
    of its own and is skipped; so is a template that is not a mapping.
    """
    for owner, owner_path, group, kind in _kinded_objects(obj, path):
        template_path = POD_TEMPLATE_PATHS.get((group, kind))
        if template_path is None:
            continue
        spec = owner.get("spec")
        if kind == "Rollout" and isinstance(spec, Mapping) and spec.get("workloadRef") is not None:
            continue
        node = _value_at(owner, template_path)
        if isinstance(node, MutableMapping):
            yield PodTemplate.in_owner(owner, owner_path, template_path, node)


#: Where other kinds usually keep a pod template (Knative, OpenKruise, ...).
_LOOKALIKE_PATHS: tuple[FieldPath, ...] = (
    ("spec", "template"),
    ("spec", "jobTemplate", "spec", "template"),
    ("spec", "template", "jobTemplate", "spec", "template"),
    ("template",),
)


def find_unsupported_pod_templates(obj: Any, path: FieldPath = ()) -> Iterator[PodTemplate]:
    """Pod-template-shaped parts of kinds vault-exec does not rewrite.

    Not rewritten (an explicit table decides what is), but a pod there that asks
    for exec-mode injection must hear that it will not get it.
    """
    for owner, owner_path, group, kind in _kinded_objects(obj, path):
        if (group, kind) in POD_TEMPLATE_PATHS:
            continue
        for template_path in _LOOKALIKE_PATHS:
            node = _value_at(owner, template_path)
            spec = node.get("spec") if isinstance(node, Mapping) else None
            if (
                isinstance(node, MutableMapping)
                and isinstance(spec, Mapping)
                and "containers" in spec
            ):
                yield PodTemplate.in_owner(owner, owner_path, template_path, node, supported=False)
