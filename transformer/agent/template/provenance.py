"""Where output comes from: template text (``False``) or data (``True``).

A string constant written in the template is a :class:`Literal`; a function result that
mixes both (printf, print, println, join) is a :class:`Composed` that knows its pieces.
"""

from __future__ import annotations

Pieces = list[tuple[str, bool]]


class Literal(str):
    """A string constant written in the template (not data): printed as template text."""

    __slots__ = ()


class Composed(str):
    """A function result (printf, print, println, join) that knows which of its
    characters come from template constants and which from data.

    It behaves as a plain (data) string everywhere except when printed, where its
    pieces keep their own provenance: with ``{{ printf "%s=%s\n" $k $v }}`` the
    ``=`` and the newline are the template's, the key and the value are data.
    """

    pieces: tuple[tuple[str, bool], ...] = ()


def composed(pieces: list[tuple[str, bool]]) -> Composed:
    runs: list[tuple[list[str], bool]] = []  # joined once: no quadratic concatenation
    for text, from_data in pieces:
        if not text:
            continue
        if runs and runs[-1][1] == from_data:
            runs[-1][0].append(text)
        else:
            runs.append(([text], from_data))
    merged = tuple(("".join(texts), from_data) for texts, from_data in runs)
    result = Composed("".join(text for text, _ in merged))
    result.pieces = merged
    return result


def pieces_of(value: object, text: str) -> list[tuple[str, bool]]:
    """Provenance of ``text``, the formatting of an operand ``value``: a template
    constant (or a composed value printed verbatim) keeps its own; anything else is
    data. Formatting a constant (padding, quoting) only adds characters that come
    from the template, so the result is still the template's."""
    if type(value) is Literal:
        return [(text, False)]
    if type(value) is Composed and text == value:
        return list(value.pieces)
    return [(text, True)]
