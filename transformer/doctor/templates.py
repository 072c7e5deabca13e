"""What a template reads from Vault, found by walking the agent's own parse tree.

The agent parses and runs templates (``transformer.agent.template``); the doctor
parses them with the same parser and walks the tree without running it, following
the dot and the variables symbolically:

* ``secret "literal/path"`` is a read of that path (with ``k=v`` arguments: a
  write); a path built at run time cannot be known here and is reported as not
  checked, never guessed;
* a field chain on a secret response (``.Data.data.password`` inside
  ``with secret "..."``, ``$s.Data.KEY``, ``(secret "...").Data.data.KEY``) must
  exist when the template runs: the agent fails on a missing key, like
  consul-template's ``error_on_missing_key``. ``index`` returns nil for a missing
  key, so what it reaches is optional and not listed.

Nothing here talks to Vault or sees a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from transformer.agent.template import (
    Template,
    _Action,
    _Call,
    _ChainNode,
    _Cmd,
    _Const,
    _Control,
    _DotNode,
    _FieldNode,
    _FuncNode,
    _Node,
    _Pipe,
    _VarNode,
)

#: ``{{template}}`` calls followed this deep (recursive templates are legal Go).
MAX_CALL_DEPTH = 20


@dataclass(frozen=True)
class Where:
    """A place inside a template's own text (1-based)."""

    line: int
    col: int


@dataclass
class SecretCall:
    """One distinct ``secret`` call with a literal path."""

    path: str
    write: bool  # called with k=v data: Vault answers a write (pki/issue, ...)
    where: Where
    #: Field chains below the response view (``("Data", "data", "password")``) that
    #: must exist, each with where it is first used.
    fields: dict[tuple[str, ...], Where] = field(default_factory=dict)


@dataclass
class TemplateUse:
    """What one template asks of Vault."""

    calls: list[SecretCall] = field(default_factory=list)
    #: Places the doctor cannot follow statically (a path built at run time).
    unknown: list[tuple[Where, str]] = field(default_factory=list)

    def reads(self) -> list[SecretCall]:
        return [call for call in self.calls if not call.write]


@dataclass(frozen=True)
class _Ref:
    """A value known to be (a part of) the response of one ``secret`` call."""

    call: SecretCall
    chain: tuple[str, ...] = ()


_Value = _Ref | None  # None: anything not traced back to a secret response
_Scope = dict[str, _Value]


class _Walker:
    def __init__(self, template: Template) -> None:
        self.source = template.source
        self.templates: Mapping[str, list[_Node]] = template.definitions
        self.use = TemplateUse()
        self.calls: dict[tuple[str, bool], SecretCall] = {}
        self.called: set[str] = set()
        self.stack: list[str] = []

    def where(self, pos: int) -> Where:
        line = self.source.count("\n", 0, pos) + 1
        return Where(line, pos - (self.source.rfind("\n", 0, pos) + 1) + 1)

    # -- statements ---------------------------------------------------------
    def walk(self, nodes: Sequence[_Node], dot: _Value, scope: _Scope) -> None:
        for node in nodes:
            if isinstance(node, _Action):
                self.pipe(node.pipe, dot, scope)
            elif isinstance(node, _Control):
                inner = dict(scope)
                value = self.pipe(node.pipe, dot, inner)
                if node.kind == "range":
                    for name in node.pipe.decl:
                        inner[name] = None  # an element or a key: not a response
                    body_dot: _Value = None
                else:
                    body_dot = value if node.kind == "with" else dot
                self.walk(node.body, body_dot, inner)
                if node.else_body is not None:
                    self.walk(node.else_body, dot, dict(scope))
            elif isinstance(node, _Call):
                value = None if node.pipe is None else self.pipe(node.pipe, dot, scope)
                self.call_template(node.name, value)

    def call_template(self, name: str, dot: _Value) -> None:
        body = self.templates.get(name)
        if body is None or name in self.stack or len(self.stack) >= MAX_CALL_DEPTH:
            return
        self.called.add(name)
        self.stack.append(name)
        self.walk(body, dot, {"$": dot})
        self.stack.pop()

    # -- expressions --------------------------------------------------------
    def pipe(self, pipe: _Pipe, dot: _Value, scope: _Scope) -> _Value:
        value: _Value = None
        for index, cmd in enumerate(pipe.cmds):
            value = self.command(cmd, dot, scope, piped=index > 0)
        for name in pipe.decl:
            scope[name] = value
        return value

    def command(self, cmd: _Cmd, dot: _Value, scope: _Scope, *, piped: bool) -> _Value:
        head = cmd.args[0]
        if not isinstance(head, _FuncNode):
            return self.operand(head, dot, scope)
        args = [self.operand(arg, dot, scope) for arg in cmd.args[1:]]
        if head.name == "secret":
            return self.secret(head, cmd.args[1:], piped)
        if head.name == "index" and not piped and args and args[0] is not None:
            keys = [arg.value for arg in cmd.args[2:] if isinstance(arg, _Const)]
            if len(keys) == len(cmd.args) - 2 and all(isinstance(key, str) for key in keys):
                # Optional (nil when missing): a place, not a requirement.
                return _Ref(args[0].call, (*args[0].chain, *keys))
        return None

    def secret(self, head: _FuncNode, arg_nodes: list[_Node], piped: bool) -> _Value:
        literal = [node.value for node in arg_nodes if isinstance(node, _Const)]
        if piped or len(literal) != len(arg_nodes) or not all(isinstance(v, str) for v in literal):
            self.use.unknown.append(
                (self.where(head.pos), "a secret path built when the template runs")
            )
            return None
        path = str(literal[0])
        write = any(literal[1:])  # the agent skips empty k=v arguments
        key = (path, write)
        call = self.calls.get(key)
        if call is None:
            call = self.calls[key] = SecretCall(path, write, self.where(head.pos))
            self.use.calls.append(call)
        return _Ref(call)

    def operand(self, node: _Node, dot: _Value, scope: _Scope) -> _Value:
        if isinstance(node, _DotNode):
            return dot
        if isinstance(node, _FieldNode):
            return self.fields(dot, node.names, node.pos)
        if isinstance(node, _VarNode):
            return self.fields(scope.get(node.name), node.names, node.pos)
        if isinstance(node, _ChainNode):
            return self.fields(self.pipe(node.pipe, dot, dict(scope)), node.names, node.pos)
        if isinstance(node, _FuncNode):
            self.command(_Cmd(node.pos, [node]), dot, scope, piped=False)
        return None

    def fields(self, value: _Value, names: list[str], pos: int) -> _Value:
        if value is None or not names:
            return value
        chain = (*value.chain, *names)
        if not value.call.write:  # a write's answer is not known before it is made
            value.call.fields.setdefault(chain, self.where(pos))
        return _Ref(value.call, chain)


def template_use(template: Template) -> TemplateUse:
    """The secret calls and required fields of a parsed template."""
    walker = _Walker(template)
    walker.walk(template.nodes, None, {"$": None})
    for name, body in walker.templates.items():
        if name not in walker.called:  # defined, maybe run by executeTemplate: still read
            walker.stack = [name]
            walker.walk(body, None, {"$": None})
    return walker.use
