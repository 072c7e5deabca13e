"""The template engine's errors: the public :class:`TemplateError`, and the internal
:class:`Located` (an error at a source offset, turned into a TemplateError with line and
column by the public API)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


class TemplateError(Exception):
    """A template syntax or execution error: ``template <name>:<line>:<col>: <what>``."""

    def __init__(self, name: str, line: int, col: int, what: str) -> None:
        super().__init__(f"template {name}:{line}:{col}: {what}")
        self.name = name
        self.line = line
        self.col = col
        self.what = what


class Located(Exception):
    """An error at a source offset; turned into a TemplateError by the public API."""

    def __init__(self, pos: int, what: str) -> None:
        super().__init__(what)
        self.pos = pos
        self.what = what


def fail(pos: int, what: str) -> NoReturn:
    raise Located(pos, what)
