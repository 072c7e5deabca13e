"""A manifest stream cut into documents as text, and cheap textual tests on a document.

YAML forbids ``---`` and ``...`` at the start of a line inside content, so a textual
split at these markers is exact: untouched documents are copied byte for byte and
never parsed into Python objects at all.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

#: YAML forbids ``---`` and ``...`` at the start of a line inside content, so a
#: textual split at these markers is exact.
_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)
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
        if text.startswith("---", position) and _MARKER.match(text, position):
            # (not "---#...": that is content, not a marker and a comment)
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
