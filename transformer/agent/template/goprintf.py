"""Go's ``fmt`` printer for the values a template holds: ``Sprintf`` (``doPrintf``),
``Sprint``/``Sprintln`` and ``%v``, ported from Go 1.19's fmt/print.go and
fmt/format.go function by function (``printArg``, ``printValue``, ``badVerb``,
``fmtInteger``, ``fmtFloat``, ``fmtSbx``, ``fmtQ``, ``fmtUnicode``, ``pad``...), so
flags, widths, precisions, ``%[n]`` indexes and the ``%!`` error reports come out
byte for byte as Go writes them.

Go caps widths and precisions at 10^6 when they come from ``*`` (``%!(BADWIDTH)``,
``%!(BADPREC)``) and stops reading a literal one that overflows. What Go would
still accept but would not fit in a template value raises :class:`TooLarge` before
the characters are built: every write is counted against ``MAX_VALUE_CHARS``.
"""

from __future__ import annotations

from _collections_abc import Mapping  # not collections.abc: see __init__.py

from transformer.agent.template import limits
from transformer.agent.template.gofmt import (
    Uint8,
    format_float,
    go_quote,
    go_type,
    is_int,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FROM_FORMAT = -1  # a chunk written by the format string (or fmt's own markers)
FROM_EXTRA = -2  # fmt's %!(EXTRA ...) report, which prints operand values

_UINT64 = (1 << 64) - 1
_MAX_RUNE = 0x10FFFF


class TooLarge(ValueError):
    """The formatted text would be larger than a template value may be."""


def _too_large(number: int) -> bool:
    # fmt/print.go tooLarge: "reports whether the magnitude of the integer is too
    # large to be used as a formatting width or precision"
    return number > 1_000_000 or number < -1_000_000


def _parsenum(text: str, start: int, end: int) -> tuple[int, bool, int]:
    """fmt's parsenum: (number, found, index after it); an overflow consumes the rest."""
    number = 0
    found = False
    index = start
    while index < end and "0" <= text[index] <= "9":
        if _too_large(number):
            return 0, False, end
        number = number * 10 + ord(text[index]) - 48
        found = True
        index += 1
    return number, found, index


def _can_backquote(text: str) -> bool:
    # strconv.CanBackquote: no control characters but tab, no backquote, no BOM,
    # no invalid UTF-8 (lone surrogates stand for invalid bytes here)
    for char in text:
        code = ord(char)
        if (code < 0x20 and char != "\t") or char in "`\x7f\ufeff" or 0xD800 <= code <= 0xDFFF:
            return False
    return True


class _Printer:
    """fmt's ``pp`` and ``fmt`` in one: the flags of the verb at hand and the buffer."""

    __slots__ = (
        "buf",
        "minus",
        "plus",
        "plus_v",
        "prec",
        "prec_present",
        "sharp",
        "sharp_v",
        "size",
        "space",
        "wid",
        "wid_present",
        "zero",
    )

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.size = 0
        self.clear_flags()

    def clear_flags(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0
        self.wid_present = self.prec_present = False

    def take(self) -> str:
        text = "".join(self.buf)
        self.buf = []
        return text

    # -- format.go --------------------------------------------------------------
    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > limits.MAX_VALUE_CHARS:
            raise TooLarge
        self.buf.append(text)

    def write_padding(self, count: int) -> None:
        if count > 0:
            self.write(("0" if self.zero else " ") * min(count, limits.MAX_VALUE_CHARS + 1))

    def pad(self, text: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.write(text)
            return
        width = self.wid - len(text)
        if not self.minus:
            self.write_padding(width)
            self.write(text)
        else:
            self.write(text)
            self.write_padding(width)

    def no_zero_pad(self, text: str) -> None:
        saved, self.zero = self.zero, False
        self.pad(text)
        self.zero = saved

    def truncate(self, text: str) -> str:
        return text[: self.prec] if self.prec_present else text

    def fmt_integer(self, value: int, base: int, verb: str, upper: bool) -> None:
        negative = value < 0
        magnitude = -value if negative else value
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and magnitude == 0:
                saved, self.zero = self.zero, False
                self.write_padding(self.wid)
                self.zero = saved
                return
        elif self.zero and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1  # leave room for the sign
        if prec > limits.MAX_VALUE_CHARS:
            raise TooLarge
        digits = format(magnitude, {10: "d", 16: "X" if upper else "x", 8: "o", 2: "b"}[base])
        digits = digits.rjust(prec, "0")
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8 and digits[0] != "0":
                digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        self.no_zero_pad(digits)

    def fmt_unicode(self, value: int) -> None:
        code = value & _UINT64
        prec = self.prec if self.prec_present and self.prec > 4 else 4
        if prec > limits.MAX_VALUE_CHARS:
            raise TooLarge
        text = "U+" + format(code, "X").rjust(prec, "0")
        if self.sharp and code <= _MAX_RUNE and chr(code).isprintable():
            text += " '" + chr(code) + "'"
        self.no_zero_pad(text)

    def fmt_c(self, value: int) -> None:
        code = value & _UINT64
        if code > _MAX_RUNE or 0xD800 <= code <= 0xDFFF:
            code = 0xFFFD
        self.pad(chr(code))

    def fmt_qc(self, value: int) -> None:
        code = value & _UINT64
        if code > _MAX_RUNE or 0xD800 <= code <= 0xDFFF:
            code = 0xFFFD
        self.pad(go_quote(chr(code), "'", ascii_only=self.plus))

    def fmt_s(self, text: str) -> None:
        self.pad(self.truncate(text))

    def fmt_q(self, text: str) -> None:
        text = self.truncate(text)
        if self.sharp and _can_backquote(text):
            self.pad("`" + text + "`")
        else:
            self.pad(go_quote(text, ascii_only=self.plus))

    def fmt_sx(self, text: str, upper: bool) -> None:
        data = text.encode("utf-8", "surrogateescape")
        length = len(data)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        prefix = ("0X" if upper else "0x") if self.sharp else ""
        pattern = "{:02X}" if upper else "{:02x}"
        pieces = [pattern.format(byte) for byte in data[:length]]
        if self.space:
            self.write(" ".join(prefix + piece for piece in pieces))
        else:
            self.write(prefix + "".join(pieces))
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_float_text(self, value: float, verb: str, prec: int) -> None:
        """format.go fmtFloat: the sign, the ``#`` flag's zeros, Inf/NaN, padding."""
        if self.prec_present:
            prec = self.prec
        if prec > limits.MAX_VALUE_CHARS:
            raise TooLarge
        num = format_float(value, verb, prec)
        if num[0] not in "+-":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.no_zero_pad(num)
            return
        if self.sharp and verb != "b":
            num = self._sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and self.wid_present and self.wid > len(num):
                self.write(num[0])
                self.write_padding(self.wid - len(num))
                self.write(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def _sharp_float(num: str, verb: str, prec: int) -> str:
        # format.go: "The sharp flag forces printing a decimal point but removes
        # trailing zeros for %e, %f; keeps them for %g/%G"
        digits = 0
        if verb in "vgGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        seen_nonzero = False
        index = 1
        while index < len(num):
            char = num[index]
            if char == ".":
                has_point = True
            elif char in "pP" or (char in "eE" and verb not in "xX"):
                tail = num[index:]
                num = num[:index]
                break
            else:
                if char != "0":
                    seen_nonzero = True
                if seen_nonzero:
                    digits -= 1
            index += 1
        if not has_point:
            if len(num) == 2 and num[1] == "0":
                digits -= 1
            num += "."
        if digits > limits.MAX_VALUE_CHARS:
            raise TooLarge
        return num + "0" * max(digits, 0) + tail

    # -- print.go ---------------------------------------------------------------
    def bad_verb(self, verb: str, value: object) -> None:
        self.write("%!" + verb + "(")
        if value is None:
            self.write("<nil>")
        else:
            self.write(go_type(value) + "=")
            self.print_arg(value, "v")
        self.write(")")

    def fmt_float(self, value: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float_text(value, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_text(value, verb, -1)
        elif verb in "feE":
            self.fmt_float_text(value, verb, 6)
        elif verb == "F":
            self.fmt_float_text(value, "f", 6)
        else:
            self.bad_verb(verb, value)

    def fmt_complex(self, value: complex, verb: str) -> None:
        if verb not in "vbgGxXfFeE":
            self.bad_verb(verb, value)
            return
        saved = self.plus
        self.write("(")
        self.fmt_float(value.real, verb)
        self.plus = True  # the imaginary part always has a sign
        self.fmt_float(value.imag, verb)
        self.write("i)")
        self.plus = saved

    def fmt_int(self, value: int, verb: str) -> None:
        if verb == "v" and self.sharp_v and isinstance(value, Uint8):
            saved, self.sharp = self.sharp, True  # fmt0x64: %#v of an unsigned is 0x..
            self.fmt_integer(value, 16, verb, False)
            self.sharp = saved
        elif verb in "vd":
            self.fmt_integer(value, 10, verb, False)
        elif verb == "b":
            self.fmt_integer(value, 2, verb, False)
        elif verb in "oO":
            self.fmt_integer(value, 8, verb, False)
        elif verb in "xX":
            self.fmt_integer(value, 16, verb, verb == "X")
        elif verb == "c":
            self.fmt_c(value)
        elif verb == "q":
            self.fmt_qc(value)
        elif verb == "U":
            self.fmt_unicode(value)
        else:
            self.bad_verb(verb, value)

    def fmt_string(self, text: str, verb: str, value: object) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(text)
            else:
                self.fmt_s(text)
        elif verb == "s":
            self.fmt_s(text)
        elif verb in "xX":
            self.fmt_sx(text, verb == "X")
        elif verb == "q":
            self.fmt_q(text)
        else:
            self.bad_verb(verb, value)

    def print_arg(self, value: object, verb: str) -> None:
        """printArg (depth 0) and printValue (inside maps and lists) in one."""
        if value is None:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, value)
            return
        if verb == "T":
            self.fmt_s(go_type(value))
        elif isinstance(value, bool):
            if verb in "tv":
                self.pad("true" if value else "false")
            else:
                self.bad_verb(verb, value)
        elif isinstance(value, int):
            self.fmt_int(value, verb)
        elif isinstance(value, float):
            self.fmt_float(value, verb)
        elif isinstance(value, complex):
            self.fmt_complex(value, verb)
        elif isinstance(value, str):
            self.fmt_string(str(value), verb, value)
        elif isinstance(value, Mapping):
            self.print_map(value, verb)
        elif isinstance(value, (list, tuple)):
            self.print_list(value, verb)
        else:
            self.bad_verb(verb, value)

    def print_element(self, value: object, verb: str) -> None:
        # printValue of an interface element: a nil one is written without padding
        if value is None:
            self.write("interface {}(nil)" if self.sharp_v else "<nil>")
        else:
            self.print_arg(value, verb)

    def print_map(self, value: Mapping[str, Any], verb: str) -> None:
        if self.sharp_v:
            self.write(go_type(value) + "{")
        else:
            self.write("map[")
        for index, key in enumerate(sorted(value)):  # internal/fmtsort: keys in order
            if index:
                self.write(", " if self.sharp_v else " ")
            self.print_arg(key, verb)
            self.write(":")
            self.print_element(value[key], verb)
        self.write("}" if self.sharp_v else "]")

    def print_list(self, value: list[Any] | tuple[Any, ...], verb: str) -> None:
        if self.sharp_v:
            self.write(go_type(value) + "{")
        else:
            self.write("[")
        for index, item in enumerate(value):
            if index:
                self.write(", " if self.sharp_v else " ")
            self.print_element(item, verb)
        self.write("}" if self.sharp_v else "]")


def sprint_value(value: object) -> str:
    """Go's ``fmt.Sprint`` of one operand (``%v``), as text/template prints a value."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    printer = _Printer()
    printer.print_arg(value, "v")
    return printer.take()


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


def sprintf(format_text: str, args: list[Any]) -> str:
    """Go's ``fmt.Sprintf``: see :func:`sprintf_chunks`."""
    return "".join(text for text, _ in sprintf_chunks(format_text, args))


def _arg_number(text: str, index: int, end: int) -> tuple[int, int, bool]:
    """fmt's parseArgNumber at text[index] == "[": (operand index, index after, ok)."""
    if end - index < 3:
        return 0, index + 1, False
    close = text.find("]", index + 1, end)
    if close < 0:
        return 0, index + 1, False
    number, found, after = _parsenum(text, index + 1, close)
    if not found or after != close:
        return 0, close + 1, False
    return number - 1, close + 1, True


def sprintf_chunks(format_text: str, args: list[Any]) -> list[tuple[str, int]]:
    """Go's ``fmt.Sprintf`` (doPrintf), in chunks ``(text, source)``: source is the
    index of the operand a chunk formats, FROM_FORMAT for text of the format string
    and fmt's own markers, FROM_EXTRA for the report of unused operands.

    Raises TooLarge when the text would be larger than a template value may be.
    """
    out: list[tuple[str, int]] = []
    p = _Printer()
    end = len(format_text)
    count = len(args)
    arg_num = 0
    reordered = False
    i = 0

    def arg_number(arg_num: int, i: int) -> tuple[int, int, bool, bool]:
        """(operand, index, after an index, good) for an optional ``[n]`` at i."""
        nonlocal reordered
        if i >= end or format_text[i] != "[":
            return arg_num, i, False, True
        reordered = True
        index, after, ok = _arg_number(format_text, i, end)
        if ok and 0 <= index < count:
            return index, after, True, True
        return arg_num, after, ok, False

    def int_from_arg(arg_num: int) -> tuple[int, bool, int]:
        if arg_num >= count:
            return 0, False, arg_num
        value = args[arg_num]
        number = value if is_int(value) else 0
        found = is_int(value)
        if _too_large(number):
            return 0, False, arg_num + 1
        return number, found, arg_num + 1

    def emit(text: str, source: int) -> None:
        if text:
            out.append((text, source))

    while i < end:
        good_arg_num = True
        percent = format_text.find("%", i)
        if percent < 0:
            percent = end
        if percent > i:
            p.write(format_text[i:percent])
            emit(p.take(), FROM_FORMAT)
        i = percent
        if i >= end:
            break
        i += 1
        p.clear_flags()
        while i < end:
            char = format_text[i]
            if char == "#":
                p.sharp = True
            elif char == "0":
                p.zero = not p.minus  # only pad with zeros on the left
            elif char == "+":
                p.plus = True
            elif char == "-":
                p.minus = True
                p.zero = False
            elif char == " ":
                p.space = True
            else:
                break
            i += 1
        arg_num, i, after_index, good = arg_number(arg_num, i)
        good_arg_num = good_arg_num and good
        if i < end and format_text[i] == "*":
            i += 1
            p.wid, p.wid_present, arg_num = int_from_arg(arg_num)
            if not p.wid_present:
                p.write("%!(BADWIDTH)")
                emit(p.take(), FROM_FORMAT)
            if p.wid < 0:
                p.wid = -p.wid
                p.minus = True
                p.zero = False
            after_index = False
        else:
            p.wid, p.wid_present, i = _parsenum(format_text, i, end)
            if after_index and p.wid_present:  # "%[3]2d"
                good_arg_num = False
        if i + 1 < end and format_text[i] == ".":
            i += 1
            if after_index:  # "%[3].2d"
                good_arg_num = False
            arg_num, i, after_index, good = arg_number(arg_num, i)
            good_arg_num = good_arg_num and good
            if i < end and format_text[i] == "*":
                i += 1
                p.prec, p.prec_present, arg_num = int_from_arg(arg_num)
                if p.prec < 0:  # a negative precision makes no sense
                    p.prec = 0
                    p.prec_present = False
                if not p.prec_present:
                    p.write("%!(BADPREC)")
                    emit(p.take(), FROM_FORMAT)
                after_index = False
            else:
                p.prec, p.prec_present, i = _parsenum(format_text, i, end)
                if not p.prec_present:
                    p.prec = 0
                    p.prec_present = True
        if not after_index:
            arg_num, i, after_index, good = arg_number(arg_num, i)
            good_arg_num = good_arg_num and good
        if i >= end:
            p.write("%!(NOVERB)")
            emit(p.take(), FROM_FORMAT)
            break
        verb = format_text[i]
        i += 1
        if verb == "%":  # takes no operand, ignores width and precision
            p.write("%")
            emit(p.take(), FROM_FORMAT)
        elif not good_arg_num:
            p.write("%!" + verb + "(BADINDEX)")
            emit(p.take(), FROM_FORMAT)
        elif arg_num >= count:
            p.write("%!" + verb + "(MISSING)")
            emit(p.take(), FROM_FORMAT)
        else:
            if verb == "v":
                p.sharp_v, p.sharp = p.sharp, False
                p.plus_v, p.plus = p.plus, False
            p.print_arg(args[arg_num], verb)
            emit(p.take(), arg_num)
            arg_num += 1
    if not reordered and arg_num < count:
        p.clear_flags()
        p.write("%!(EXTRA ")
        for index, arg in enumerate(args[arg_num:]):
            if index:
                p.write(", ")
            if arg is None:
                p.write("<nil>")
            else:
                p.write(go_type(arg) + "=")
                p.print_arg(arg, "v")
        p.write(")")
        emit(p.take(), FROM_EXTRA)
    return out
