"""The lexer: template text into literal text items and actions' tokens (Go's
text/template/parse/lex.go, as far as the language goes; positions are source offsets)."""

from __future__ import annotations

from transformer.agent.template.errors import fail
from transformer.agent.template.provenance import Literal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SPACE = " \t\r\n"  # Go's spaceChars: the only characters trim markers remove
_LEFT, _RIGHT = "{{", "}}"
KEYWORDS = frozenset(
    ("if", "else", "end", "range", "with", "break", "continue", "define", "template", "block")
)


class Tok:
    __slots__ = ("kind", "pos", "space", "text", "value")

    def __init__(self, kind: str, pos: int, text: str, space: bool, value: Any = None) -> None:
        # field dot var ident string number lparen rparen pipe declare assign comma
        self.kind = kind
        self.pos = pos
        self.text = text
        self.space = space  # preceded by white space inside the action
        self.value = value


class Item:
    """Lexer output: literal text, or one action's tokens."""

    __slots__ = ("pos", "text", "tokens")

    def __init__(self, pos: int, text: str | None, tokens: list[Tok] | None) -> None:
        self.pos = pos
        self.text = text
        self.tokens = tokens


def _space_at(source: str, pos: int) -> bool:
    return pos < len(source) and source[pos] in _SPACE


def _is_alnum(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


def lex(source: str) -> list[Item]:
    items: list[Item] = []
    length = len(source)
    pos = 0
    trim_next = False  # the previous action ended with " -}}"
    while pos <= length:
        start = source.find(_LEFT, pos)
        text_end = length if start < 0 else start
        text = source[pos:text_end]
        text_pos = pos
        if trim_next:
            stripped = text.lstrip(_SPACE)
            text_pos += len(text) - len(stripped)
            text = stripped
        if start >= 0 and source[start + 2 : start + 3] == "-" and _space_at(source, start + 3):
            # "{{- " trims all trailing white space of the preceding text
            text = text.rstrip(_SPACE)
            inner = start + 4
        else:
            inner = start + 2
        if text:
            items.append(Item(text_pos, text, None))
        if start < 0:
            break
        if source.startswith("/*", inner):
            pos, trim_next = _lex_comment(source, start, inner)
            continue
        tokens, pos, trim_next = _lex_action(source, start, inner)
        items.append(Item(start, None, tokens))
    return items


def _at_right(source: str, pos: int) -> tuple[bool, bool, int]:
    """(at a right delimiter, with trim marker, position after it)."""
    if source.startswith(_RIGHT, pos):
        return True, False, pos + 2
    if _space_at(source, pos) and source.startswith("-" + _RIGHT, pos + 1):
        return True, True, pos + 4
    return False, False, pos


def _lex_comment(source: str, start: int, inner: int) -> tuple[int, bool]:
    close = source.find("*/", inner + 2)
    if close < 0:
        fail(start, "unclosed comment")
    at, trim, after = _at_right(source, close + 2)
    if not at:
        fail(start, "comment ends before closing delimiter")
    return after, trim


_PUNCT = {"|": "pipe", "(": "lparen", ")": "rparen", ",": "comma", "=": "assign"}


def _lex_action(source: str, start: int, pos: int) -> tuple[list[Tok], int, bool]:
    tokens: list[Tok] = []
    length = len(source)
    space = False
    while True:
        at, trim, after = _at_right(source, pos)
        if at:
            return tokens, after, trim
        if pos >= length:
            fail(start, "unclosed action")
        char = source[pos]
        if char in _SPACE:
            space = True
            pos += 1
            continue
        tok_start = pos
        if char in _PUNCT:
            tokens.append(Tok(_PUNCT[char], pos, char, space))
            pos += 1
        elif char == ":":
            if source[pos + 1 : pos + 2] != "=":
                fail(pos, "expected :=")
            tokens.append(Tok("declare", pos, ":=", space))
            pos += 2
        elif char == '"':
            pos = _lex_quoted(source, pos, tokens, space)
        elif char == "`":
            close = source.find("`", pos + 1)
            if close < 0:
                fail(pos, "unterminated raw quoted string")
            # strconv.Unquote drops carriage returns from raw strings
            value = Literal(source[pos + 1 : close].replace("\r", ""))
            tokens.append(Tok("string", pos, source[pos : close + 1], space, value))
            pos = close + 1
        elif char == "'":
            pos = _lex_char(source, pos, tokens, space)
        elif char == "$":
            pos += 1
            while pos < length and _is_alnum(source[pos]):
                pos += 1
            tokens.append(Tok("var", tok_start, source[tok_start:pos], space))
            _at_terminator(source, pos, tokens)
        elif char == ".":
            following = source[pos + 1 : pos + 2]
            if following.isdecimal() and following != "":
                pos = _lex_number(source, pos, tokens, space)
            elif following != "" and _is_alnum(following):
                pos += 1
                while pos < length and _is_alnum(source[pos]):
                    pos += 1
                tokens.append(Tok("field", tok_start, source[tok_start + 1 : pos], space))
                _at_terminator(source, pos, tokens)
            else:
                tokens.append(Tok("dot", pos, ".", space))
                pos += 1
                _at_terminator(source, pos, tokens)
        elif char in "+-" or char.isdecimal():
            if char == "-" and not space and tokens and tokens[-1].kind == "field":
                fail(pos, _dashed_key_hint(source, pos, tokens))
            pos = _lex_number(source, pos, tokens, space)
        elif _is_alnum(char):
            while pos < length and _is_alnum(source[pos]):
                pos += 1
            word = source[tok_start:pos]
            tokens.append(Tok("ident", tok_start, word, space))
            _at_terminator(source, pos, tokens)
        else:
            fail(pos, f"unrecognized character in action: U+{ord(char):04X}")
        space = False


_TERMINATORS = _SPACE + ".,|:()"


def _at_terminator(source: str, pos: int, tokens: list[Tok]) -> None:
    """Go's atTerminator: a variable, field, dot or word ends at white space, one of
    . , | : ( ) or the right delimiter; anything else right after it is an error."""
    if pos >= len(source) or source[pos] in _TERMINATORS or source.startswith(_RIGHT, pos):
        return
    if source[pos] == "-" and tokens[-1].kind == "field":
        fail(pos, _dashed_key_hint(source, pos, tokens))
    fail(pos, f"bad character U+{ord(source[pos]):04X} {source[pos]!r}")


def _dashed_key_hint(source: str, pos: int, tokens: list[Tok]) -> str:
    """A common slip with Vault keys such as "api-key": say how to write it."""
    chain = [tokens[-1].text]
    index = len(tokens) - 1
    while index > 0 and not tokens[index].space and tokens[index - 1].kind == "field":
        index -= 1
        chain.insert(0, tokens[index].text)
    end = pos
    while end < len(source) and (source[end] == "-" or _is_alnum(source[end])):
        end += 1
    key = chain[-1] + source[pos:end]
    holder = "." + ".".join(chain[:-1])
    if index > 0 and not tokens[index].space and tokens[index - 1].kind in ("var", "rparen"):
        start = "(...)" if tokens[index - 1].kind == "rparen" else tokens[index - 1].text
        holder = start + (holder if len(chain) > 1 else "")
    return f'field names cannot contain "-": write index {holder} "{key}"'


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}


def _unescape(source: str, pos: int, end: int, quote: str) -> str:
    """Go's strconv.Unquote of the body source[pos:end] (escapes already delimited)."""
    out = bytearray()
    index = pos
    while index < end:
        char = source[index]
        if char != "\\":
            out += char.encode("utf-8", "surrogatepass")
            index += 1
            continue
        kind = source[index + 1]
        if kind in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[kind].encode()
            index += 2
        elif kind == quote:
            out += quote.encode()
            index += 2
        elif kind in _HEX_WIDTH:
            digits = source[index + 2 : index + 2 + _HEX_WIDTH[kind]]
            if len(digits) != _HEX_WIDTH[kind] or any(
                d not in "0123456789abcdefABCDEF" for d in digits
            ):
                fail(index, "invalid syntax in quoted string")
            code = int(digits, 16)
            if kind == "x":
                out.append(code)  # a byte, as in Go
            else:
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    fail(index, "invalid syntax in quoted string")
                out += chr(code).encode()
            index += 2 + _HEX_WIDTH[kind]
        elif kind in "01234567":
            digits = source[index + 1 : index + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                fail(index, "invalid syntax in quoted string")
            out.append(int(digits, 8))
            index += 4
        else:
            fail(index, "invalid syntax in quoted string")
    # Go strings are bytes: invalid UTF-8 from \x or octal escapes stays byte-exact
    return out.decode("utf-8", "surrogateescape")


def _lex_quoted(source: str, pos: int, tokens: list[Tok], space: bool) -> int:
    index = pos + 1
    length = len(source)
    while True:
        if index >= length or source[index] == "\n":
            fail(pos, "unterminated quoted string")
        char = source[index]
        if char == "\\":
            if index + 1 >= length or source[index + 1] == "\n":
                fail(pos, "unterminated quoted string")
            index += 2
            continue
        if char == '"':
            break
        index += 1
    value = Literal(_unescape(source, pos + 1, index, '"'))
    tokens.append(Tok("string", pos, source[pos : index + 1], space, value))
    return index + 1


def _lex_char(source: str, pos: int, tokens: list[Tok], space: bool) -> int:
    index = pos + 1
    length = len(source)
    while True:
        if index >= length or source[index] == "\n":
            fail(pos, "unterminated character constant")
        if source[index] == "\\":
            index += 2
            continue
        if source[index] == "'":
            break
        index += 1
    text = _unescape(source, pos + 1, index, "'")
    if len(text) != 1:
        fail(pos, "malformed character constant")
    code = ord(text)
    if 0xDC80 <= code <= 0xDCFF:
        code -= 0xDC00  # '\xff' is the byte value, kept by surrogateescape
    tokens.append(Tok("number", pos, source[pos : index + 1], space, code))
    return index + 1


def _lex_number(source: str, pos: int, tokens: list[Tok], space: bool) -> int:
    start = pos
    pos = _scan_number(source, pos)
    if source[pos : pos + 1] in ("+", "-"):
        # a complex constant, 1+2i: no spaces, and it must end in i (Go's lexNumber)
        pos = _scan_number(source, pos)
        text = source[start:pos]
        if not text.endswith("i"):
            fail(start, f"bad number syntax: {text!r}")
        try:
            value: complex | int | float = complex(text.replace("_", "")[:-1] + "j")
        except ValueError:
            fail(start, f"bad number syntax: {text!r}")
        tokens.append(Tok("number", start, text, space, value))
        return pos
    text = source[start:pos]
    tokens.append(Tok("number", start, text, space, _number_value(text, start)))
    return pos


def _scan_number(source: str, pos: int) -> int:
    length = len(source)
    if source[pos] in "+-":
        pos += 1
    is_hex = source[pos : pos + 2].lower() == "0x"
    exponent_marks = "pP" if is_hex else "eE"
    while pos < length:
        char = source[pos]
        if _is_alnum(char) or char == "." or (char in "+-" and source[pos - 1] in exponent_marks):
            pos += 1
        else:
            break
    return pos


def _number_value(text: str, pos: int) -> int | float | complex:
    """Go's number constants: an integer unless it is written with . e or p (non-hex);
    complex when it ends in i (an imaginary constant: 2.5i is 0+2.5i)."""
    if text.endswith("i"):
        try:
            imaginary = float(text[:-1])
        except ValueError:
            fail(pos, f"bad number syntax: {text!r}")
        if imaginary in (float("inf"), float("-inf")):
            fail(pos, f"illegal number syntax: {text!r}")
        return complex(0, imaginary)
    body = text.lstrip("+-")
    negative = text.startswith("-")
    lowered = body.lower()
    try:
        if lowered.startswith("0x") and "p" in lowered:
            value: int | float = float.fromhex(body.replace("_", ""))
        elif lowered.startswith(("0x", "0o", "0b")):
            value = int(body, 0)
        elif any(c in lowered for c in ".e"):
            value = float(body)
        elif len(body) > 1 and body.startswith("0"):
            value = int(body.replace("_", ""), 8)  # Go: a leading 0 means octal
        else:
            value = int(body)
    except ValueError:
        fail(pos, f"bad number syntax: {text!r}")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        fail(pos, f"illegal number syntax: {text!r}")
    if isinstance(value, int) and not -(2**63) <= (-value if negative else value) < 2**63:
        fail(pos, f"integer overflow: {text!r}")
    return -value if negative else value
