"""JSON for the agent on the C accelerator ``_json``, without the ``json`` package.

Why: ``import json`` pulls in ``re`` (and with it ``enum``, ``functools``,
``collections``): about ten milliseconds of every pod start, for two small
functions. ``_json`` is what ``json`` itself uses for the work. Only the error
path imports ``json``, to produce its exact message (what, line, column).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # JSON's own (json.decoder.WHITESPACE)


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


# typeshed types make_scanner's argument as a JSONDecoder; it reads only these attributes.
_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
_encode = _json.make_encoder(
    None, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, False
)


def loads(text: str) -> Any:
    """Parse ``text`` like ``json.loads``, but NaN/Infinity are errors.

    Raises ValueError (``json.JSONDecodeError``) whose message says what is wrong
    and where (line, column), never the content.
    """
    try:
        start = _skip_whitespace(text, 0)
        value, end = _scan(text, start)
        if _skip_whitespace(text, end) == len(text):
            return value
    except (StopIteration, ValueError, SystemError, RecursionError):
        # _json raises StopIteration for "no value here", and cannot build its
        # JSONDecodeError unless json.decoder is loaded: let json say what is wrong.
        pass
    import json

    return json.loads(text, parse_constant=_reject_constant)


def dumps(value: Any) -> str:
    """Compact ASCII JSON of dicts, lists, strings, numbers, booleans and None."""
    return "".join(_encode(value, 0))


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index
