"""YAML read and written as Kubernetes does, on libyaml's C loader and emitter (the one
module that imports PyYAML).

The hot path of a render: every document is syntax-checked here on every ``helm
upgrade``, and the rewritten ones are loaded and re-emitted. Plain scalars resolve as
go-yaml (Kubernetes' YAML) resolves them, not as YAML 1.1 or 1.2 do. The stream split
is :mod:`transformer.yaml.stream`; comment-keeping and locating is
:mod:`transformer.yaml.roundtrip`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from transformer.problems import shown

#: Where an alias, anchor (libyaml names are [-_A-Za-z0-9]) or tag could start:
#: only a load checks those. "&&" in a shell line or a cron "* * *" are none.
_NEEDS_LOAD = re.compile(r"(?:^|[\s\[\{,])(?:[*&][-\w]|!)", re.MULTILINE)

_CLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: correct, only slower
    _CParser: Any = None
else:
    _CParser = CParser

_MERGE = "tag:yaml.org,2002:merge"


def _kubernetes_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """Plain-scalar resolution as Kubernetes reads it (go-yaml v2 via sigs.k8s.io/yaml).

    Only rewritten documents are re-emitted, and a value must mean to the API
    server afterwards what it meant before. Differences from PyYAML's YAML 1.1:
    ``y``/``n`` are booleans; ``1e3`` and ``0o17`` are numbers; ``10:30``
    (sexagesimal) and timestamps are strings; ``=`` is a string.
    """
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def add(tag: str, pattern: str, first: str) -> None:
        regexp = re.compile(pattern, re.X)
        for char in first:
            table.setdefault(char, []).append(("tag:yaml.org,2002:" + tag, regexp))

    add(
        "bool",
        r"""^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE
        |on|On|ON|off|Off|OFF|y|Y|n|N)$""",
        "yYnNtTfFoO",
    )
    add(
        "float",
        r"""^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*\.[0-9_]*)(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        "-+0123456789.",
    )
    add(
        "int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o[0-7_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        "-+0123456789",
    )
    add("merge", r"^(?:<<)$", "<")
    add("null", r"^(?:~|null|Null|NULL|)$", "~nN")
    table.setdefault("", []).append(("tag:yaml.org,2002:null", re.compile(r"^$")))
    return table


#: What go-yaml v2 also reads as a number although the table above does not
#: (``09``, ``0X1F``): strings of this shape are quoted when written.
_GO_NUMBER = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?0[xXoObB][0-9a-fA-F]+$"
)


class _ResolveCache:
    """Remember how each plain scalar resolves: a stream repeats the same keys and
    values (name, image, containerPort, ...) thousands of times, and PyYAML's
    resolver runs its regular expressions, in Python, for every one of them."""

    _resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode:
            tag: str = super().resolve(kind, value, implicit)  # type: ignore[misc]
            return tag
        key = (value, implicit)
        cached = self._resolved.get(key)
        if cached is None:
            cached = super().resolve(kind, value, implicit)  # type: ignore[misc]
            if len(self._resolved) < 50_000:  # bounded: a stream of unique values
                self._resolved[key] = cached
        return cached


class _Loader(_ResolveCache, _CLoader):  # type: ignore[misc, valid-type]
    """libyaml's C parser, scalars resolved as Kubernetes does, duplicate keys refused.

    A duplicate key is an error, as it is for Kubernetes (go-yaml): PyYAML would
    keep the last value silently, and a rewritten document would lose the other.
    A tag Kubernetes does not know is ignored, as go-yaml does; a value that does
    not fit its standard tag (``!!int abc``) is a located error, not a crash.
    """

    _last_node: yaml.Node | None = None
    _resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def get_single_data(self) -> Any:
        try:
            return super().get_single_data()
        except (ValueError, KeyError, AttributeError, TypeError, IndexError):
            node = self._last_node
            if node is None:
                raise
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            what = shown(node.value) if isinstance(node, yaml.ScalarNode) else "this collection"
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} is not a valid {tag} value", node.start_mark
            ) from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self._last_node = node  # where a constructor's own exception points
        return super().construct_object(node, deep)

    bool_values: ClassVar[dict[str, bool]] = {
        **yaml.constructor.SafeConstructor.bool_values,
        "y": True,
        "n": False,
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found {node.id}", node.start_mark
            )
        seen: set[str] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping


_Loader.yaml_implicit_resolvers = _kubernetes_resolvers()


def _construct_ignoring_tag(loader: _Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_constructor(None, _construct_ignoring_tag)


def reads_as_non_string(value: str) -> bool:
    """Would Kubernetes read ``value``, written plain, as anything but a string?"""
    for _tag, regexp in _Loader.yaml_implicit_resolvers.get(value[:1], ()):
        if regexp.match(value):
            return True
    return _GO_NUMBER.match(value.replace("_", "")) is not None


class _Dumper(_ResolveCache, _CDumper):  # type: ignore[misc, valid-type]
    """libyaml's C emitter; multi-line strings (templates) as literal blocks."""

    _resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def ignore_aliases(self, data: Any) -> bool:
        # Never write &anchors/*aliases: Kubernetes tooling reads plain trees best,
        # and skipping the identity bookkeeping makes the dump cheaper.
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        # The generic dispatch costs more than libyaml's emitter itself: the three
        # kinds a Kubernetes object is mostly made of take a direct path (40% off).
        if isinstance(data, str):
            return _represent_str(self, data)
        if isinstance(data, dict):
            pairs = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
            return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)
        if isinstance(data, list):
            items = [self.represent_data(item) for item in data]
            return yaml.SequenceNode("tag:yaml.org,2002:seq", items, flow_style=False)
        node: yaml.Node = super().represent_data(data)
        return node


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Quote what Kubernetes would otherwise read as a bool or number ("y", "1e3");
    # the emitter itself also quotes what PyYAML would (timestamps, "=", "10:30").
    style = "|" if "\n" in value else ("'" if reads_as_non_string(value) else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


class YamlSyntaxError(Exception):
    """A document is not valid YAML. ``line``/``col`` are 1-based, relative to the text."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.message = message
        self.line = line
        self.col = col


#: How many values a document may hold once its aliases are expanded. Far above any real
#: manifest; an "alias bomb" (nine levels of ten aliases: 10^9 values in 1 KB) is far above
#: it, and Kubernetes' YAML refuses such documents too ("excessive aliasing").
MAX_EXPANDED_VALUES = 1_000_000


def load_document(text: str) -> Any:
    """Load one document with the C loader; raise YamlSyntaxError located in ``text``."""
    with _located(text):  # (RecursionError of a deep document included)
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe
        aliased = "*" in text and _NEEDS_LOAD.search(text)  # could share a collection
        expanded = _expanded_size(document, {}) if aliased else 0
        if expanded > MAX_EXPANDED_VALUES:
            raise YamlSyntaxError(
                f"invalid YAML: its aliases expand to {expanded} values, more than "
                f"{MAX_EXPANDED_VALUES} (an alias bomb?)",
                1,
                1,
            )
    return document


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values ``value`` is once every shared collection is written out in full
    (as a dump, or Kubernetes, would); linear in the loaded graph, not in the expansion."""
    if isinstance(value, dict | list):
        known = sizes.get(id(value))
        if known is not None:
            return known
        children = value.items() if isinstance(value, dict) else enumerate(value)
        size = 1 + sum(_expanded_size(child, sizes) for _, child in children)
        sizes[id(value)] = size
        return size
    return 1


def check_syntax(text: str) -> bool:
    """Raise YamlSyntaxError if ``text`` is not valid YAML, building no Python objects.

    Returns whether the text holds a document at all (a stream of only comments
    and line breaks, NEL included, holds none).

    libyaml's ``raw_parse`` runs the whole parser in C, an order of magnitude
    cheaper than a load: the price of proving that a document that is copied
    through untouched is still valid. The parser alone does not resolve aliases,
    so a document that could hold one (or an anchor) is loaded instead.
    """
    if ("*" in text or "&" in text or "!" in text) and _NEEDS_LOAD.search(text):
        return load_document(text) is not None
    with _located(text):
        if _CParser is not None:
            events: int = _CParser(text).raw_parse()
        else:
            events = sum(1 for _event in yaml.parse(text, Loader=yaml.SafeLoader))
    return events > 2  # more than STREAM-START and STREAM-END


@contextlib.contextmanager
def _located(text: str) -> Iterator[None]:
    """Turn PyYAML's errors into one YamlSyntaxError with a 1-based line and column."""
    try:
        yield
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = error.problem or error.context or "invalid YAML"
        if error.context and error.problem:
            message = f"{error.problem} ({error.context})"
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YamlSyntaxError(f"invalid YAML: {message}", line, col) from None
    except yaml.YAMLError as error:  # ReaderError: bad characters
        position = getattr(error, "position", 0)
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = getattr(error, "reason", "") or str(error)
        raise YamlSyntaxError(f"invalid YAML: {reason}", line, col) from None
    except RecursionError:
        raise YamlSyntaxError("invalid YAML: the document is nested too deeply", 1, 1) from None


def dump_document(obj: Any) -> str:
    """Emit one document in Kubernetes' usual block style, keys in their order."""
    return yaml.dump(
        obj,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,  # never fold a long string (images, JSON config)
    )
