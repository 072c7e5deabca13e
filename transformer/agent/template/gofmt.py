"""Go value formatting for the template engine: ``fmt``'s ``%v``/``Sprint``/``Sprintf``
on the values a template can hold (str, int, float, bool, None, lists and string-keyed
mappings decoded from JSON); ``encoding/json`` is :mod:`.gojson`.

Standard library only, nothing heavy at import time: the agent's start-up sits on
every pod start.

Go sources followed (cited where a rule is not obvious):
- ``strconv/ftoa.go`` (shortest float digits; ``%v`` of a float64 is ``'g'`` with the
  shortest precision, and then ``%e`` is used when the exponent is < -4 or >= 6);
- ``fmt/print.go`` (``Sprint`` puts spaces between operands when neither is a string;
  bad verbs print as ``%!verb(type=value)``, missing operands as ``%!verb(MISSING)``,
  extra ones as ``%!(EXTRA type=value)``).
"""

from __future__ import annotations

from _collections_abc import Mapping  # not collections.abc: see __init__.py

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# ---------------------------------------------------------------------------- types


class JSONNumber(str):
    """A JSON number kept as its source text, like Go's ``json.Number``.

    Vault's Go client decodes responses with ``UseNumber``, so in consul-template a
    number in secret data is a ``json.Number``: a string type that prints exactly as
    written (``1.0`` stays ``1.0``), compares with strings, and encodes to JSON as the
    bare number. A reader that decodes with ``parse_int=JSONNumber,
    parse_float=JSONNumber`` gets that behaviour; plain ints and floats behave like
    Go's int and float64.
    """

    __slots__ = ()


def go_type(value: object) -> str:
    """The Go type name a JSON-decoded value has in consul-template (for %T and errors)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, JSONNumber):
        return "json.Number"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return "unsupported"


def is_int(value: object) -> bool:
    """True for Go integers: Python ints that are not bools."""
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- floats


def float_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(value) and the decimal point position.

    ``repr`` gives the shortest digits that round-trip (the same digits as Go's
    ``strconv`` shortest mode); the result means 0.DIGITS * 10**dp. Zero gives ("", 0),
    like Go's ``decimalSlice`` with nd == 0.
    """
    text = repr(abs(value))
    exponent = 0
    if "e" in text:
        text, exp_text = text.split("e")
        exponent = int(exp_text)
    int_part, _, frac_part = text.partition(".")
    all_digits = int_part + frac_part
    stripped = all_digits.lstrip("0")
    point = len(int_part) + exponent - (len(all_digits) - len(stripped))
    digits = stripped.rstrip("0")
    if not digits:
        return "", 0
    return digits, point


def fmt_e(digits: str, point: int, upper: bool = False) -> str:
    # strconv fmtE with the shortest precision: d.ddde±dd (at least two exponent digits)
    if not digits:
        digits, point = "0", 1
    exponent = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exponent < 0 else "+"
    exp_digits = str(abs(exponent))
    if len(exp_digits) < 2:
        exp_digits = "0" + exp_digits
    return mantissa + ("E" if upper else "e") + sign + exp_digits


def fmt_f(digits: str, point: int) -> str:
    # strconv fmtF with the shortest precision
    if not digits:
        return "0"
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def special_float(value: float) -> str | None:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return None


def format_float_v(value: float, upper: bool = False) -> str:
    """Go's ``%v`` (= ``%g`` shortest) of a float64: 1.5, 1e+06, 0.0001, 1e-05."""
    special = special_float(value)
    if special is not None:
        return special
    sign = "-" if repr(value).startswith("-") else ""
    digits, point = float_digits(value)
    exponent = point - 1
    # strconv/ftoa.go: "if precision was the shortest possible, use precision 6 for
    # this decision" (%e when exp < -4 || exp >= eprec)
    if digits and (exponent < -4 or exponent >= 6):
        return sign + fmt_e(digits, point, upper)
    return sign + fmt_f(digits, point)


# ---------------------------------------------------------------------------- %v / Sprint


def sprint_value(value: object) -> str:
    """Go's ``fmt.Sprint`` of one operand (``%v``), as text/template prints a value."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_v(value)
    if value is None:
        return "<nil>"
    if isinstance(value, Mapping):
        # fmt prints maps sorted by key (fmt/print.go, internal/fmtsort)
        inner = " ".join(
            sprint_value(key) + ":" + sprint_value(value[key]) for key in sorted(value)
        )
        return "map[" + inner + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(sprint_value(item) for item in value) + "]"
    return "?"


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: spaces between operands when neither side is a string."""
    parts: list[str] = []
    previous_is_string = True
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not previous_is_string:
            parts.append(" ")
        parts.append(sprint_value(arg))
        previous_is_string = is_string
    return "".join(parts)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: always a space between operands, and a final newline."""
    return " ".join(sprint_value(arg) for arg in args) + "\n"


# ---------------------------------------------------------------------------- quoting


def _go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
    """strconv.Quote (QuoteToASCII with ascii_only): printable runes kept, the rest
    escaped like Go does."""
    out: list[str] = [quote]
    for char in text:
        code = ord(char)
        if char == quote or char == "\\":
            out.append("\\" + char)
        elif char.isprintable() and (code < 0x80 or not ascii_only):
            out.append(char)
        elif char in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}

# ---------------------------------------------------------------------------- Sprintf


class _Spec:
    __slots__ = ("minus", "plus", "precision", "sharp", "space", "width", "zero")

    def __init__(self) -> None:
        self.minus = False
        self.plus = False
        self.sharp = False
        self.space = False
        self.zero = False
        self.width: int | None = None
        self.precision: int | None = None


def _pad(text: str, spec: _Spec, numeric: bool) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero and numeric:
        # fmt: zero padding goes after the sign
        if text[:1] in "+- " and text[:1] != "":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _bad_verb(verb: str, value: object) -> str:
    if value is None:
        return "%!" + verb + "(<nil>)"
    return "%!" + verb + "(" + go_type(value) + "=" + sprint_value(value) + ")"


def _sign(text: str, negative: bool, spec: _Spec) -> str:
    if negative:
        return "-" + text
    if spec.plus:
        return "+" + text
    if spec.space:
        return " " + text
    return text


def _format_int(value: int, verb: str, spec: _Spec) -> str:
    negative = value < 0
    magnitude = -value if negative else value
    if verb == "d" or verb == "v":
        body = str(magnitude)
    elif verb == "x":
        body = format(magnitude, "x")
    elif verb == "X":
        body = format(magnitude, "X")
    elif verb == "o":
        body = format(magnitude, "o")
    elif verb == "O":
        body = "0o" + format(magnitude, "o")
    elif verb == "b":
        body = format(magnitude, "b")
    else:  # pragma: no cover - guarded by the caller
        body = str(magnitude)
    if spec.precision is not None:
        if spec.precision == 0 and magnitude == 0:
            body = ""
        body = body.rjust(spec.precision, "0")
    if spec.sharp:
        if verb == "x":
            body = "0x" + body
        elif verb == "X":
            body = "0X" + body
        elif verb == "o" and not body.startswith("0"):
            body = "0" + body
    text = _sign(body, negative, spec)
    if spec.precision is not None:
        # fmt: a precision turns zero padding off for integers
        saved = spec.zero
        spec.zero = False
        padded = _pad(text, spec, True)
        spec.zero = saved
        return padded
    return _pad(text, spec, True)


def _format_float(value: float, verb: str, spec: _Spec) -> str:
    special = special_float(value)
    if special is not None:
        text = special
        if text == "+Inf" and not spec.plus:
            text = " Inf" if spec.space else "Inf"
        saved = spec.zero
        spec.zero = False  # fmt never zero-pads Inf/NaN
        padded = _pad(text, spec, True)
        spec.zero = saved
        return padded
    negative = repr(value).startswith("-")
    magnitude = abs(value)
    lower = verb.lower()
    if lower in ("v", "g") and spec.precision is None:
        body = format_float_v(magnitude, upper=verb == "G")
    elif lower in ("v", "g"):
        body = f"{magnitude:.{spec.precision}g}"
        if verb == "G":
            body = body.upper()
    elif lower == "e":
        body = f"{magnitude:.{6 if spec.precision is None else spec.precision}e}"
        if verb == "E":
            body = body.upper()
    else:  # f, F
        body = f"{magnitude:.{6 if spec.precision is None else spec.precision}f}"
    return _pad(_sign(body, negative, spec), spec, True)


def _format_string(text: str, verb: str, spec: _Spec) -> str:
    if spec.precision is not None:
        text = text[: spec.precision]
    if verb in ("s", "v"):
        return _pad(text, spec, False)
    if verb == "q":
        if spec.sharp and "`" not in text and text.isprintable():
            return _pad("`" + text + "`", spec, False)
        return _pad(_go_quote(text, ascii_only=spec.plus), spec, False)
    # x / X: hex of the UTF-8 bytes
    data = text.encode("utf-8", "surrogateescape")
    pattern = "{:02x}" if verb == "x" else "{:02X}"
    pieces = [pattern.format(byte) for byte in data]
    prefix = ("0x" if verb == "x" else "0X") if spec.sharp else ""
    if spec.space:
        body = " ".join(prefix + piece for piece in pieces)
    else:
        body = prefix + "".join(pieces) if pieces else ""
    return _pad(body, spec, False)


_INT_VERBS = frozenset("dxXobOcqUv")
_FLOAT_VERBS = frozenset("eEfFgGv")
_STRING_VERBS = frozenset("sqxXv")


def _format_one(value: object, verb: str, spec: _Spec) -> str:
    if verb == "T":
        return _pad(go_type(value), spec, False)
    if isinstance(value, bool):
        if verb in ("t", "v"):
            return _pad("true" if value else "false", spec, False)
        return _bad_verb(verb, value)
    if isinstance(value, int):
        if verb not in _INT_VERBS:
            return _bad_verb(verb, value)
        if verb == "c":
            return _pad(_rune(value), spec, False)
        if verb == "q":
            return _pad(_go_quote(_rune(value), "'", spec.plus), spec, False)
        if verb == "U":
            text = "U+" + format(value, "04X")
            if spec.sharp and _rune(value).isprintable():
                text += " '" + _rune(value) + "'"
            return _pad(text, spec, False)
        return _format_int(value, verb, spec)
    if isinstance(value, float):
        if verb not in _FLOAT_VERBS:
            return _bad_verb(verb, value)
        return _format_float(value, verb, spec)
    if isinstance(value, str):
        if verb not in _STRING_VERBS:
            return _bad_verb(verb, value)
        return _format_string(value, verb, spec)
    if value is None:
        if verb == "v":
            return _pad("<nil>", spec, False)
        return _bad_verb(verb, value)
    if isinstance(value, Mapping):
        # fmt applies the verb to each key and element
        inner = " ".join(
            _format_one(key, verb, spec) + ":" + _format_one(value[key], verb, spec)
            for key in sorted(value)
        )
        return "map[" + inner + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format_one(item, verb, spec) for item in value) + "]"
    return _bad_verb(verb, value)


def _rune(code: int) -> str:
    if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return "\ufffd"


FROM_FORMAT = -1  # a chunk written by the format string (or fmt's own markers)
FROM_EXTRA = -2  # fmt's %!(EXTRA ...) report, which prints operand values


def sprintf(format_text: str, args: list[Any]) -> str:
    """Go's ``fmt.Sprintf``: see :func:`sprintf_chunks`."""
    return "".join(text for text, _ in sprintf_chunks(format_text, args))


def sprintf_chunks(format_text: str, args: list[Any]) -> list[tuple[str, int]]:
    """Go's ``fmt.Sprintf`` for the verbs templates use (%v %s %d %q %x %X %o %b %c
    %U %e %f %g %t %T %%), with flags ``+ - # 0 space``, widths, precisions (``*``
    takes them from the operands) and ``%[n]`` operand indexes.

    The output comes in chunks ``(text, source)``: source is the index of the operand
    a chunk formats, FROM_FORMAT for text of the format string, FROM_EXTRA for the
    report of unused operands.
    """
    out: list[tuple[str, int]] = []
    arg_index = 0
    reordered = False  # fmt reports no EXTRA operands once an index was used
    position = 0
    length = len(format_text)
    while position < length:
        percent = format_text.find("%", position)
        if percent < 0:
            out.append((format_text[position:], FROM_FORMAT))
            break
        out.append((format_text[position:percent], FROM_FORMAT))
        position = percent + 1
        if position >= length:
            out.append(("%!(NOVERB)", FROM_FORMAT))
            break
        spec = _Spec()
        while position < length:
            char = format_text[position]
            if char == "-":
                spec.minus = True
                spec.zero = False
            elif char == "+":
                spec.plus = True
            elif char == "#":
                spec.sharp = True
            elif char == " ":
                spec.space = True
            elif char == "0":
                spec.zero = not spec.minus
            else:
                break
            position += 1
        # explicit argument index: %[n]verb
        if position < length and format_text[position] == "[":
            close = format_text.find("]", position)
            number = format_text[position + 1 : close] if close > 0 else ""
            if not number.isdigit() or not 1 <= int(number) <= len(args):
                out.append(("%!(BADINDEX)", FROM_FORMAT))
                position = close + 1 if close > 0 else length
                continue
            arg_index = int(number) - 1
            reordered = True
            position = close + 1
        # width
        if position < length and format_text[position] == "*":
            position += 1
            if arg_index < len(args) and is_int(args[arg_index]):
                spec.width = args[arg_index]
                if spec.width is not None and spec.width < 0:
                    spec.minus = True
                    spec.width = -spec.width
            else:
                out.append(("%!(BADWIDTH)", FROM_FORMAT))
            arg_index += 1
        else:
            start = position
            while position < length and format_text[position].isdigit():
                position += 1
            if position > start:
                spec.width = int(format_text[start:position])
        # precision
        if position < length and format_text[position] == ".":
            position += 1
            if position < length and format_text[position] == "*":
                position += 1
                if arg_index < len(args) and is_int(args[arg_index]):
                    spec.precision = args[arg_index]
                    if spec.precision is not None and spec.precision < 0:
                        spec.precision = None
                else:
                    out.append(("%!(BADPREC)", FROM_FORMAT))
                arg_index += 1
            else:
                start = position
                while position < length and format_text[position].isdigit():
                    position += 1
                spec.precision = int(format_text[start:position] or "0")
        if position >= length:
            out.append(("%!(NOVERB)", FROM_FORMAT))
            break
        verb = format_text[position]
        position += 1
        if verb == "%":
            out.append(("%", FROM_FORMAT))
            continue
        if arg_index >= len(args):
            out.append(("%!" + verb + "(MISSING)", FROM_FORMAT))
            continue
        value = args[arg_index]
        out.append((_format_one(value, verb, spec), arg_index))
        arg_index += 1
    if arg_index < len(args) and not reordered:
        extra = ", ".join(
            "<nil>" if arg is None else go_type(arg) + "=" + sprint_value(arg)
            for arg in args[arg_index:]
        )
        out.append(("%!(EXTRA " + extra + ")", FROM_EXTRA))
    return out
