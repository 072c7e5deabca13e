"""The parse tree (Go's text/template/parse/node.go, reduced to what the language needs).

The class names and fields are stable: tools that inspect templates (``vault-exec
doctor``) walk them, see :func:`transformer.agent.template.walk`. ``pos`` is a source
offset; :meth:`Template.location` turns it into a line and column.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

NO_ARG: Any = object()  # "no piped value" marker for the first command of a pipeline


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


def walk(nodes: list[_Node]) -> Iterator[_Node]:
    """Every node under ``nodes``, depth first in source order, each before its parts.

    A statement's parts are its pipeline (an ``_Action``'s, a ``_Control``'s, a
    ``_Call``'s when it has one) and then a ``_Control``'s body and else body; a
    ``_Pipe``'s are its commands (``_Cmd``); a ``_Cmd``'s its arguments (the head is
    ``args[0]``: a ``_FuncNode`` for a function call); a ``_ChainNode``'s its
    parenthesized pipeline. Field chains are ``names`` lists: ``.Data.data.KEY`` is a
    ``_FieldNode`` with ``names == ["Data", "data", "KEY"]``, ``$s.Data`` a ``_VarNode``
    named ``"$s"``, ``(secret "p").Data`` a ``_ChainNode`` with ``names == ["Data"]``.
    """
    for node in nodes:
        yield node
        if isinstance(node, _Pipe):
            yield from walk(list(node.cmds))
        elif isinstance(node, _Cmd):
            yield from walk(node.args)
        elif isinstance(node, _ChainNode):
            yield from walk([node.pipe])
        elif isinstance(node, (_Action, _Call)):
            if node.pipe is not None:
                yield from walk([node.pipe])
        elif isinstance(node, _Control):
            yield from walk([node.pipe])
            yield from walk(node.body)
            if node.else_body is not None:
                yield from walk(node.else_body)
