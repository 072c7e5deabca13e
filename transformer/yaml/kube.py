"""The one module that knows YAML libraries (PyYAML for speed, ruamel.yaml for locations).

Why two: a render pays for every document on every ``helm upgrade``, so the hot
path is libyaml's C loader and emitter, and only the documents that are
rewritten get re-emitted at all; everything else is copied as text. ruamel.yaml
keeps line/column of every key, so it is used on the error path to point a
problem at its line, by front ends that must keep comments (KRM), and by
``render`` for a rewritten document that holds comments.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from transformer.problems import FieldPath

#: YAML forbids ``---`` and ``...`` at the start of a line inside content, so a
#: textual split at these markers is exact.
_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)
#: Where an alias, anchor (libyaml names are [-_A-Za-z0-9]) or tag could start:
#: only a load checks those. "&&" in a shell line or a cron "* * *" are none.
_NEEDS_LOAD = re.compile(r"(?:^|[\s\[\{,])(?:[*&][-\w]|!)", re.MULTILINE)
_HEAD_LINE = re.compile(r"(?:%[^\n]*|[ \t]*(?:#[^\n]*)?)\r?\n")
_DIRECTIVES_ONLY = re.compile(
    r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*%[^\n]*\n(?:(?:%[^\n]*|[ \t]*(?:#[^\n]*)?)\r?\n)*"
)
_PREFIX_LINE = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)")
_EMPTY_REST = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n|\.\.\.[^\n]*\n?)*[ \t]*(?:#[^\n]*)?")
#: A comment starts with ``#`` at a line start or after a space or tab; the same
#: text inside a quoted or block scalar also matches (harmless: see may_hold_comment).
_COMMENT_START = re.compile(r"(?:^|[ \t])#", re.MULTILINE)
#: The first block sequence under a key: is its ``-`` indented past the key?
_FIRST_BLOCK_SEQUENCE = re.compile(
    r"^( *)[^ \t\r\n#-][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*( *)-[ \t\r\n]",
    re.MULTILINE,
)

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
            what = repr(node.value) if isinstance(node, yaml.ScalarNode) else "this collection"
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


@dataclass(frozen=True)
class Chunk:
    """One document's text: its ``---`` line (if any), leading comments, body."""

    start: int  # offset in the stream
    end: int
    line: int  # 0-based line of ``start`` in the stream
    text: str

    @property
    def is_empty(self) -> bool:
        """Only markers, comments and blank lines: no document to speak of."""
        return _EMPTY_REST.fullmatch(self.text, len(self.prefix)) is not None

    @property
    def prefix(self) -> str:
        """Directives, the marker line and the comment/blank lines before the content."""
        text = self.text
        position = _skip_lines(text, 0, _HEAD_LINE)
        if text.startswith("---", position):
            newline = text.find("\n", position)
            end = len(text) if newline < 0 else newline + 1
            rest = text[position + 3 : end].strip()
            if rest and not rest.startswith("#"):
                return ""  # content on the marker line itself: no separable prefix
            position = end
        return text[: _skip_lines(text, position, _PREFIX_LINE)]


def _skip_lines(text: str, position: int, line: re.Pattern[str]) -> int:
    while True:
        match = line.match(text, position)
        if match is None or match.end() == position:
            return position
        position = match.end()


def split_documents(text: str) -> list[Chunk]:
    """Cut a stream into document chunks whose concatenation is ``text`` exactly."""
    cuts = [0]
    for match in _MARKER.finditer(text):
        if match.group(1) == "---":
            if _DIRECTIVES_ONLY.fullmatch(text, cuts[-1], match.start()):
                continue  # %YAML/%TAG lines belong to the document they precede
            cut = match.start()
        else:  # ``...`` ends a document: the next one starts on the next line
            newline = text.find("\n", match.start())
            cut = len(text) if newline < 0 else newline + 1
        if cut > cuts[-1]:
            cuts.append(cut)
    if len(text) > cuts[-1]:
        cuts.append(len(text))
    ordered = cuts
    chunks: list[Chunk] = []
    line = 0
    for start, end in itertools.pairwise(ordered):
        piece = text[start:end]
        chunks.append(Chunk(start, end, line, piece))
        line += piece.count("\n")
    return chunks


def load_document(text: str) -> Any:
    """Load one document with the C loader; raise YamlSyntaxError located in ``text``."""
    with _located(text):
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe


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


def may_hold_comment(text: str) -> bool:
    """Could ``text`` hold a YAML comment? Cheap and conservative.

    Neither libyaml's scanner nor its parser reports comments, so this is a
    textual test: a ``#`` at a line start or after a space or tab. It also
    answers yes for such a ``#`` inside a quoted or block scalar; that only
    sends the document down the slower comment-keeping path, while a no for a
    real comment would lose it.
    """
    return "#" in text and _COMMENT_START.search(text) is not None


def indents_sequences(text: str) -> bool:
    """Does ``text`` write a block sequence's ``-`` indented under its key (Helm's
    usual ``containers:\\n  - name:``) rather than level with it? Judged by the first."""
    match = _FIRST_BLOCK_SEQUENCE.search(text)
    return match is not None and len(match.group(2)) > len(match.group(1))


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


def locate(text: str, path: FieldPath) -> tuple[int, int] | None:
    """1-based (line, col) in ``text`` of the deepest existing part of ``path``.

    Uses ruamel.yaml, imported here and only here: the error path is rare and
    ruamel's import and parse cost would dominate a clean render.
    """
    try:
        data = load_roundtrip(text)
    except Exception:  # locating is best effort; the problem itself stands
        return None
    return _walk(data, path)


def _walk(data: Any, path: FieldPath) -> tuple[int, int] | None:
    location: tuple[int, int] | None = None
    lc = getattr(data, "lc", None)
    if lc is not None and lc.line is not None:
        location = (lc.line + 1, lc.col + 1)
    node = data
    for step in path:
        if isinstance(node, Mapping) and isinstance(step, str) and step in node:
            found = node.lc.key(step) if hasattr(node, "lc") else None
            node = node[step]
        elif (
            isinstance(node, Sequence)
            and not isinstance(node, str)
            and isinstance(step, int)
            and 0 <= step < len(node)
        ):
            found = node.lc.item(step) if hasattr(node, "lc") else None
            node = node[step]
        else:
            break
        if found is not None:
            location = (found[0] + 1, found[1] + 1)
    return location


def _roundtrip(*, indented_sequences: bool = False) -> Any:
    from ruamel.yaml import YAML

    handler = YAML(typ="rt")
    handler.allow_duplicate_keys = True
    handler.preserve_quotes = True
    handler.width = 1 << 30
    if indented_sequences:  # ruamel writes every sequence one way: match the document's
        handler.indent(mapping=2, sequence=4, offset=2)
    return handler


def load_roundtrip(text: str) -> Any:
    """Comment- and position-keeping load (ruamel.yaml round trip)."""
    return _roundtrip().load(text)


def dump_roundtrip(obj: Any, *, indented_sequences: bool = False) -> str:
    """Emit what :func:`load_roundtrip` loaded, comments included.

    ``indented_sequences``: write ``key:\\n  - item`` instead of ``key:\\n- item``
    (see :func:`indents_sequences`); mappings are indented by two either way.
    """
    import io

    out = io.StringIO()
    _roundtrip(indented_sequences=indented_sequences).dump(obj, out)
    return out.getvalue()


@contextlib.contextmanager
def trailing_comments_kept(document: Any) -> Iterator[None]:
    """Keep the comment lines after a collection's last entry at its end while the
    block changes ``document`` (a :func:`load_roundtrip` tree).

    ruamel.yaml hangs the comment lines that follow an entry on that entry's
    deepest last value; they introduce what comes next (``# Probes follow.``) or
    close the block (``# End of the pod spec.``). When entries are appended
    after it, or its value is replaced, they would end up in the middle: this
    moves them behind the new last entry instead. End-of-line comments stay.
    """
    before = [(node, _last_entry(node), _entries(node)) for node in _collections(document)]
    yield
    for node, last, entries in before:  # innermost first: a moved tail can move on
        if isinstance(node, Mapping):
            for key, old in entries.items():
                if key in node and node[key] is not old and isinstance(old, (Mapping, list)):
                    _attach_tail(node, key, _take_tail(old))
        if not node or last is None:
            continue
        position = _position(node, last[1])
        if position is not None and position != len(node) - 1:
            key = position if isinstance(node, list) else list(node)[position]
            moved = _take_slot_tail(node, key) + _take_tail(node[key])
            last_key = len(node) - 1 if isinstance(node, list) else list(node)[-1]
            _attach_tail(node, last_key, moved)


def _collections(node: Any) -> list[Any]:
    """Every comment-carrying collection of a round-trip tree, innermost first."""
    from ruamel.yaml.comments import CommentedBase

    found: list[Any] = []
    if isinstance(node, CommentedBase) and isinstance(node, (Mapping, list)):
        for child in node.values() if isinstance(node, Mapping) else node:
            found += _collections(child)
        found.append(node)
    return found


def _last_entry(node: Any) -> tuple[Any, Any] | None:
    """(key or index, value) of the last entry; the value identifies an item of a list."""
    if not node:
        return None
    if isinstance(node, Mapping):
        key = next(reversed(node))
        return key, key
    return len(node) - 1, node[-1]


def _entries(node: Any) -> dict[Any, Any]:
    return dict(node.items()) if isinstance(node, Mapping) else {}


def _position(node: Any, marker: Any) -> int | None:
    """Where the recorded last entry is now (a key of a mapping, an item of a list)."""
    if isinstance(node, Mapping):
        return list(node).index(marker) if marker in node else None
    return next((index for index, item in enumerate(node) if item is marker), None)


def _take_slot_tail(node: Any, key: Any) -> str:
    """Cut the comment lines after an entry's own line from its post-comment."""
    slot = 0 if isinstance(node, list) else 2
    comments = node.ca.items.get(key)
    token = comments[slot] if comments and len(comments) > slot else None
    if token is None or "\n" not in token.value:
        return ""
    text: str = token.value
    first, _, rest = text.partition("\n")
    if first:
        token.value = first + "\n"  # the end-of-line comment stays on its line
    else:
        comments[slot] = None
    return rest


def _take_tail(value: Any) -> str:
    """Cut the comment lines that close ``value`` (a collection), as indented text."""
    from ruamel.yaml.comments import CommentedBase

    if not isinstance(value, CommentedBase) or not isinstance(value, (Mapping, list)):
        return ""
    moved = ""
    if value:
        last = len(value) - 1 if isinstance(value, list) else next(reversed(value))
        moved = _take_slot_tail(value, last) + _take_tail(value[last])
    for token in value.ca.end or []:
        text = token.value if token.value.startswith("\n") else token.value.lstrip(" ")
        column = token.start_mark.column if token.start_mark is not None else 0
        moved += (" " * column + text) if text.strip() else text
    value.ca.end = []
    return moved


def _attach_tail(node: Any, key: Any, moved: str) -> None:
    """Hang comment lines after the deepest last value of ``node[key]``."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    if not moved:
        return
    value = node[key]
    while isinstance(value, (Mapping, list)) and value:
        if not isinstance(value, (CommentedMap, CommentedSeq)):  # inserted plain data
            value = CommentedMap(value) if isinstance(value, Mapping) else CommentedSeq(value)
            node[key] = value
        node, key = value, (len(value) - 1 if isinstance(value, list) else next(reversed(value)))
        value = node[key]
    slot = 0 if isinstance(node, list) else 2
    comments = node.ca.items.setdefault(key, [None, None] if slot == 0 else [None] * 4)
    token = comments[slot]
    if token is None:
        comments[slot] = CommentToken("\n" + moved, CommentMark(0), None)
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + moved
