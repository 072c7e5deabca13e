"""JSON for the agent on the C accelerator ``_json``, without the ``json`` package.

Why: ``import json`` pulls in ``re`` (and with it ``enum``, ``functools``,
``collections``): about ten milliseconds of every pod start, for two small
functions. ``_json`` is what ``json`` itself uses for the work. Only the error
path imports ``json``, to produce its exact message (what, line, column).
"""

from __future__ import annotations

import _json

from transformer.agent.errors import AgentError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # JSON's own (json.decoder.WHITESPACE)


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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class _Context:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_reject_constant)
    memo: dict[str, str] = {}  # noqa: RUF012 (the scanner's attribute, not a shared default)


def _not_serializable(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _NumbersAsText(_Context):
    """Numbers kept as written (Go's json.Number): Vault's client decodes with UseNumber."""

    parse_float = JSONNumber  # type: ignore[assignment]
    parse_int = JSONNumber  # type: ignore[assignment]


class _NumbersAsFloats(_Context):
    """Every number a float, as Go's encoding/json decodes into an ``interface{}``."""

    parse_int = float  # type: ignore[assignment]


# typeshed types make_scanner's argument as a JSONDecoder; it reads only these attributes.
_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
_scan_numbers_as_text = _json.make_scanner(_NumbersAsText())  # type: ignore[arg-type]
_scan_numbers_as_floats = _json.make_scanner(_NumbersAsFloats())  # type: ignore[arg-type]

#: How deep a secret's JSON may nest (objects and arrays); Vault's own envelope takes 2-3.
MAX_SECRET_DEPTH = 100
_encode = _json.make_encoder(
    None, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, False
)


def loads(text: str, *, _scan: Any = _scan) -> Any:
    """Parse ``text`` like ``json.loads``, but NaN/Infinity are errors.

    Raises ValueError (``json.JSONDecodeError``) whose message says what is wrong
    and where (line, column), never the content; RecursionError when it nests
    deeper than Python can follow.
    """
    try:
        start = _skip_whitespace(text, 0)
        value, end = _scan(text, start)
        if _skip_whitespace(text, end) == len(text):
            return value
    except RecursionError:
        raise
    except (StopIteration, ValueError, SystemError):
        # _json raises StopIteration for "no value here", and cannot build its
        # JSONDecodeError unless json.decoder is loaded: let json say what is wrong.
        pass
    import json

    return json.loads(text, parse_constant=_reject_constant)


class SecretDataError(AgentError):
    """Vault's answer holds a value the agent cannot pass on unchanged (or nests too
    deeply): the message names where, by keys, never a value. Not a ValueError: it is
    not a "not JSON" answer, and it reaches the user as it is."""


def loads_secret(text: str, where: str) -> Any:
    """Parse a Vault answer so that every value reaches the app exactly as stored.

    Numbers are :class:`JSONNumber` (their text as written: ``1.0``, ``1E400`` and
    ``12345678.5`` stay so); a string that is not Unicode text (a lone surrogate
    escape such as ``"\\ud800"``, which UTF-8 cannot carry) and nesting deeper than
    ``MAX_SECRET_DEPTH`` raise SecretDataError naming the key; anything else that is
    not JSON raises ValueError as :func:`loads` does. ``where`` starts the message.
    """
    try:
        start = _skip_whitespace(text, 0)
        value, end = _scan_numbers_as_text(text, start)
        complete = _skip_whitespace(text, end) == len(text)
    except RecursionError:
        raise SecretDataError(
            f"{where}: Vault's answer nests deeper than {MAX_SECRET_DEPTH} levels"
        ) from None
    except (StopIteration, ValueError, SystemError):
        complete = False
    if not complete:
        loads(text)  # raises the json module's message (what, line, column)
    _check_secret(value, where)
    return value


def _check_secret(value: Any, where: str) -> None:
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, keys = stack.pop()
        if len(keys) > MAX_SECRET_DEPTH:
            raise SecretDataError(
                f"{where}: Vault's answer nests deeper than {MAX_SECRET_DEPTH} levels"
                f" (at {_key_path(keys[:3])}...)"
            )
        if isinstance(item, str):
            if not item.isascii() and not _is_unicode_text(item):
                raise SecretDataError(
                    f"{where}: the value of {_key_path(keys)} is not Unicode text"
                    " (a lone surrogate escape such as \\ud800)"
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if not key.isascii() and not _is_unicode_text(key):
                    raise SecretDataError(
                        f"{where}: a key in {_key_path(keys)} is not Unicode text"
                        " (a lone surrogate escape such as \\ud800)"
                    )
                stack.append((child, (*keys, key)))
        elif isinstance(item, list):
            stack.extend((child, (*keys, str(index))) for index, child in enumerate(item))


def _is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_path(keys: tuple[str, ...]) -> str:
    return "key " + ".".join(keys) if keys else "the answer"


def loads_floats(text: str) -> Any:
    """:func:`loads` with every number a float (Go's ``json.Unmarshal`` into ``any``)."""
    return loads(text, _scan=_scan_numbers_as_floats)


def dumps(value: Any) -> str:
    """Compact ASCII JSON of dicts, lists, strings, numbers, booleans and None."""
    return "".join(_encode(value, 0))


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index
