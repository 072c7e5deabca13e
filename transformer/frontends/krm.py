"""``vault-exec krm`` (a KRM function: kustomize, kpt) and the kustomize exec plugin (pure).

Both go through the same pipeline as ``render`` (:func:`transformer.pipeline.render_stream`):
the stream's facts first (a ServiceAccount in the kustomization that turns the token
automount off), then each object. The KRM function hands each ResourceList item to it
as a document of its own (written by ruamel.yaml's round trip, comments and all) and
puts back only the items that were rewritten, so every annotation the orchestrator put
on an item (``config.kubernetes.io/*``, ``internal.config.kubernetes.io/*``,
``config.k8s.io/id``, ``kustomize.config.k8s.io/id``) comes back untouched.

Each problem becomes a ``results`` entry (severity, resourceRef, field, file) and the
same stderr line as anywhere else; the functionConfig (any kind; settings under
``spec`` or, for a ConfigMap, ``data``) carries the platform defaults with the config
file's camelCase keys.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from transformer.errors import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    ConfigError,
    InputError,
)
from transformer.options import Options, options_from_mapping
from transformer.output.formats import field_path
from transformer.pipeline import render_sources, render_stream
from transformer.problems import ERROR, INVALID_MANIFEST, PLATFORM, Problem, Resource
from transformer.yaml import kube, roundtrip

RESOURCE_LIST_KIND = "ResourceList"
RESOURCE_LIST_API_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")

#: Where the orchestrator records an item's source file (new name first, then legacy).
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")


@dataclass
class Outcome:
    """What the function prints and the problems it found (stderr lines, results)."""

    text: str
    problems: list[Problem] = field(default_factory=list)
    #: The functionConfig (platform settings) is bad: exit 2, like any bad setting.
    bad_config: bool = False

    @property
    def failed(self) -> bool:
        return self.bad_config or any(problem.severity == ERROR for problem in self.problems)

    @property
    def exit_code(self) -> int:
        if self.bad_config:
            return EXIT_USAGE
        return EXIT_PROBLEMS if self.failed else EXIT_OK


def result(problem: Problem, file_index: int | None = None) -> dict[str, Any]:
    """The KRM ``results`` entry of a problem: the same record, another format."""
    entry: dict[str, Any] = {"message": problem.message, "severity": problem.severity}
    if problem.resource is not None:
        ref = {
            "apiVersion": problem.resource.api_version,
            "kind": problem.resource.kind,
            "name": problem.resource.name,
        }
        if problem.resource.namespace:
            ref["namespace"] = problem.resource.namespace
        entry["resourceRef"] = ref
        if problem.path:  # the spec ties field to a resourceRef
            entry["field"] = {"path": field_path(problem.path)}
    if problem.filename != "-":
        entry["file"] = {"path": problem.filename, "index": file_index or 0}
    return entry


def _annotation(item: Mapping[str, Any], names: tuple[str, ...]) -> str:
    metadata = item.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping):
        for name in names:
            value = annotations.get(name)
            if isinstance(value, str):
                return value
    return ""


def _file_of(item: Mapping[str, Any]) -> tuple[str, int | None]:
    """The item's source file (or "-") and its index in that file, as the orchestrator
    recorded them."""
    index_text = _annotation(item, INDEX_ANNOTATIONS)
    index = int(index_text) if index_text.isascii() and index_text.isdigit() else None
    return _annotation(item, PATH_ANNOTATIONS) or "-", index


def function_options(function_config: object, base: Options) -> Options:
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


def _failure(problem: Problem, *, bad_config: bool = False) -> Outcome:
    """A ResourceList with only an error result (when the input cannot be used)."""
    document = {
        "apiVersion": RESOURCE_LIST_API_VERSIONS[0],
        "kind": RESOURCE_LIST_KIND,
        "items": [],
        "results": [result(problem)],
    }
    return Outcome(kube.dump_document(document), [problem], bad_config)


def _input_problem(message: str, resource: Resource | None = None) -> Problem:
    return Problem("-", 0, 0, message, resource, rule=INVALID_MANIFEST)


def run_function(text: str, base: Options) -> Outcome:
    """Apply the function to one ResourceList (YAML or JSON text)."""
    try:
        # libyaml first: it refuses what ruamel.yaml's Python parser would spend minutes on
        # (thousands of nesting levels) or expand without end (an alias bomb), in C.
        kube.check_syntax(text)
        resource_list = roundtrip.load_roundtrip(text)
    except kube.YamlSyntaxError as error:
        return _failure(_input_problem(f"input is not a YAML ResourceList: {error}"))
    except roundtrip.RoundTripError as error:
        return _failure(_input_problem(f"input is not a YAML ResourceList: {error}"))
    if not isinstance(resource_list, MutableMapping) or (
        resource_list.get("kind") != RESOURCE_LIST_KIND
    ):
        return _failure(_input_problem("input is not a ResourceList (kind: ResourceList)"))
    items = resource_list.get("items")
    if items is None:
        items = resource_list["items"] = []
    if not isinstance(items, list):
        return _failure(_input_problem("ResourceList.items must be a list"))
    function_config = resource_list.get("functionConfig")
    try:
        options = function_options(function_config, base)
    except ConfigError as error:
        problem = Problem("-", 0, 0, str(error), Resource.of(function_config), rule=PLATFORM)
        return _failure(problem, bad_config=True)
    for index, item in enumerate(items):
        if not isinstance(item, MutableMapping):
            return _failure(_input_problem(f"items[{index}] is not a KRM object"))

    files = [_file_of(item) for item in items]
    texts = [roundtrip.dump_roundtrip(item) for item in items]
    rendered = render_stream([(f"items[{i}]", text) for i, text in enumerate(texts)], options)
    problems = []
    for problem in rendered.problems:
        # One source per item: the problem's doc_index is the item's index. Lines in the
        # text written here mean nothing to the user; the item's own file does.
        filename, file_index = files[problem.doc_index] if items else ("-", None)
        problems.append((replace(problem, filename=filename, line=0, col=0), file_index))
    for index, output in enumerate(rendered.outputs):
        if output and output != texts[index]:
            items[index] = roundtrip.load_roundtrip(output)
    if problems:
        existing = resource_list.get("results")
        entries = list(existing) if isinstance(existing, list) else []
        resource_list["results"] = entries + [result(p, index) for p, index in problems]
    return Outcome(roundtrip.dump_roundtrip(resource_list), [p for p, _ in problems])


def run_exec_plugin(stream: str, config_text: str, base: Options) -> Outcome:
    """kustomize's exec plugin protocol, for ``kubectl kustomize`` (which cannot run exec
    KRM functions: it has no ``--enable-exec``).

    The plugin gets its config object's file (the transformer object of the
    kustomization, settings under ``spec``) and the resources as a plain YAML stream,
    each carrying ``kustomize.config.k8s.io/id`` so kustomize can match them back; it
    prints the stream, rendered exactly as ``render`` renders it. On an error the text
    is "". Raises ConfigError for a bad config.
    """
    try:
        config = kube.load_document(config_text)
    except kube.YamlSyntaxError as error:
        raise InputError(f"plugin config: {error}") from None
    text, problems = render_sources([("-", stream)], function_options(config, base))
    return Outcome(text, problems)
