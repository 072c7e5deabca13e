"""ruamel.yaml's round trip: comments, key order and positions kept (the one module that
imports ruamel.yaml).

Slower than libyaml by an order of magnitude (bench/render_bench.py), so used only where
its gifts are needed: locating a problem at its line (the error path), and rewriting a
document that holds comments. Every error ruamel.yaml raises is a :class:`RoundTripError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from transformer.problems import FieldPath


class RoundTripError(Exception):
    """ruamel.yaml could not load or emit a document (its message, on one line)."""


def locate(text: str, path: FieldPath) -> tuple[int, int] | None:
    """1-based (line, col) in ``text`` of the deepest existing part of ``path``.

    Uses ruamel.yaml, imported here and only here: the error path is rare and
    ruamel's import and parse cost would dominate a clean render.
    """
    try:
        data = load_roundtrip(text)
    except RoundTripError:  # locating is best effort; the problem itself stands
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
    """Comment- and position-keeping load (ruamel.yaml round trip). Raises RoundTripError."""
    with _errors_as_round_trip_errors():
        return _roundtrip().load(text)


def dump_roundtrip(obj: Any, *, indented_sequences: bool = False) -> str:
    """Emit what :func:`load_roundtrip` loaded, comments included.

    ``indented_sequences``: write ``key:\\n  - item`` instead of ``key:\\n- item``
    (see :func:`indents_sequences`); mappings are indented by two either way.
    """
    import io

    out = io.StringIO()
    with _errors_as_round_trip_errors():
        _roundtrip(indented_sequences=indented_sequences).dump(obj, out)
    return out.getvalue()


@contextlib.contextmanager
def _errors_as_round_trip_errors() -> Iterator[None]:
    """ruamel.yaml's own errors (and the recursion limit its Python parser reaches on deep
    nesting) as RoundTripError; anything else is a bug and goes on up."""
    from ruamel.yaml.error import YAMLError, YAMLStreamError

    try:
        yield
    except (YAMLError, YAMLStreamError, RecursionError) as error:
        raise RoundTripError(" ".join(str(error).split()) or type(error).__name__) from None


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
