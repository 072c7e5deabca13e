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

from transformer.agent.jsonlite import JSONNumber

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass

# ---------------------------------------------------------------------------- types


class StringList(list):  # type: ignore[type-arg]
    """A Go ``[]string`` (``split``'s result), as opposed to JSON's ``[]interface {}``."""

    __slots__ = ()


class Int64(int):
    """A Go ``int64`` (``parseInt``'s result), as opposed to a constant's ``int``."""

    __slots__ = ()


class Uint8(int):
    """A Go ``uint8`` (a byte: ``index`` of a string)."""

    __slots__ = ()


def go_type(value: object) -> str:
    """The Go type name a JSON-decoded value has in consul-template (for %T and errors)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, JSONNumber):
        return "json.Number"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, Uint8):
        return "uint8"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, StringList):
        return "[]string"
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


# ---------------------------------------------------------------------------- quoting


def go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
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
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # an invalid UTF-8 byte (surrogateescape)
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


# ---------------------------------------------------------------------------- strconv


def _float_bits(value: float) -> tuple[bool, int, int]:
    """(negative, mantissa, binary exponent) as strconv.FormatFloat takes them apart:
    value = mantissa * 2**(exponent - 52), the implicit leading bit set."""
    import struct  # lazily: only %b/%x of floats need it

    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    negative = bool(bits >> 63)
    exponent = (bits >> 52) & 0x7FF
    mantissa = bits & ((1 << 52) - 1)
    if exponent == 0:
        exponent += 1  # denormal
    else:
        mantissa |= 1 << 52
    return negative, mantissa, exponent - 1023


def _fmt_b(negative: bool, mantissa: int, exponent: int) -> str:
    # strconv fmtB: -ddddp±ddd
    exponent -= 52
    return (
        ("-" if negative else "")
        + str(mantissa)
        + "p"
        + ("+" if exponent >= 0 else "")
        + (str(exponent))
    )


def _fmt_x(prec: int, verb: str, negative: bool, mantissa: int, exponent: int) -> str:
    # strconv fmtX: -0x1.yyyyyyp±dd, mantissa shifted so its leading 1 is at bit 60
    mask = (1 << 64) - 1
    if mantissa == 0:
        exponent = 0
    mantissa = (mantissa << 8) & mask
    while mantissa != 0 and mantissa & (1 << 60) == 0:
        mantissa = (mantissa << 1) & mask
        exponent -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mantissa << shift) & ((1 << 60) - 1)
        mantissa >>= 60 - shift
        if extra | (mantissa & 1) > 1 << 59:
            mantissa += 1
        mantissa = (mantissa << (60 - shift)) & mask
        if mantissa & (1 << 61):
            mantissa >>= 1
            exponent += 1
    digits = "0123456789ABCDEF" if verb == "X" else "0123456789abcdef"
    out = ["-" if negative else "", "0", verb, "01"[(mantissa >> 60) & 1]]
    mantissa = (mantissa << 4) & mask
    if prec < 0 and mantissa != 0:
        out.append(".")
        while mantissa != 0:
            out.append(digits[(mantissa >> 60) & 15])
            mantissa = (mantissa << 4) & mask
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(digits[(mantissa >> 60) & 15])
            mantissa = (mantissa << 4) & mask
    out.append("P" if verb == "X" else "p")
    out.append("-" if exponent < 0 else "+")
    out.append(str(abs(exponent)).rjust(2, "0"))
    return "".join(out)


def format_float(value: float, verb: str, prec: int) -> str:
    """strconv.FormatFloat(value, verb, prec, 64) for verbs b e E f g G x X; prec -1
    is the shortest representation that reads back exactly."""
    special = special_float(value)
    if special is not None:
        return special
    if verb in "bxX":
        negative, mantissa, exponent = _float_bits(value)
        if verb == "b":
            return _fmt_b(negative, mantissa, exponent)
        return _fmt_x(prec, verb, negative, mantissa, exponent)
    sign = "-" if repr(value).startswith("-") else ""
    magnitude = abs(value)
    if prec < 0:
        digits, point = float_digits(magnitude)
        if verb in "gG":
            return sign + format_float_v(magnitude, upper=verb == "G")
        if verb in "eE":
            return sign + fmt_e(digits, point, upper=verb == "E")
        return sign + fmt_f(digits, point)
    if verb in "gG":
        text = f"{magnitude:.{prec}g}"
        return sign + (text.upper() if verb == "G" else text)
    if verb in "eE":
        text = f"{magnitude:.{prec}e}"
        return sign + (text.upper() if verb == "E" else text)
    return sign + f"{magnitude:.{prec}f}"
