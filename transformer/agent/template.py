"""The consul-template language as Vault annotations use it: Go ``text/template``
semantics plus consul-template's functions, with output provenance.

    tpl = parse(text, "config.env")          # TemplateError on a syntax error
    tpl.secret_paths()                       # literal read paths, for prefetching
    pieces = tpl.render(secret, env)         # [(text, from_data), ...]

``render`` returns the output as pieces ``(text, from_data)``: ``from_data`` is False
for the template's own literal text (and for string constants written in the template
and printed as they are, e.g. ``{{ "\\n" }}``), True for everything derived from data
(secret values and keys, env, function results). ``printf``, ``print``, ``println``
and ``join`` keep the provenance of their parts: in ``{{ printf "%s=%s\\n" $k $v }}``
the ``=`` and the newline are the template's, ``$k`` and ``$v`` data; a character from
data is never marked as the template's. Adjacent pieces of the same provenance are
merged. The agent splits ``KEY=VALUE`` entries only at newlines that come from the
template, so a multi-line value from Vault stays one value.

Supported: text and actions with trim markers and comments; ``if``/``else if``/
``with``/``else with``/``range`` (lists, maps in sorted key order, ints) with ``else``,
``break``, ``continue``; variables; pipelines; ``define``/``template``/``block``; Go's
builtin functions but ``call``; consul-template's ``secret``, ``env``,
``executeTemplate`` and its string, JSON, base64 and parse helpers (see ``_ARITY``).

Semantics follow Go's ``text/template`` documentation (doc.go) with consul-template's
``error_on_missing_key = true``: a missing map key is an error, and so is printing a
nil value (Go would print ``<no value>``; the agent must never start an application
with half-rendered configuration). ``index`` on a missing key returns nil, as in Go,
so ``{{ if index .Data.data "k" }}`` and ``{{ or (index .Data.data "k") "dflt" }}``
work.

Safety: a template only ever reaches the data the ``secret`` callable returned and the
env mapping through ``env``: field access is a key lookup on mappings, never an
attribute lookup, and there are no methods. Execution is bounded (output size, range
iterations, nesting depth). No error message contains a value, only key names,
function names and type names.
"""

from __future__ import annotations

# Start-up cost: `typing` and `collections.abc` drag in re/enum/functools/collections
# (~15 ms and ~2 MiB on every pod start). `_collections_abc` is already loaded by the
# interpreter; the typing names are needed by mypy only.
from _collections_abc import Mapping

from transformer.agent import _template_fmt as gofmt
from transformer.agent._template_fmt import JSONNumber

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    SecretFunc = Callable[[str, list[str]], Mapping[str, Any]]

__all__ = ["JSONNumber", "Template", "TemplateError", "parse"]

MAX_OUTPUT_CHARS = 16 * 1024 * 1024
MAX_RANGE_ITERATIONS = 1_000_000
MAX_NESTING = 100

Pieces = list[tuple[str, bool]]


class TemplateError(Exception):
    """A template syntax or execution error: ``template <name>:<line>:<col>: <what>``."""

    def __init__(self, name: str, line: int, col: int, what: str) -> None:
        super().__init__(f"template {name}:{line}:{col}: {what}")
        self.name = name
        self.line = line
        self.col = col
        self.what = what


class _Literal(str):
    """A string constant written in the template (not data): printed as template text."""

    __slots__ = ()


class _Composed(str):
    """A function result (printf, print, println, join) that knows which of its
    characters come from template constants and which from data.

    It behaves as a plain (data) string everywhere except when printed, where its
    pieces keep their own provenance: with ``{{ printf "%s=%s\n" $k $v }}`` the
    ``=`` and the newline are the template's, the key and the value are data.
    """

    pieces: tuple[tuple[str, bool], ...] = ()


def _composed(pieces: list[tuple[str, bool]]) -> _Composed:
    merged: list[tuple[str, bool]] = []
    for text, from_data in pieces:
        if not text:
            continue
        if merged and merged[-1][1] == from_data:
            merged[-1] = (merged[-1][0] + text, from_data)
        else:
            merged.append((text, from_data))
    result = _Composed("".join(text for text, _ in merged))
    result.pieces = tuple(merged)
    return result


def _pieces_of(value: object, text: str) -> list[tuple[str, bool]]:
    """Provenance of ``text``, the formatting of an operand ``value``: a template
    constant (or a composed value printed verbatim) keeps its own; anything else is
    data. Formatting a constant (padding, quoting) only adds characters that come
    from the template, so the result is still the template's."""
    if type(value) is _Literal:
        return [(text, False)]
    if type(value) is _Composed and text == value:
        return list(value.pieces)
    return [(text, True)]


class _Located(Exception):
    """An error at a source offset; turned into a TemplateError by the public API."""

    def __init__(self, pos: int, what: str) -> None:
        super().__init__(what)
        self.pos = pos
        self.what = what


def _fail(pos: int, what: str) -> NoReturn:
    raise _Located(pos, what)


# ============================================================================ lexer

_SPACE = " \t\r\n"  # Go's spaceChars: the only characters trim markers remove
_LEFT, _RIGHT = "{{", "}}"
_KEYWORDS = frozenset(
    ("if", "else", "end", "range", "with", "break", "continue", "define", "template", "block")
)


class _Tok:
    __slots__ = ("kind", "pos", "space", "text", "value")

    def __init__(self, kind: str, pos: int, text: str, space: bool, value: Any = None) -> None:
        # field dot var ident string number lparen rparen pipe declare assign comma
        self.kind = kind
        self.pos = pos
        self.text = text
        self.space = space  # preceded by white space inside the action
        self.value = value


class _Item:
    """Lexer output: literal text, or one action's tokens."""

    __slots__ = ("pos", "text", "tokens")

    def __init__(self, pos: int, text: str | None, tokens: list[_Tok] | None) -> None:
        self.pos = pos
        self.text = text
        self.tokens = tokens


def _space_at(source: str, pos: int) -> bool:
    return pos < len(source) and source[pos] in _SPACE


def _is_alnum(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


def _lex(source: str) -> list[_Item]:
    items: list[_Item] = []
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
            items.append(_Item(text_pos, text, None))
        if start < 0:
            break
        if source.startswith("/*", inner):
            pos, trim_next = _lex_comment(source, start, inner)
            continue
        tokens, pos, trim_next = _lex_action(source, start, inner)
        items.append(_Item(start, None, tokens))
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
        _fail(start, "unclosed comment")
    at, trim, after = _at_right(source, close + 2)
    if not at:
        _fail(start, "comment ends before closing delimiter")
    return after, trim


_PUNCT = {"|": "pipe", "(": "lparen", ")": "rparen", ",": "comma", "=": "assign"}


def _lex_action(source: str, start: int, pos: int) -> tuple[list[_Tok], int, bool]:
    tokens: list[_Tok] = []
    length = len(source)
    space = False
    while True:
        at, trim, after = _at_right(source, pos)
        if at:
            return tokens, after, trim
        if pos >= length:
            _fail(start, "unclosed action")
        char = source[pos]
        if char in _SPACE:
            space = True
            pos += 1
            continue
        tok_start = pos
        if char in _PUNCT:
            tokens.append(_Tok(_PUNCT[char], pos, char, space))
            pos += 1
        elif char == ":":
            if source[pos + 1 : pos + 2] != "=":
                _fail(pos, "expected :=")
            tokens.append(_Tok("declare", pos, ":=", space))
            pos += 2
        elif char == '"':
            pos = _lex_quoted(source, pos, tokens, space)
        elif char == "`":
            close = source.find("`", pos + 1)
            if close < 0:
                _fail(pos, "unterminated raw quoted string")
            # strconv.Unquote drops carriage returns from raw strings
            value = _Literal(source[pos + 1 : close].replace("\r", ""))
            tokens.append(_Tok("string", pos, source[pos : close + 1], space, value))
            pos = close + 1
        elif char == "'":
            pos = _lex_char(source, pos, tokens, space)
        elif char == "$":
            pos += 1
            while pos < length and _is_alnum(source[pos]):
                pos += 1
            tokens.append(_Tok("var", tok_start, source[tok_start:pos], space))
        elif char == ".":
            following = source[pos + 1 : pos + 2]
            if following.isdecimal() and following != "":
                pos = _lex_number(source, pos, tokens, space)
            elif following != "" and _is_alnum(following):
                pos += 1
                while pos < length and _is_alnum(source[pos]):
                    pos += 1
                tokens.append(_Tok("field", tok_start, source[tok_start + 1 : pos], space))
            else:
                tokens.append(_Tok("dot", pos, ".", space))
                pos += 1
        elif char in "+-" or char.isdecimal():
            if char == "-" and not space and tokens and tokens[-1].kind == "field":
                _fail(pos, _dashed_key_hint(source, pos, tokens))
            pos = _lex_number(source, pos, tokens, space)
        elif _is_alnum(char):
            while pos < length and _is_alnum(source[pos]):
                pos += 1
            word = source[tok_start:pos]
            tokens.append(_Tok("ident", tok_start, word, space))
        else:
            _fail(pos, f"unrecognized character in action: U+{ord(char):04X}")
        space = False


def _dashed_key_hint(source: str, pos: int, tokens: list[_Tok]) -> str:
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
                _fail(index, "invalid syntax in quoted string")
            code = int(digits, 16)
            if kind == "x":
                out.append(code)  # a byte, as in Go
            else:
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    _fail(index, "invalid syntax in quoted string")
                out += chr(code).encode()
            index += 2 + _HEX_WIDTH[kind]
        elif kind in "01234567":
            digits = source[index + 1 : index + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                _fail(index, "invalid syntax in quoted string")
            out.append(int(digits, 8))
            index += 4
        else:
            _fail(index, "invalid syntax in quoted string")
    # Go strings are bytes: invalid UTF-8 from \x or octal escapes stays byte-exact
    return out.decode("utf-8", "surrogateescape")


def _lex_quoted(source: str, pos: int, tokens: list[_Tok], space: bool) -> int:
    index = pos + 1
    length = len(source)
    while True:
        if index >= length or source[index] == "\n":
            _fail(pos, "unterminated quoted string")
        char = source[index]
        if char == "\\":
            if index + 1 >= length or source[index + 1] == "\n":
                _fail(pos, "unterminated quoted string")
            index += 2
            continue
        if char == '"':
            break
        index += 1
    value = _Literal(_unescape(source, pos + 1, index, '"'))
    tokens.append(_Tok("string", pos, source[pos : index + 1], space, value))
    return index + 1


def _lex_char(source: str, pos: int, tokens: list[_Tok], space: bool) -> int:
    index = pos + 1
    length = len(source)
    while True:
        if index >= length or source[index] == "\n":
            _fail(pos, "unterminated character constant")
        if source[index] == "\\":
            index += 2
            continue
        if source[index] == "'":
            break
        index += 1
    text = _unescape(source, pos + 1, index, "'")
    if len(text) != 1:
        _fail(pos, "malformed character constant")
    code = ord(text)
    if 0xDC80 <= code <= 0xDCFF:
        code -= 0xDC00  # '\xff' is the byte value, kept by surrogateescape
    tokens.append(_Tok("number", pos, source[pos : index + 1], space, code))
    return index + 1


def _lex_number(source: str, pos: int, tokens: list[_Tok], space: bool) -> int:
    start = pos
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
    text = source[start:pos]
    tokens.append(_Tok("number", start, text, space, _number_value(text, start)))
    return pos


def _number_value(text: str, pos: int) -> int | float:
    """Go's number constants: an integer unless it is written with . e or p (non-hex)."""
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
        _fail(pos, f"bad number syntax: {text!r}")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        _fail(pos, f"illegal number syntax: {text!r}")
    if isinstance(value, int) and not -(2**63) <= (-value if negative else value) < 2**63:
        _fail(pos, f"integer overflow: {text!r}")
    return -value if negative else value


# ============================================================================ nodes

_NO_ARG: Any = object()  # "no piped value" marker for the first command of a pipeline


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Const(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: Any) -> None:
        super().__init__(pos)
        self.value = value


class _DotNode(_Node):
    __slots__ = ()


class _FieldNode(_Node):
    __slots__ = ("names",)

    def __init__(self, pos: int, names: list[str]) -> None:
        super().__init__(pos)
        self.names = names


class _VarNode(_Node):
    __slots__ = ("name", "names")

    def __init__(self, pos: int, name: str, names: list[str]) -> None:
        super().__init__(pos)
        self.name = name
        self.names = names


class _FuncNode(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class _ChainNode(_Node):
    """A parenthesized pipeline, optionally followed by fields: ``(pipeline).a.b``."""

    __slots__ = ("names", "pipe")

    def __init__(self, pos: int, pipe: _Pipe, names: list[str]) -> None:
        super().__init__(pos)
        self.pipe = pipe
        self.names = names


class _Cmd(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int, args: list[_Node]) -> None:
        super().__init__(pos)
        self.args = args


class _Pipe(_Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int, decl: list[str], is_assign: bool, cmds: list[_Cmd]) -> None:
        super().__init__(pos)
        self.decl = decl
        self.is_assign = is_assign
        self.cmds = cmds


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        super().__init__(pos)
        self.pipe = pipe


class _Control(_Node):
    """``if``/``with``/``range``; ``else if`` is an ``if`` alone in the else list."""

    __slots__ = ("body", "else_body", "kind", "pipe")

    def __init__(
        self, pos: int, kind: str, pipe: _Pipe, body: list[_Node], else_body: list[_Node] | None
    ) -> None:
        super().__init__(pos)
        self.kind = kind
        self.pipe = pipe
        self.body = body
        self.else_body = else_body


class _Call(_Node):
    """``{{template "name" pipeline}}`` (and the call half of ``{{block}}``)."""

    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: _Pipe | None) -> None:
        super().__init__(pos)
        self.name = name
        self.pipe = pipe


class _Jump(_Node):
    __slots__ = ("kind",)

    def __init__(self, pos: int, kind: str) -> None:
        super().__init__(pos)
        self.kind = kind  # "break" | "continue"


# ============================================================================ parser

# name -> (minimum, maximum or -1 for variadic) argument count, piped value included
_ARITY: dict[str, tuple[int, int]] = {
    "and": (1, -1),
    "base64Decode": (1, 1),
    "base64Encode": (1, 1),
    "contains": (2, 2),
    "env": (1, 1),
    "eq": (2, -1),
    "ge": (2, 2),
    "gt": (2, 2),
    "hasPrefix": (2, 2),
    "hasSuffix": (2, 2),
    "index": (1, -1),
    "join": (2, 2),
    "le": (2, 2),
    "len": (1, 1),
    "lt": (2, 2),
    "ne": (2, 2),
    "not": (1, 1),
    "or": (1, -1),
    "print": (0, -1),
    "printf": (1, -1),
    "println": (0, -1),
    "replaceAll": (3, 3),
    "secret": (1, -1),
    "split": (2, 2),
    "toJSON": (1, 1),
    "toJSONPretty": (1, 1),
    "toLower": (1, 1),
    "toUpper": (1, 1),
    "trimSpace": (1, 1),
    # Go's other builtins
    "html": (0, -1),
    "js": (0, -1),
    "urlquery": (0, -1),
    "slice": (1, 4),
    # further consul-template helpers that Vault annotations use
    "base64URLDecode": (1, 1),
    "base64URLEncode": (1, 1),
    "in": (2, 2),
    "indent": (2, 2),
    "parseBool": (1, 1),
    "parseFloat": (1, 1),
    "parseInt": (1, 1),
    "parseJSON": (1, 1),
    "sha256Hex": (1, 1),
    "toTitle": (1, 1),
    "executeTemplate": (1, 2),
}


def _is_empty(nodes: list[_Node]) -> bool:
    return all(isinstance(node, _Text) and not node.text.strip() for node in nodes)


class _Parser:
    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.index = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.templates: dict[str, list[_Node]] = {}  # {{define}}d and {{block}}ed
        # per-action token cursor
        self.toks: list[_Tok] = []
        self.ti = 0
        self.action_pos = 0

    # -- token cursor ---------------------------------------------------------
    def _peek(self) -> _Tok | None:
        return self.toks[self.ti] if self.ti < len(self.toks) else None

    def _next(self) -> _Tok | None:
        tok = self._peek()
        if tok is not None:
            self.ti += 1
        return tok

    def _here(self) -> int:
        tok = self._peek()
        return tok.pos if tok is not None else self.action_pos

    # -- structure --------------------------------------------------------------
    def parse(self) -> list[_Node]:
        nodes, stop = self._list()
        if stop is not None:
            _fail(stop.pos, f"unexpected {{{{{stop.tokens[0].text}}}}}")  # type: ignore[index]
        return nodes

    def _list(self) -> tuple[list[_Node], _Item | None]:
        """Nodes up to an ``{{end}}`` or ``{{else ...}}`` (returned) or the end of input."""
        nodes: list[_Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if item.tokens is None:
                nodes.append(_Text(item.pos, item.text or ""))
                continue
            self.toks, self.ti, self.action_pos = item.tokens, 0, item.pos
            first = self._peek()
            word = first.text if first is not None and first.kind == "ident" else ""
            if word in ("end", "else"):
                return nodes, item
            if word in ("if", "with", "range"):
                self._next()
                nodes.append(self._control(word, item.pos))
            elif word in ("break", "continue"):
                self._next()
                if self.range_depth == 0:
                    _fail(item.pos, f"{{{{{word}}}}} outside {{{{range}}}}")
                self._expect_end(word)
                nodes.append(_Jump(item.pos, word))
            elif word in ("define", "block"):
                if self.depth and word == "define":
                    _fail(item.pos, "{{define}} is allowed at the top level only")
                self._next()
                name = self._template_name(word)
                pipe = self._pipeline(word, allow_decl=False) if word == "block" else None
                if word == "define":
                    self._expect_end("define")
                self._definition(name, item.pos)
                if word == "block":
                    nodes.append(_Call(item.pos, name, pipe))
            elif word == "template":
                self._next()
                name = self._template_name(word)
                pipe = None
                if self._peek() is not None:
                    pipe = self._pipeline("template", allow_decl=False)
                nodes.append(_Call(item.pos, name, pipe))
            else:
                pipe = self._pipeline("command", allow_decl=True)
                nodes.append(_Action(item.pos, pipe))
        return nodes, None

    def _template_name(self, context: str) -> str:
        tok = self._next()
        if tok is None or tok.kind != "string":
            _fail(self.action_pos, f"{{{{{context}}}}} needs a template name in quotes")
        return str(tok.value)

    def _definition(self, name: str, pos: int) -> None:
        """The body of a {{define}} or {{block}}: its own variables, no enclosing range."""
        saved_vars, saved_range = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        self.depth += 1
        body, stop = self._list()
        self.depth -= 1
        if stop is None:
            _fail(pos, f"unexpected EOF: {{{{define {name!r}}}}} has no {{{{end}}}}")
        assert stop.tokens is not None
        if stop.tokens[0].text != "end":
            _fail(stop.pos, "unexpected {{else}} in definition")
        self.toks, self.ti = stop.tokens, 1
        self._expect_end("end")
        self.vars, self.range_depth = saved_vars, saved_range
        # Go: redefining is allowed only when one of the two definitions is empty
        if name in self.templates and not _is_empty(body) and not _is_empty(self.templates[name]):
            _fail(pos, f"multiple definition of template {name!r}")
        if name not in self.templates or not _is_empty(body):
            self.templates[name] = body

    def _expect_end(self, context: str) -> None:
        extra = self._peek()
        if extra is not None:
            _fail(extra.pos, f"unexpected {extra.text!r} in {context}")

    def _control(self, kind: str, pos: int) -> _Control:
        self.depth += 1
        if self.depth > MAX_NESTING:
            _fail(pos, "template nests too deeply")
        mark = len(self.vars)
        pipe = self._pipeline(kind, allow_decl=True, allow_two=kind == "range")
        if kind == "range":
            self.range_depth += 1
        body, stop = self._list()
        if kind == "range":
            self.range_depth -= 1
        if stop is None:
            _fail(pos, f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}")
        else_body: list[_Node] | None = None
        assert stop.tokens is not None
        if stop.tokens[0].text == "else":
            self.toks, self.ti, self.action_pos = stop.tokens, 1, stop.pos
            follow = self._peek()
            if follow is not None and follow.kind == "ident" and follow.text in ("if", "with"):
                if follow.text != kind:
                    _fail(follow.pos, f"{{{{else {follow.text}}}}} inside {{{{{kind}}}}}")
                # {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}:
                # the nested control consumes the shared {{end}}
                self._next()
                else_body = [self._control(follow.text, follow.pos)]
            else:
                self._expect_end("else")
                else_body, stop = self._list()
                if stop is None:
                    _fail(pos, f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}")
                assert stop.tokens is not None
                if stop.tokens[0].text != "end":
                    _fail(stop.pos, "expected {{end}}; found {{else}}")
                self.toks, self.ti = stop.tokens, 1
                self._expect_end("end")
        else:
            self.toks, self.ti = stop.tokens or [], 1
            self._expect_end("end")
        del self.vars[mark:]
        self.depth -= 1
        return _Control(pos, kind, pipe, body, else_body)

    # -- pipelines --------------------------------------------------------------
    def _pipeline(
        self, context: str, allow_decl: bool, allow_two: bool = False, closer: str = ""
    ) -> _Pipe:
        pos = self._here()
        decl: list[str] = []
        is_assign = False
        first = self._peek()
        if allow_decl and first is not None and first.kind == "var":
            after = self.toks[self.ti + 1] if self.ti + 1 < len(self.toks) else None
            if after is not None and after.kind in ("declare", "assign", "comma"):
                decl.append(first.text)
                self.ti += 2
                if after.kind == "comma":
                    second = self._next()
                    op = self._next()
                    if not allow_two:
                        _fail(after.pos, f"too many declarations in {context}")
                    if (
                        second is None
                        or second.kind != "var"
                        or op is None
                        or op.kind
                        not in (
                            "declare",
                            "assign",
                        )
                    ):
                        _fail(after.pos, "range can only initialize variables")
                    decl.append(second.text)
                    after = op
                is_assign = after.kind == "assign"
                if is_assign:
                    for name in decl:
                        if name not in self.vars:
                            _fail(first.pos, f"undefined variable {name!r}")
                if "$" in decl:
                    _fail(first.pos, "cannot declare or assign $")
        cmds: list[_Cmd] = []
        while True:
            cmds.append(self._command(closer, piped=bool(cmds), context=context))
            tok = self._peek()
            if tok is None or (closer and tok.kind == closer):
                break
            if tok.kind != "pipe":
                _fail(tok.pos, f"unexpected {tok.text!r} in {context}")
            self._next()
        if not is_assign:
            self.vars.extend(decl)
        return _Pipe(pos, decl, is_assign, cmds)

    def _command(self, closer: str, piped: bool, context: str) -> _Cmd:
        pos = self._here()
        args: list[_Node] = []
        while True:
            tok = self._peek()
            if tok is None or tok.kind == "pipe" or (closer and tok.kind == closer):
                break
            if args and not tok.space:
                _fail(tok.pos, f"unexpected {tok.text!r} in operand")
            args.append(self._operand(in_call=bool(args)))
        if not args:
            # Go: "missing value for if" for an empty control, else "for command"
            _fail(pos, f"missing value for {context if context in _KEYWORDS else 'command'}")
        head = args[0]
        count = len(args) - 1 + (1 if piped else 0)
        if isinstance(head, _FuncNode):
            self._check_arity(head, count)
        elif count:
            _fail(head.pos, "can't give argument to non-function")
        return _Cmd(head.pos, args)

    @staticmethod
    def _check_arity(head: _FuncNode, count: int) -> None:
        low, high = _ARITY[head.name]
        if high < 0 and count < low:
            _fail(
                head.pos, f"wrong number of args for {head.name}: want at least {low} got {count}"
            )
        if high >= 0 and not low <= count <= high:
            want = str(low) if low == high else f"{low} to {high}"
            _fail(head.pos, f"wrong number of args for {head.name}: want {want} got {count}")

    def _operand(self, in_call: bool) -> _Node:
        tok = self._next()
        assert tok is not None
        node: _Node
        kind = tok.kind
        if kind == "ident":
            word = tok.text
            if word == "true" or word == "false":
                node = _Const(tok.pos, word == "true")
            elif word == "nil":
                if not in_call:
                    _fail(tok.pos, "nil is not a command")
                node = _Const(tok.pos, None)
            elif word in _KEYWORDS:
                _fail(tok.pos, f"unexpected <{word}> in command")
            elif word in _ARITY:
                node = _FuncNode(tok.pos, word)
                if in_call:
                    # a function name used as an argument is called with no arguments
                    self._check_arity(node, 0)
            else:
                _fail(tok.pos, f"function {word!r} not defined")
        elif kind == "dot":
            node = _DotNode(tok.pos)
        elif kind == "field":
            node = _FieldNode(tok.pos, [tok.text])
            self._chain(node.names)
            return node
        elif kind == "var":
            if tok.text not in self.vars:
                _fail(tok.pos, f"undefined variable {tok.text!r}")
            node = _VarNode(tok.pos, tok.text, [])
            self._chain(node.names)
            return node
        elif kind in ("string", "number"):
            node = _Const(tok.pos, tok.value)
        elif kind == "lparen":
            self.depth += 1
            if self.depth > MAX_NESTING:
                _fail(tok.pos, "template nests too deeply")
            pipe = self._pipeline("parenthesized pipeline", allow_decl=False, closer="rparen")
            close = self._next()
            if close is None or close.kind != "rparen":
                _fail(tok.pos, "unclosed left paren")
            self.depth -= 1
            chain = _ChainNode(tok.pos, pipe, [])
            self._chain(chain.names)
            return chain
        else:
            _fail(tok.pos, f"unexpected {tok.text!r} in operand")
        follow = self._peek()
        if follow is not None and follow.kind == "field" and not follow.space:
            _fail(follow.pos, f"unexpected . after term {tok.text!r}")
        return node

    def _chain(self, names: list[str]) -> None:
        while True:
            tok = self._peek()
            if tok is None or tok.kind != "field" or tok.space:
                return
            names.append(tok.text)
            self.ti += 1


# ============================================================================ execution


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _truth(value: object) -> bool:
    """Go's template truth: false, 0, nil and empty strings/lists/maps are false."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) > 0
    return True


def _field(value: object, name: str, pos: int) -> Any:
    if isinstance(value, Mapping):
        if name in value:
            return value[name]
        _fail(pos, f"map has no entry for key {name!r}")
    if value is None:
        _fail(pos, f"nil data; no entry for key {name!r}")
    _fail(pos, f"can't evaluate field {name} in type {gofmt.go_type(value)}")


def _secret_view(response: Mapping[str, Any]) -> dict[str, Any]:
    """The response as consul-template's template sees it (its Secret struct's fields)."""
    duration = response.get("lease_duration") or 0
    if isinstance(duration, str) and duration.isdigit():
        duration = int(duration)  # a JSONNumber: the Go struct field is an int
    return {
        "Data": response.get("data"),
        "LeaseDuration": duration,
        "LeaseID": response.get("lease_id") or "",
        "Renewable": bool(response.get("renewable")),
        "RequestID": response.get("request_id") or "",
        "Warnings": list(response.get("warnings") or []),
    }


class _Output:
    """Output chunks with their provenance; merged once at the end (appending to one
    growing string per write would be quadratic)."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[tuple[str, bool]] = []
        self.size = 0

    def write(self, text: str, from_data: bool, pos: int) -> None:
        if not text:
            return
        self.size += len(text)
        if self.size > MAX_OUTPUT_CHARS:
            _fail(pos, f"output is larger than {MAX_OUTPUT_CHARS} characters")
        self.chunks.append((text, from_data))

    def pieces(self) -> Pieces:
        merged: Pieces = []
        run: list[str] = []
        run_flag = False
        for text, from_data in self.chunks:
            if run and from_data != run_flag:
                merged.append(("".join(run), run_flag))
                run = []
            run.append(str(text))  # plain str: no _Literal/_Composed leaves the engine
            run_flag = from_data
        if run:
            merged.append(("".join(run), run_flag))
        return merged


class _Exec:
    def __init__(
        self, secret: SecretFunc, env: Mapping[str, str], templates: dict[str, list[_Node]]
    ) -> None:
        self.secret = secret
        self.env = env
        self.templates = templates
        self.call_depth = 0
        self.vars: list[list[Any]] = [["$", None]]
        self.out = _Output()
        self.iterations = 0
        self.cache: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}

    # -- statements -------------------------------------------------------------
    def walk(self, nodes: list[_Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                self.out.write(node.text, False, node.pos)
            elif isinstance(node, _Action):
                value = self.pipeline(node.pipe, dot)
                if not node.pipe.decl:
                    self.emit(value, node.pos)
            elif isinstance(node, _Control):
                if node.kind == "range":
                    self.walk_range(node, dot)
                else:
                    self.walk_if(node, dot)
            elif isinstance(node, _Call):
                value = None if node.pipe is None else self.pipeline(node.pipe, dot)
                self.call_template(node.name, value, node.pos)
            elif isinstance(node, _Jump):
                raise _Break if node.kind == "break" else _Continue

    def call_template(self, name: str, dot: Any, pos: int) -> None:
        body = self.templates.get(name)
        if body is None:
            _fail(pos, f"no template {name!r} defined")
        self.call_depth += 1
        if self.call_depth > MAX_NESTING:
            _fail(pos, "template calls nest too deeply")
        saved = self.vars
        self.vars = [["$", dot]]  # a template starts with $ = its dot and no variables
        try:
            self.walk(body, dot)
        finally:
            self.vars = saved
            self.call_depth -= 1

    def emit(self, value: Any, pos: int) -> None:
        if value is None:
            _fail(pos, "cannot print nil (a missing or null value)")
        if type(value) is _Literal:
            self.out.write(value, False, pos)
        elif type(value) is _Composed:
            for text, from_data in value.pieces:
                self.out.write(text, from_data, pos)
        elif isinstance(value, str):
            self.out.write(value, True, pos)
        else:
            self.out.write(gofmt.sprint_value(value), True, pos)

    def walk_if(self, node: _Control, dot: Any) -> None:
        mark = len(self.vars)
        value = self.pipeline(node.pipe, dot)
        if _truth(value):
            self.walk(node.body, value if node.kind == "with" else dot)
        elif node.else_body is not None:
            self.walk(node.else_body, dot)
        del self.vars[mark:]

    def walk_range(self, node: _Control, dot: Any) -> None:
        mark = len(self.vars)
        value = self.pipeline(node.pipe, dot)
        pairs: Any
        if isinstance(value, Mapping):
            pairs = ((key, value[key]) for key in sorted(value))
        elif isinstance(value, (list, tuple)):
            pairs = enumerate(value)
        elif gofmt.is_int(value):
            if len(node.pipe.decl) > 1:
                _fail(node.pos, "can't use range over int with two variables")
            pairs = ((i, i) for i in range(value))
        elif value is None:
            pairs = ()
        else:
            _fail(node.pos, f"range can't iterate over {gofmt.go_type(value)}")
        decl = node.pipe.decl
        empty = True
        for key, elem in pairs:
            empty = False
            self.iterations += 1
            if self.iterations > MAX_RANGE_ITERATIONS:
                _fail(node.pos, f"more than {MAX_RANGE_ITERATIONS} range iterations")
            if node.pipe.is_assign:
                # {{range $k, $v = ...}} assigns variables declared earlier
                if len(decl) == 2:
                    self.assign(decl[0], key)
                if decl:
                    self.assign(decl[-1], elem)
            elif len(decl) == 1:
                self.vars[mark][1] = elem
            elif len(decl) == 2:
                self.vars[mark][1] = key
                self.vars[mark + 1][1] = elem
            inner = len(self.vars)
            try:
                self.walk(node.body, elem)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[inner:]
        if empty and node.else_body is not None:
            self.walk(node.else_body, dot)
        del self.vars[mark:]

    # -- expressions ------------------------------------------------------------
    def pipeline(self, pipe: _Pipe, dot: Any) -> Any:
        value: Any = _NO_ARG
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        if pipe.decl:
            if pipe.is_assign:
                self.assign(pipe.decl[0], value)
            else:
                for name in pipe.decl:
                    self.vars.append([name, value])
        return value

    def assign(self, name: str, value: Any) -> None:
        for slot in reversed(self.vars):
            if slot[0] == name:
                slot[1] = value
                return
        _fail(0, f"undefined variable {name!r}")  # pragma: no cover - caught at parse time

    def lookup(self, name: str, pos: int) -> Any:
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot[1]
        _fail(pos, f"undefined variable {name!r}")

    def command(self, cmd: _Cmd, dot: Any, final: Any) -> Any:
        head = cmd.args[0]
        if isinstance(head, _FuncNode):
            return self.call(head, cmd.args[1:], dot, final)
        return self.arg(head, dot)

    def arg(self, node: _Node, dot: Any) -> Any:
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _FieldNode):
            value = dot
        elif isinstance(node, _VarNode):
            value = self.lookup(node.name, node.pos)
        elif isinstance(node, _ChainNode):
            value = self.pipeline(node.pipe, dot)
        elif isinstance(node, _DotNode):
            return dot
        elif isinstance(node, _FuncNode):
            return self.call(node, [], dot, _NO_ARG)
        else:  # pragma: no cover - the parser builds no other operand
            _fail(node.pos, "unexpected operand")
        for name in node.names:
            value = _field(value, name, node.pos)
        return value

    def call(self, head: _FuncNode, arg_nodes: list[_Node], dot: Any, final: Any) -> Any:
        name = head.name
        if name in ("and", "or"):
            # short-circuit: return the first deciding argument, or the last one
            want = name == "or"
            value: Any = None
            for node in arg_nodes:
                value = self.arg(node, dot)
                if _truth(value) == want:
                    return value
            if final is not _NO_ARG:
                value = final
            return value
        args = [self.arg(node, dot) for node in arg_nodes]
        if final is not _NO_ARG:
            args.append(final)
        if name == "secret":
            return self.call_secret(head, args)
        if name == "env":
            key = _want_str(head, args, 0)
            return self.env.get(key, "")
        if name == "executeTemplate":
            # consul-template: executeTemplate NAME [DATA] returns the rendered text
            template_name = _want_str(head, args, 0)
            outer = self.out
            self.out = _Output()
            self.out.size = outer.size
            try:
                self.call_template(template_name, args[1] if len(args) > 1 else None, head.pos)
                pieces = self.out.pieces()
            finally:
                self.out = outer
            return _composed(pieces)
        func = _FUNCS[name]
        try:
            return func(args)
        except _ArgError as error:
            _fail(head.pos, f"error calling {name}: {error.what}")

    def call_secret(self, head: _FuncNode, args: list[Any]) -> dict[str, Any]:
        for index in range(len(args)):
            _want_str(head, args, index)
        path = str(args[0])
        data = [str(arg) for arg in args[1:]]
        for index, pair in enumerate(data):
            # consul-template: write data are "key=value" arguments (empty ones skipped)
            if pair and "=" not in pair:
                _fail(head.pos, f"error calling secret: argument {index + 2} is not key=value")
        key = (path, tuple(data))
        cached = self.cache.get(key)
        if cached is None:
            # errors of the callable (Vault errors) propagate unchanged to the caller
            response = self.secret(path, data)
            if not isinstance(response, Mapping):
                _fail(head.pos, "error calling secret: the response is not a JSON object")
            cached = self.cache[key] = _secret_view(response)
        return cached


class _ArgError(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _want_str(head: _FuncNode, args: list[Any], index: int) -> str:
    value = args[index]
    if not isinstance(value, str):
        _fail(
            head.pos,
            f"error calling {head.name}: argument {index + 1}: expected string; "
            f"got {gofmt.go_type(value)}",
        )
    return value


# ============================================================================ functions
# Each takes the evaluated arguments (the piped value last) and raises _ArgError.


def _str_arg(args: list[Any], index: int) -> str:
    value = args[index]
    if not isinstance(value, str):
        raise _ArgError(f"argument {index + 1}: expected string; got {gofmt.go_type(value)}")
    return str(value)


def _fn_printf(args: list[Any]) -> str:
    format_text, operands = _str_arg(args, 0), args[1:]
    chunks = gofmt.sprintf_chunks(format_text, operands)
    if type(args[0]) is not _Literal and type(args[0]) is not _Composed:
        return "".join(text for text, _ in chunks)  # a format computed from data
    pieces: list[tuple[str, bool]] = []
    for text, source in chunks:
        if source == gofmt.FROM_FORMAT:
            pieces.extend(_pieces_of(args[0], text))
        elif source == gofmt.FROM_EXTRA:
            pieces.append((text, True))
        else:
            pieces.extend(_pieces_of(operands[source], text))
    return _composed(pieces)


def _fn_print(args: list[Any]) -> str:
    # fmt.Sprint: a space between operands when neither is a string
    pieces: list[tuple[str, bool]] = []
    previous_is_string = True
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not previous_is_string:
            pieces.append((" ", False))
        pieces.extend(_pieces_of(arg, gofmt.sprint_value(arg)))
        previous_is_string = is_string
    return _composed(pieces)


def _fn_println(args: list[Any]) -> str:
    # fmt.Sprintln: always a space between operands, and a final newline
    pieces: list[tuple[str, bool]] = []
    for index, arg in enumerate(args):
        if index > 0:
            pieces.append((" ", False))
        pieces.extend(_pieces_of(arg, gofmt.sprint_value(arg)))
    pieces.append(("\n", False))
    return _composed(pieces)


def _fn_len(args: list[Any]) -> int:
    value = args[0]
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogateescape"))  # Go: len of a string is bytes
    if isinstance(value, (list, tuple, Mapping)):
        return len(value)
    raise _ArgError(f"len of type {gofmt.go_type(value)}")


def _fn_index(args: list[Any]) -> Any:
    item = args[0]
    if item is None:
        raise _ArgError("index of untyped nil")
    for key in args[1:]:
        if isinstance(item, Mapping):
            if not isinstance(key, str):
                raise _ArgError(f"value has type {gofmt.go_type(key)}; should be string")
            item = item.get(key)  # Go: a missing key gives the zero value (nil)
        elif isinstance(item, (list, tuple, str)):
            if not gofmt.is_int(key):
                raise _ArgError(f"cannot index slice/array with type {gofmt.go_type(key)}")
            sequence: Any = (
                item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
            )
            if not 0 <= key < len(sequence):
                raise _ArgError(f"index out of range (length {len(sequence)})")
            item = sequence[key]
        elif item is None:
            raise _ArgError("index of untyped nil")
        else:
            raise _ArgError(f"can't index item of type {gofmt.go_type(item)}")
    return item


def _kind(value: object) -> str:
    """Go's basicKind for comparisons."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _fn_eq(args: list[Any]) -> bool:
    first = args[0]
    kind1 = _kind(first)
    for other in args[1:]:
        kind2 = _kind(other)
        if kind1 == "other" or kind2 == "other":
            if kind1 != "nil" and kind2 != "nil":
                raise _ArgError(
                    f"non-comparable types {gofmt.go_type(first)} and {gofmt.go_type(other)}"
                )
            continue
        if kind1 != kind2:
            if kind1 != "nil" and kind2 != "nil":
                raise _ArgError("incompatible types for comparison")
            continue
        if first == other:
            return True
    return False


def _fn_ne(args: list[Any]) -> bool:
    return not _fn_eq(args)


def _fn_lt(args: list[Any]) -> bool:
    first, second = args
    kind1, kind2 = _kind(first), _kind(second)
    if kind1 not in ("int", "float", "string") or kind2 not in ("int", "float", "string"):
        raise _ArgError("invalid type for comparison")
    if kind1 != kind2:
        raise _ArgError("incompatible types for comparison")
    return bool(first < second)


def _fn_le(args: list[Any]) -> bool:
    return _fn_lt(args) or _fn_eq(args)


def _fn_gt(args: list[Any]) -> bool:
    return not _fn_le(args)


def _fn_ge(args: list[Any]) -> bool:
    return not _fn_lt(args)


def _fn_not(args: list[Any]) -> bool:
    return not _truth(args[0])


def _fn_to_json(args: list[Any]) -> str:
    try:
        return gofmt.to_json(args[0])
    except gofmt.JSONValueError as error:
        raise _ArgError(str(error)) from None


def _fn_to_json_pretty(args: list[Any]) -> str:
    # consul-template: toJSONPretty(m map[string]interface{}) = MarshalIndent(m, "", "  ")
    if not isinstance(args[0], Mapping):
        raise _ArgError(f"expected a map; got {gofmt.go_type(args[0])}")
    try:
        return gofmt.to_json(args[0], "  ")
    except gofmt.JSONValueError as error:
        raise _ArgError(str(error)) from None


def _fn_base64_encode(args: list[Any]) -> str:
    import base64  # lazily: only templates that use it pay for the import

    data = _str_arg(args, 0).encode("utf-8", "surrogateescape")
    return base64.b64encode(data).decode("ascii")


def _fn_base64_decode(args: list[Any]) -> str:
    import base64  # lazily: only templates that use it pay for the import
    import binascii

    # Go's base64.StdEncoding ignores \r and \n; everything else must be valid, padded
    text = _str_arg(args, 0).replace("\r", "").replace("\n", "")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _ArgError("illegal base64 data") from None
    # surrogateescape keeps arbitrary bytes exact through to the child's environment
    return data.decode("utf-8", "surrogateescape")


def _go_case(text: str, upper: bool) -> str:
    # Go maps rune by rune (unicode.ToUpper); Python's full case mapping may change
    # the length (ß -> SS), which Go does not do
    if text.isascii():
        return text.upper() if upper else text.lower()
    out = []
    for char in text:
        mapped = char.upper() if upper else char.lower()
        if len(mapped) != 1:
            # Go's simple mapping: U+0130 lowers to "i"; others without one stay
            mapped = "i" if char == "\u0130" and not upper else char
        out.append(mapped)
    return "".join(out)


def _fn_to_upper(args: list[Any]) -> str:
    return _go_case(_str_arg(args, 0), True)


def _fn_to_lower(args: list[Any]) -> str:
    return _go_case(_str_arg(args, 0), False)


# unicode.IsSpace (Go): Python's str.strip() would also strip \x1c-\x1f
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _fn_trim_space(args: list[Any]) -> str:
    return _str_arg(args, 0).strip(_GO_SPACE)


def _fn_replace_all(args: list[Any]) -> str:
    # consul-template: replaceAll(f, t, s) = strings.Replace(s, f, t, -1)
    old, new, text = _str_arg(args, 0), _str_arg(args, 1), _str_arg(args, 2)
    return str(text).replace(old, new)


def _fn_split(args: list[Any]) -> list[str]:
    # consul-template: split(sep, s) trims s first; an empty s gives an empty list
    sep, text = _str_arg(args, 0), _str_arg(args, 1).strip(_GO_SPACE)
    if not text:
        return []
    if not sep:
        return list(text)
    return str(text).split(sep)


def _fn_join(args: list[Any]) -> str:
    # consul-template: join(sep string, a []string)
    sep, items = _str_arg(args, 0), args[1]
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise _ArgError(f"argument 2: expected a list of strings; got {gofmt.go_type(items)}")
    pieces: list[tuple[str, bool]] = []
    for index, item in enumerate(items):
        if index > 0:
            pieces.extend(_pieces_of(args[0], sep))
        pieces.extend(_pieces_of(item, item))
    return _composed(pieces)


def _fn_contains(args: list[Any]) -> bool:
    # consul-template: contains(v, l) = in(l, v): {{ .Tags | contains "production" }}
    needle, haystack = args
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, (list, tuple)):
        kind = _kind(needle)
        if kind not in ("int", "float", "string"):
            return False
        return any(_kind(item) == kind and item == needle for item in haystack)
    return False


def _fn_has_prefix(args: list[Any]) -> bool:
    # not a consul-template function; Sprig's argument order: hasPrefix PREFIX S
    return _str_arg(args, 1).startswith(_str_arg(args, 0))


def _fn_has_suffix(args: list[Any]) -> bool:
    return _str_arg(args, 1).endswith(_str_arg(args, 0))


# ---- Go's remaining builtins (text/template funcs.go)


def _escaper_text(args: list[Any]) -> str:
    # funcs.go evalArgs: a single string argument as is, otherwise fmt.Sprint(args...)
    if len(args) == 1 and isinstance(args[0], str):
        return str(args[0])
    return gofmt.sprint(args)


_HTML_ESCAPES = {
    ord("\0"): "\ufffd",
    ord('"'): "&#34;",
    ord("'"): "&#39;",
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
}


def _fn_html(args: list[Any]) -> str:
    return _escaper_text(args).translate(_HTML_ESCAPES)


_JS_ESCAPES = {
    ord("\\"): "\\\\",
    ord("'"): "\\'",
    ord('"'): '\\"',
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    ord("="): "\\u003D",
}


def _fn_js(args: list[Any]) -> str:
    out = []
    for char in _escaper_text(args):
        code = ord(char)
        if code in _JS_ESCAPES:
            out.append(_JS_ESCAPES[code])
        elif code < 0x20:
            out.append(f"\\u00{code:02X}")
        elif code >= 0x80 and not char.isprintable():
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    return "".join(out)


def _fn_urlquery(args: list[Any]) -> str:
    from urllib.parse import quote_plus  # lazily: only templates that use it pay

    # url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ is escaped, space as +
    return quote_plus(_escaper_text(args).encode("utf-8", "surrogateescape"), safe="")


def _fn_slice(args: list[Any]) -> Any:
    item, bounds = args[0], args[1:]
    if not all(gofmt.is_int(bound) for bound in bounds):
        raise _ArgError("cannot index slice/array with a non-integer")
    if isinstance(item, str):
        data = item.encode("utf-8", "surrogateescape")
        if len(bounds) == 3:
            raise _ArgError("cannot 3-index slice a string")
        sliced: Any = data
    elif isinstance(item, (list, tuple)):
        sliced = list(item)
    elif item is None:
        raise _ArgError("slice of untyped nil")
    else:
        raise _ArgError(f"can't slice item of type {gofmt.go_type(item)}")
    low = bounds[0] if bounds else 0
    high = bounds[1] if len(bounds) > 1 else len(sliced)
    if not 0 <= low <= high <= len(sliced):
        raise _ArgError(f"slice index out of range (length {len(sliced)})")
    if len(bounds) == 3 and not high <= bounds[2] <= len(sliced):
        raise _ArgError(f"slice index out of range (length {len(sliced)})")
    result = sliced[low:high]
    if isinstance(result, bytes):
        return result.decode("utf-8", "surrogateescape")
    return result


# ---- further consul-template helpers (template/funcs.go)


def _fn_in(args: list[Any]) -> bool:
    # consul-template: in(l, v): {{ if in .Tags "production" }}
    return _fn_contains([args[1], args[0]])


def _fn_base64_url_encode(args: list[Any]) -> str:
    import base64  # lazily: only templates that use it pay for the import

    data = _str_arg(args, 0).encode("utf-8", "surrogateescape")
    return base64.urlsafe_b64encode(data).decode("ascii")


def _fn_base64_url_decode(args: list[Any]) -> str:
    import base64  # lazily: only templates that use it pay for the import
    import binascii

    text = _str_arg(args, 0).replace("\r", "").replace("\n", "")
    try:
        data = base64.b64decode(
            text.encode("ascii").translate(bytes.maketrans(b"-_", b"+/")), validate=True
        )
    except (binascii.Error, UnicodeEncodeError):
        raise _ArgError("illegal base64 data") from None
    return data.decode("utf-8", "surrogateescape")


def _fn_sha256_hex(args: list[Any]) -> str:
    import hashlib  # lazily: only templates that use it pay for the import

    return hashlib.sha256(_str_arg(args, 0).encode("utf-8", "surrogateescape")).hexdigest()


def _fn_indent(args: list[Any]) -> str:
    # consul-template: indent(spaces int, s string): prefix every non-empty line start
    spaces, text = args[0], _str_arg(args, 1)
    if not gofmt.is_int(spaces):
        raise _ArgError(f"argument 1: expected int; got {gofmt.go_type(spaces)}")
    if spaces < 0:
        raise _ArgError("indent value must be a positive integer")
    prefix = " " * spaces
    out = []
    at_line_start = True
    for char in text:
        if at_line_start and char != "\n":
            out.append(prefix)
        out.append(char)
        at_line_start = char == "\n"
    return "".join(out)


def _fn_to_title(args: list[Any]) -> str:
    # strings.Title: upper-case the first letter of each word; a word starts after
    # a separator (ASCII other than letters, digits and _; or white space)
    out = []
    previous = " "
    for char in _str_arg(args, 0):
        if previous.isascii():
            separator = not (previous.isalnum() or previous == "_")
        else:
            separator = previous.isspace()
        out.append(_go_case(char, True) if separator else char)
        previous = char
    return "".join(out)


def _fn_parse_bool(args: list[Any]) -> bool:
    text = _str_arg(args, 0)
    if text in ("", "0", "f", "F", "false", "FALSE", "False"):
        return False
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    raise _ArgError("parseBool: invalid syntax")


def _fn_parse_int(args: list[Any]) -> int:
    text = _str_arg(args, 0)
    if text == "":
        return 0
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise _ArgError("parseInt: invalid syntax")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise _ArgError("parseInt: value out of range")
    return value


def _fn_parse_float(args: list[Any]) -> float:
    text = _str_arg(args, 0)
    if text == "":
        return 0.0
    try:
        if "_" in text:  # strconv.ParseFloat allows no digit separators in decimals
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise _ArgError("parseFloat: invalid syntax") from None


def _fn_parse_json(args: list[Any]) -> Any:
    import json  # the agent has it loaded already (config, Vault responses)

    text = _str_arg(args, 0)
    if text == "":
        return {}
    try:
        # encoding/json decodes every number into a float64
        return json.loads(text, parse_int=float)
    except ValueError:
        raise _ArgError("parseJSON: invalid JSON") from None


_FUNCS: dict[str, Callable[[list[Any]], Any]] = {
    "base64Decode": _fn_base64_decode,
    "base64Encode": _fn_base64_encode,
    "contains": _fn_contains,
    "eq": _fn_eq,
    "ge": _fn_ge,
    "gt": _fn_gt,
    "hasPrefix": _fn_has_prefix,
    "hasSuffix": _fn_has_suffix,
    "index": _fn_index,
    "join": _fn_join,
    "le": _fn_le,
    "len": _fn_len,
    "lt": _fn_lt,
    "ne": _fn_ne,
    "not": _fn_not,
    "print": _fn_print,
    "printf": _fn_printf,
    "println": _fn_println,
    "replaceAll": _fn_replace_all,
    "split": _fn_split,
    "toJSON": _fn_to_json,
    "toJSONPretty": _fn_to_json_pretty,
    "toLower": _fn_to_lower,
    "toUpper": _fn_to_upper,
    "trimSpace": _fn_trim_space,
    "html": _fn_html,
    "js": _fn_js,
    "urlquery": _fn_urlquery,
    "slice": _fn_slice,
    "base64URLDecode": _fn_base64_url_decode,
    "base64URLEncode": _fn_base64_url_encode,
    "in": _fn_in,
    "indent": _fn_indent,
    "parseBool": _fn_parse_bool,
    "parseFloat": _fn_parse_float,
    "parseInt": _fn_parse_int,
    "parseJSON": _fn_parse_json,
    "sha256Hex": _fn_sha256_hex,
    "toTitle": _fn_to_title,
}


# ============================================================================ public API


def _position(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    col = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, col


class Template:
    """A parsed template. Build with :func:`parse`."""

    __slots__ = ("_nodes", "_templates", "name", "source")

    def __init__(
        self, name: str, source: str, nodes: list[_Node], templates: dict[str, list[_Node]]
    ) -> None:
        self.name = name
        self.source = source
        self._nodes = nodes
        self._templates = templates

    def _error(self, error: _Located) -> TemplateError:
        line, col = _position(self.source, error.pos)
        return TemplateError(self.name, line, col, error.what)

    def secret_paths(self) -> list[str]:
        """Literal paths of ``secret "path"`` reads (no write data), in order, unique."""
        found: list[str] = []

        def visit_pipe(pipe: _Pipe) -> None:
            for index, cmd in enumerate(pipe.cmds):
                head = cmd.args[0]
                if (
                    isinstance(head, _FuncNode)
                    and head.name == "secret"
                    and len(cmd.args) == 2
                    and index == 0
                    and isinstance(cmd.args[1], _Const)
                    and isinstance(cmd.args[1].value, str)
                    and cmd.args[1].value not in found
                ):
                    found.append(str(cmd.args[1].value))
                for arg in cmd.args:
                    if isinstance(arg, _ChainNode):
                        visit_pipe(arg.pipe)

        def visit(nodes: list[_Node]) -> None:
            for node in nodes:
                if isinstance(node, _Action):
                    visit_pipe(node.pipe)
                elif isinstance(node, _Control):
                    visit_pipe(node.pipe)
                    visit(node.body)
                    if node.else_body is not None:
                        visit(node.else_body)
                elif isinstance(node, _Call) and node.pipe is not None:
                    visit_pipe(node.pipe)

        visit(self._nodes)
        for body in self._templates.values():
            visit(body)
        return found

    def render(self, secret: SecretFunc, env: Mapping[str, str]) -> Pieces:
        """Execute: ``[(text, from_data), ...]``; TemplateError on a template error.

        Exceptions raised by ``secret`` itself propagate unchanged.
        """
        state = _Exec(secret, env, self._templates)
        try:
            state.walk(self._nodes, None)
        except _Located as error:
            raise self._error(error) from None
        except RecursionError:
            raise TemplateError(self.name, 1, 1, "template nests too deeply") from None
        return state.out.pieces()


def parse(text: str, name: str) -> Template:
    """Parse a template; TemplateError (``template name:line:col: what``) if invalid."""
    try:
        parser = _Parser(_lex(text))
        nodes = parser.parse()
    except _Located as error:
        line, col = _position(text, error.pos)
        raise TemplateError(name, line, col, error.what) from None
    return Template(name, text, nodes, parser.templates)
