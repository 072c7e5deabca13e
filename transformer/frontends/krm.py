"""``vault-exec krm``: a KRM function (kustomize/kpt), ResourceList text in and out (pure).

Items are loaded with ruamel.yaml's round trip and rewritten in place by the same
:func:`transformer.pod.inject.inject` as ``render``, so comments and key order survive and
every annotation the orchestrator put on an item (``config.kubernetes.io/*``,
``internal.config.kubernetes.io/*``, ``config.k8s.io/id``, ``kustomize.config.k8s.io/id``)
comes back untouched: inject only adds the injected-status annotation to pod templates.

Each problem becomes a ``results`` entry (severity, resourceRef, field, file); the
functionConfig (any kind; settings under ``spec`` or, for a ConfigMap, ``data``)
carries the platform defaults with the config file's camelCase keys.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from transformer.errors import ConfigError
from transformer.options import Options, options_from_mapping
from transformer.output.formats import field_path
from transformer.pod.inject import inject
from transformer.problems import ERROR, Problem, Resource
from transformer.yaml import kube as yamlio

RESOURCE_LIST_KIND = "ResourceList"
RESOURCE_LIST_API_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")

#: Where the orchestrator records an item's source file (new name first, then legacy).
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")


@dataclass(frozen=True)
class Result:
    """One KRM ``results`` entry, and the same finding as a stderr line."""

    message: str
    severity: str = ERROR
    resource: Resource | None = None
    field_path: str = ""
    file_path: str = ""
    file_index: int | None = None

    def as_mapping(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"message": self.message, "severity": self.severity}
        if self.resource is not None:
            ref = {
                "apiVersion": self.resource.api_version,
                "kind": self.resource.kind,
                "name": self.resource.name,
            }
            if self.resource.namespace:
                ref["namespace"] = self.resource.namespace
            entry["resourceRef"] = ref
            if self.field_path:  # the spec ties field to a resourceRef
                entry["field"] = {"path": self.field_path}
        if self.file_path:
            entry["file"] = {"path": self.file_path, "index": self.file_index or 0}
        return entry

    def format(self) -> str:
        """``[file: ]severity: message (Kind/ns/name) at field`` for kustomize's stderr."""
        where = f"{self.file_path}: " if self.file_path else ""
        text = f"{where}{self.severity}: {self.message}"
        if self.resource is not None:
            text += f" ({self.resource.signature()})"
        if self.field_path:
            text += f" at {self.field_path}"
        return text


@dataclass
class Outcome:
    """What the function prints and whether it failed."""

    text: str
    results: list[Result] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(result.severity == ERROR for result in self.results)


def _annotation(item: Mapping[str, Any], names: tuple[str, ...]) -> str:
    metadata = item.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping):
        for name in names:
            value = annotations.get(name)
            if value is not None:
                return str(value)
    return ""


def _file_of(item: Mapping[str, Any]) -> tuple[str, int | None]:
    path = _annotation(item, PATH_ANNOTATIONS)
    index_text = _annotation(item, INDEX_ANNOTATIONS)
    index = int(index_text) if index_text.strip().isdigit() else None
    return path, index


def _result(problem: Problem, item: Mapping[str, Any]) -> Result:
    file_path, file_index = _file_of(item)
    return Result(
        message=problem.message,
        severity=problem.severity,
        resource=problem.resource or Resource.of(item),
        field_path=field_path(problem.path),
        file_path=file_path,
        file_index=file_index,
    )


def _function_options(function_config: object, base: Options) -> Options:
    """Platform defaults from the functionConfig (``spec``, else ``data``). Raises ConfigError."""
    if function_config is None:
        return base
    if not isinstance(function_config, Mapping):
        raise ConfigError("functionConfig must be a KRM object")
    settings = function_config.get("spec")
    if settings is None:
        settings = function_config.get("data")
    if settings is None:
        return base
    if not isinstance(settings, Mapping):
        raise ConfigError("functionConfig: spec (or data) must be a mapping of settings")
    try:
        return options_from_mapping({str(k): v for k, v in settings.items()}, base)
    except ConfigError as error:
        raise ConfigError(f"functionConfig: {error}") from None


def _failure(message: str, resource: Resource | None = None) -> Outcome:
    """A ResourceList with only an error result (when the input cannot be used)."""
    result = Result(message=message, resource=resource)
    document = {
        "apiVersion": RESOURCE_LIST_API_VERSIONS[0],
        "kind": RESOURCE_LIST_KIND,
        "items": [],
        "results": [result.as_mapping()],
    }
    return Outcome(yamlio.dump_document(document), [result])


def _inject_items(items: list[Any], options: Options) -> list[Result]:
    """Inject every item in place; the results for its problems."""
    results: list[Result] = []
    for index, item in enumerate(items):
        if not isinstance(item, MutableMapping):
            results.append(Result(message=f"items[{index}] is not a KRM object"))
            continue
        findings = inject(item, options)
        results.extend(_result(problem, item) for problem in findings.problems)
    return results


def run_function(text: str, base: Options) -> Outcome:
    """Apply the function to one ResourceList (YAML or JSON text)."""
    try:
        resource_list = yamlio.load_roundtrip(text)
    except Exception as error:  # ruamel raises many kinds; all mean "bad input"
        return _failure(f"input is not a YAML ResourceList: {' '.join(str(error).split())}")
    if not isinstance(resource_list, MutableMapping) or (
        resource_list.get("kind") != RESOURCE_LIST_KIND
    ):
        return _failure("input is not a ResourceList (kind: ResourceList)")
    items = resource_list.get("items")
    if items is None:
        items = resource_list["items"] = []
    if not isinstance(items, list):
        return _failure("ResourceList.items must be a list")
    function_config = resource_list.get("functionConfig")
    try:
        options = _function_options(function_config, base)
    except ConfigError as error:
        return _failure(str(error), Resource.of(function_config))

    results = _inject_items(items, options)
    if results:
        existing = resource_list.get("results")
        entries = list(existing) if isinstance(existing, list) else []
        resource_list["results"] = entries + [result.as_mapping() for result in results]
    return Outcome(yamlio.dump_roundtrip(resource_list), results)


def run_exec_plugin(stream: str, config_text: str, base: Options) -> Outcome:
    """kustomize's exec plugin protocol, for ``kubectl kustomize`` (which cannot run exec
    KRM functions: it has no ``--enable-exec``).

    The plugin gets its config object's file (the transformer object of the
    kustomization, settings under ``spec``) and the resources as a plain YAML stream,
    each carrying ``kustomize.config.k8s.io/id`` so kustomize can match them back; it
    prints the stream. Same injection and results as :func:`run_function`; on an
    error result the text is "".
    """
    try:
        config = yamlio.load_roundtrip(config_text)
        options = _function_options(config, base)
    except ConfigError as error:
        return Outcome("", [Result(message=str(error))])
    except Exception as error:  # ruamel raises many kinds; all mean "bad config"
        return Outcome("", [Result(message=f"plugin config: {' '.join(str(error).split())}")])
    items: list[Any] = []
    for chunk in yamlio.split_documents(stream):
        try:
            document = yamlio.load_roundtrip(chunk.text)
        except Exception as error:  # as above
            return Outcome("", [Result(message=f"input: {' '.join(str(error).split())}")])
        if document is not None:
            items.append(document)
    outcome = Outcome("", _inject_items(items, options))
    if not outcome.failed:
        outcome.text = "".join("---\n" + yamlio.dump_roundtrip(item) for item in items)
    return outcome
