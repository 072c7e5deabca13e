"""The template functions but those the executor evaluates itself (and, or, secret,
env, executeTemplate): Go's text/template builtins (funcs.go) and consul-template's
helpers (template/funcs.go). Each takes the evaluated arguments (the piped value last)
and raises :class:`ArgError`."""

from __future__ import annotations

from _collections_abc import Mapping  # not collections.abc: see __init__.py

from transformer.agent.jsonlite import JSONNumber
from transformer.agent.template import gofmt, limits
from transformer.agent.template.provenance import Composed, Literal, composed, pieces_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class ArgError(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def truth(value: object) -> bool:
    """Go's template truth: false, 0, nil and empty strings/lists/maps are false."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float, complex)):
        return bool(value)
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) > 0
    return True


def _room(size: int) -> None:
    """Refuse to build a value larger than any template value may be (before building
    it: the functions that can multiply their input check this first)."""
    if size > limits.MAX_VALUE_CHARS:
        raise ArgError(f"the result would be larger than {limits.MAX_VALUE_CHARS} characters")


def _str_arg(args: list[Any], index: int) -> str:
    value = args[index]
    # a json.Number is no Go string: a function taking a string refuses it
    if not isinstance(value, str) or isinstance(value, JSONNumber):
        raise ArgError(f"argument {index + 1}: expected string; got {gofmt.go_type(value)}")
    return str(value)


def _fn_printf(args: list[Any]) -> str:
    from transformer.agent.template import (
        goprintf,  # lazily: a template that prints only strings never needs it
    )

    format_text, operands = _str_arg(args, 0), args[1:]
    try:
        chunks = goprintf.sprintf_chunks(format_text, operands)
    except goprintf.TooLarge:
        _room(limits.MAX_VALUE_CHARS + 1)
        raise  # pragma: no cover - _room raised
    if type(args[0]) is not Literal and type(args[0]) is not Composed:
        return "".join(text for text, _ in chunks)  # a format computed from data
    pieces: list[tuple[str, bool]] = []
    for text, source in chunks:
        if source == goprintf.FROM_FORMAT:
            pieces.extend(pieces_of(args[0], text))
        elif source == goprintf.FROM_EXTRA:
            pieces.append((text, True))
        else:
            pieces.extend(pieces_of(operands[source], text))
    return composed(pieces)


def _sprint(value: object) -> str:
    from transformer.agent.template import (
        goprintf,  # lazily: a template that prints only strings never needs it
    )

    try:
        return goprintf.sprint_value(value)
    except goprintf.TooLarge:
        _room(limits.MAX_VALUE_CHARS + 1)
        raise  # pragma: no cover - _room raised


def _fn_print(args: list[Any]) -> str:
    # fmt.Sprint: a space between operands when neither is a string
    pieces: list[tuple[str, bool]] = []
    for index, (arg, printed) in enumerate(zip(args, _sprint_pieces_each(args), strict=True)):
        if index > 0 and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            pieces.append((" ", False))
        pieces.extend(printed)
    return composed(pieces)


def _sprint_pieces_each(args: list[Any]) -> list[list[tuple[str, bool]]]:
    """Each operand's printed pieces (fmt %v), refusing a total over the value limit."""
    printed = []
    size = len(args)  # room for the separators
    for arg in args:
        text = _sprint(arg)
        size += len(text)
        _room(size)
        printed.append(pieces_of(arg, text))
    return printed


def _fn_println(args: list[Any]) -> str:
    # fmt.Sprintln: always a space between operands, and a final newline
    pieces: list[tuple[str, bool]] = []
    for index, printed in enumerate(_sprint_pieces_each(args)):
        if index > 0:
            pieces.append((" ", False))
        pieces.extend(printed)
    pieces.append(("\n", False))
    return composed(pieces)


def _fn_len(args: list[Any]) -> int:
    value = args[0]
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogateescape"))  # Go: len of a string is bytes
    if isinstance(value, (list, tuple, Mapping)):
        return len(value)
    raise ArgError(f"len of type {gofmt.go_type(value)}")


def _fn_index(args: list[Any]) -> Any:
    item = args[0]
    if item is None:
        raise ArgError("index of untyped nil")
    for key in args[1:]:
        if isinstance(item, Mapping):
            if not isinstance(key, str):
                raise ArgError(f"value has type {gofmt.go_type(key)}; should be string")
            item = item.get(key)  # Go: a missing key gives the zero value (nil)
        elif isinstance(item, (list, tuple, str)):
            if not gofmt.is_int(key):
                raise ArgError(f"cannot index slice/array with type {gofmt.go_type(key)}")
            sequence: Any = (
                item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
            )
            if not 0 <= key < len(sequence):
                raise ArgError(f"index out of range (length {len(sequence)})")
            item = gofmt.Uint8(sequence[key]) if isinstance(item, str) else sequence[key]
        elif item is None:
            raise ArgError("index of untyped nil")
        else:
            raise ArgError(f"can't index item of type {gofmt.go_type(item)}")
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
    if isinstance(value, complex):
        return "complex"
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
                raise ArgError(
                    f"non-comparable types {gofmt.go_type(first)} and {gofmt.go_type(other)}"
                )
            continue
        if kind1 != kind2:
            if kind1 != "nil" and kind2 != "nil":
                raise ArgError("incompatible types for comparison")
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
        raise ArgError("invalid type for comparison")
    if kind1 != kind2:
        raise ArgError("incompatible types for comparison")
    return bool(first < second)


def _fn_le(args: list[Any]) -> bool:
    return _fn_lt(args) or _fn_eq(args)


def _fn_gt(args: list[Any]) -> bool:
    return not _fn_le(args)


def _fn_ge(args: list[Any]) -> bool:
    return not _fn_lt(args)


def _fn_not(args: list[Any]) -> bool:
    return not truth(args[0])


def _fn_to_json(args: list[Any]) -> str:
    from transformer.agent.template import (
        gojson,  # lazily: a template that prints only strings never needs it
    )

    try:
        return gojson.to_json(args[0])
    except gojson.JSONValueError as error:
        raise ArgError(str(error)) from None


def _fn_to_json_pretty(args: list[Any]) -> str:
    from transformer.agent.template import (
        gojson,  # lazily: a template that prints only strings never needs it
    )

    # consul-template: toJSONPretty(m map[string]interface{}) = MarshalIndent(m, "", "  ")
    if args[0] is None:
        return "null"  # a nil map
    if not isinstance(args[0], Mapping):
        raise ArgError(f"expected a map; got {gofmt.go_type(args[0])}")
    try:
        return gojson.to_json(args[0], "  ")
    except gojson.JSONValueError as error:
        raise ArgError(str(error)) from None


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
        raise ArgError("illegal base64 data") from None
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
    if len(new) > len(old):
        found = len(text) + 1 if not old else text.count(old)
        _room(len(text) + found * (len(new) - len(old)))
    return str(text).replace(old, new)


def _fn_split(args: list[Any]) -> list[str]:
    # consul-template: split(sep, s) trims s first; an empty s gives an empty list
    sep, text = _str_arg(args, 0), _str_arg(args, 1).strip(_GO_SPACE)
    if not text:
        return gofmt.StringList()
    _room(len(text) + limits.ITEM_CHARS * (text.count(sep) + 1 if sep else len(text)))
    if not sep:
        return gofmt.StringList(text)
    return gofmt.StringList(str(text).split(sep))


def _fn_join(args: list[Any]) -> str:
    # consul-template: join(sep string, a []string)
    sep, items = _str_arg(args, 0), args[1]
    if items is None:
        return ""  # a nil slice
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(item, str) and not isinstance(item, JSONNumber) for item in items
    ):
        raise ArgError(f"argument 2: expected a list of strings; got {gofmt.go_type(items)}")
    _room(sum(len(item) for item in items) + len(sep) * max(len(items) - 1, 0))
    pieces: list[tuple[str, bool]] = []
    for index, item in enumerate(items):
        if index > 0:
            pieces.extend(pieces_of(args[0], sep))
        pieces.extend(pieces_of(item, item))
    return composed(pieces)


def _fn_contains(args: list[Any]) -> bool:
    # consul-template: contains(v, l) = in(l, v): {{ .Tags | contains "production" }}
    needle, haystack = args
    if needle is None and (
        isinstance(haystack, str)
        or (isinstance(haystack, (list, tuple)) and any(isinstance(i, str) for i in haystack))
    ):
        # consul-template compares types, and nil has none (a reflect panic in Go)
        raise ArgError("cannot compare nil with a string")
    if isinstance(haystack, str):
        return isinstance(needle, str) and _same_type(needle, haystack) and needle in haystack
    if isinstance(haystack, (list, tuple)):
        kind = _kind(needle)
        if kind not in ("int", "float", "string"):
            return False
        return any(
            _kind(item) == kind and _same_type(item, needle) and item == needle for item in haystack
        )
    return False


def _same_type(first: object, second: object) -> bool:
    # consul-template compares strings by reflect.Type: json.Number is not string
    if isinstance(first, str) and isinstance(second, str):
        return isinstance(first, JSONNumber) == isinstance(second, JSONNumber)
    return True


def _fn_has_prefix(args: list[Any]) -> bool:
    # not a consul-template function; Sprig's argument order: hasPrefix PREFIX S
    return _str_arg(args, 1).startswith(_str_arg(args, 0))


def _fn_has_suffix(args: list[Any]) -> bool:
    return _str_arg(args, 1).endswith(_str_arg(args, 0))


# ---- Go's remaining builtins (text/template funcs.go)


def _escaper_text(args: list[Any]) -> str:
    from transformer.agent.template import (
        goprintf,  # lazily: a template that prints only strings never needs it
    )

    # funcs.go evalArgs: a single string argument as is, otherwise fmt.Sprint(args...)
    if len(args) == 1 and isinstance(args[0], str):
        return str(args[0])
    # printableValue: a nil argument prints as "<no value>" (a string, for the spacing)
    return goprintf.sprint(["<no value>" if arg is None else arg for arg in args])


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
        if 0xDC80 <= code <= 0xDCFF:
            out.append(char)  # an invalid UTF-8 byte: Go's JSEscape passes it through
        elif code in _JS_ESCAPES:
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
        raise ArgError("cannot index slice/array with a non-integer")
    if isinstance(item, str):
        data = item.encode("utf-8", "surrogateescape")
        if len(bounds) == 3:
            raise ArgError("cannot 3-index slice a string")
        sliced: Any = data
    elif isinstance(item, (list, tuple)):
        sliced = list(item)
    elif item is None:
        raise ArgError("slice of untyped nil")
    else:
        raise ArgError(f"can't slice item of type {gofmt.go_type(item)}")
    low = bounds[0] if bounds else 0
    high = bounds[1] if len(bounds) > 1 else len(sliced)
    if not 0 <= low <= high <= len(sliced):
        raise ArgError(f"slice index out of range (length {len(sliced)})")
    if len(bounds) == 3 and not high <= bounds[2] <= len(sliced):
        raise ArgError(f"slice index out of range (length {len(sliced)})")
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
        raise ArgError("illegal base64 data") from None
    return data.decode("utf-8", "surrogateescape")


def _fn_sha256_hex(args: list[Any]) -> str:
    import hashlib  # lazily: only templates that use it pay for the import

    return hashlib.sha256(_str_arg(args, 0).encode("utf-8", "surrogateescape")).hexdigest()


def _fn_indent(args: list[Any]) -> str:
    # consul-template: indent(spaces int, s string): prefix every non-empty line start
    spaces, text = args[0], _str_arg(args, 1)
    if not gofmt.is_int(spaces):
        raise ArgError(f"argument 1: expected int; got {gofmt.go_type(spaces)}")
    if spaces < 0:
        raise ArgError("indent value must be a positive integer")
    line_starts = sum(
        1
        for index, char in enumerate(text)
        if char != "\n" and (index == 0 or text[index - 1] == "\n")
    )
    _room(len(text) + spaces * line_starts)
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
    raise ArgError("parseBool: invalid syntax")


def _fn_parse_int(args: list[Any]) -> int:
    text = _str_arg(args, 0)
    if text == "":
        return gofmt.Int64(0)
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ArgError("parseInt: invalid syntax")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ArgError("parseInt: value out of range")
    return gofmt.Int64(value)


def _fn_parse_float(args: list[Any]) -> float:
    text = _str_arg(args, 0)
    if text == "":
        return 0.0
    try:
        if "_" in text:  # strconv.ParseFloat allows no digit separators in decimals
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise ArgError("parseFloat: invalid syntax") from None


def _fn_parse_json(args: list[Any]) -> Any:
    from transformer.agent.jsonlite import loads_floats

    text = _str_arg(args, 0)
    if text == "":
        return {}
    _room(len(text) + limits.ITEM_CHARS * (text.count(",") + text.count(":") + 1))
    try:
        return loads_floats(text)  # encoding/json decodes every number into a float64
    except ValueError:
        raise ArgError("parseJSON: invalid JSON") from None
    except RecursionError:
        raise ArgError("parseJSON: the JSON nests too deeply") from None


FUNCS: dict[str, Callable[[list[Any]], Any]] = {
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
