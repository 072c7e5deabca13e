"""Turn a rendered template into environment entries, byte-exact.

The template engine hands over its output as pieces ``(text, from_data)``:
``from_data`` is False for the template's own text and True for anything that
came from Vault data (values, keys, function results). Entries are split only
at newlines the template wrote, so a value from Vault arrives exactly as
stored, whatever it holds: a multi-line PEM key (whose ``BBBB==`` lines look
like entries to a plain-text parser), ``=``, quotes, ``$()``, backticks, a
trailing newline, non-ASCII.

Two output forms:

* a JSON object of strings, when the whole output (stripped) starts with ``{``;
* ``KEY=VALUE`` lines otherwise. Per line, whitespace the template wrote at
  either end is layout and dropped; empty lines and ``#`` comment lines
  written by the template are skipped; an ``export`` the template wrote before
  the key is allowed (for templates shared with shells). The key ends at the
  first ``=`` the template wrote (else at the first ``=``); template
  whitespace around that ``=`` is dropped. The value is everything after it,
  verbatim. A value wrapped in double quotes written by the template is
  unquoted, and its template-written escapes ``\\n \\t \\r \\" \\\\`` are
  applied (backslashes from data stay as they are); single quotes written by
  the template are removed with no escapes.

Names must be POSIX-ish (``[A-Za-z_][A-Za-z0-9_]*``) and nothing may hold a NUL
byte: those are errors naming the key, never a silent drop. No message ever
contains a value; a key is shown only when the template's own text wrote it
(a key from secret data may be a value put in the wrong place) and it looks
like a name; otherwise the message gives the line or entry number.
"""

from __future__ import annotations

from transformer.agent.errors import AgentError
from transformer.agent.jsonlite import loads

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Piece = tuple[str, bool]
Entry = tuple[str, str]
_LAYOUT_SPACE = " \t\r\f\v"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class OutputError(AgentError):
    """The rendered output is not KEY=VALUE lines or a JSON object of strings."""


def parse_output(pieces: Iterable[Piece], template_name: str) -> list[Entry]:
    """The entries of one rendered template, in order (a repeated key: last wins later)."""
    pieces = list(pieces)
    text = "".join(text for text, _ in pieces)
    if text.strip().startswith("{"):
        written = "".join(text for text, from_data in pieces if not from_data)
        return _parse_json(text, template_name, written)
    entries = []
    for number, (chars, data) in enumerate(_lines(pieces), 1):
        entry = _parse_line(chars, data, f"template {template_name}: output line {number}")
        if entry is not None:
            entries.append(entry)
    return entries


def _lines(pieces: Sequence[Piece]) -> Iterable[tuple[str, list[bool]]]:
    """Split at the template's newlines; yield each line's text and per-char origin."""
    chars: list[str] = []
    data: list[bool] = []
    for text, from_data in pieces:
        if from_data:
            chars.append(text)
            data.extend([True] * len(text))
            continue
        first, *rest = text.split("\n")
        chars.append(first)
        data.extend([False] * len(first))
        for segment in rest:
            yield "".join(chars), data
            chars, data = [segment], [False] * len(segment)
    yield "".join(chars), data


def _parse_line(text: str, data: list[bool], where: str) -> Entry | None:
    start, end = _strip_layout(text, data, 0, len(text))
    if start == end:
        return None
    if text[start] == "#" and not data[start]:
        return None
    if text.startswith("export", start) and not any(data[start : start + 6]):
        after = start + 6
        if after < end and text[after] in " \t" and not data[after]:
            start, _ = _strip_layout(text, data, after, end)
    separator = _separator(text, data, start, end)
    if separator < 0:
        raise OutputError(f"{where}: expected KEY=VALUE, found no '='")
    key_start, key_end = _strip_layout(text, data, start, separator)
    key = text[key_start:key_end]
    key_from_data = any(data[key_start:key_end])
    value_start, _ = _strip_layout(text, data, separator + 1, end)
    if not valid_name(key):
        raise OutputError(
            f"{where}: {_shown(key, key_from_data)} is not a valid environment variable name"
        )
    value = _unquote(text, data, value_start, end)
    if "\0" in value:
        raise OutputError(f"{where}: the value of {_named(key, key_from_data)} contains a NUL byte")
    return key, value


def valid_name(name: str) -> bool:
    """``[A-Za-z_][A-Za-z0-9_]*`` (by hand: ``re`` costs start-up time)."""
    return (
        bool(name)
        and not name[0].isdigit()
        and all(char == "_" or (char.isascii() and char.isalnum()) for char in name)
    )


def _strip_layout(text: str, data: list[bool], start: int, end: int) -> tuple[int, int]:
    """Drop whitespace the template wrote at both ends of text[start:end]."""
    while start < end and not data[start] and text[start] in _LAYOUT_SPACE:
        start += 1
    while end > start and not data[end - 1] and text[end - 1] in _LAYOUT_SPACE:
        end -= 1
    return start, end


def _separator(text: str, data: list[bool], start: int, end: int) -> int:
    first_any = -1
    for index in range(start, end):
        if text[index] == "=":
            if not data[index]:
                return index
            if first_any < 0:
                first_any = index
    return first_any


def _unquote(text: str, data: list[bool], start: int, end: int) -> str:
    quote = text[start] if end - start >= 2 else ""
    if quote not in ('"', "'") or text[end - 1] != quote or data[start] or data[end - 1]:
        return text[start:end]
    if quote == "'":
        return text[start + 1 : end - 1]
    out: list[str] = []
    index = start + 1
    while index < end - 1:
        char = text[index]
        if char == "\\" and not data[index] and index + 1 < end - 1 and not data[index + 1]:
            escaped = _ESCAPES.get(text[index + 1])
            if escaped is not None:
                out.append(escaped)
                index += 2
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _parse_json(text: str, template_name: str, written: str) -> list[Entry]:
    """``written``: the template's own text, to tell its keys from keys out of data."""
    where = f"template {template_name}"
    try:
        value = loads(text)
    except ValueError as exc:
        # JSONDecodeError's message is "what: line L column C (char N)": no content.
        raise OutputError(
            f"{where}: output starts with '{{' but is not valid JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise OutputError(f"{where}: output starts with '{{' but is not a JSON object")
    entries = []
    for number, (key, item) in enumerate(value.items(), 1):
        # Shown only when the template's text holds the key (as JSON writes it).
        from_data = f'"{key}"' not in written
        at = f"{where}: entry {number}" if from_data else where
        if not valid_name(key):
            raise OutputError(
                f"{at}: {_shown(key, from_data)} is not a valid environment variable name"
            )
        if not isinstance(item, str):
            raise OutputError(f"{at}: the value of {_named(key, from_data)} is not a JSON string")
        if "\0" in item:
            raise OutputError(f"{at}: the value of {_named(key, from_data)} contains a NUL byte")
        entries.append((key, item))
    return entries


def _shown(key: str, from_data: bool) -> str:
    """A rejected name for a message, unless it came from data or may be a misplaced value."""
    if not key:
        return "an empty name"
    if from_data:
        return "a key from secret data (not shown: it may be a secret value)"
    if len(key) <= 64 and key.isascii() and key.isprintable() and " " not in key:
        return f'the name "{key}"'
    return f"a name of {len(key)} characters (not shown: it may hold secret data)"


def _named(key: str, from_data: bool) -> str:
    """A valid name for a message: the key the template wrote, else a description."""
    return "a key from secret data (not shown)" if from_data else key
