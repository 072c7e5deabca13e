"""Execution: walks the parse tree over the data, writing output with provenance.

Semantics follow Go's text/template exec.go with consul-template's
``error_on_missing_key = true``; ``and``/``or`` (short-circuit), ``secret``, ``env``
and ``executeTemplate`` are evaluated here, the other functions in
:mod:`transformer.agent.template.functions`.
"""

from __future__ import annotations

from _collections_abc import Mapping  # not collections.abc: see __init__.py

from transformer.agent.jsonlite import JSONNumber
from transformer.agent.template import gofmt, limits
from transformer.agent.template.errors import fail
from transformer.agent.template.functions import FUNCS, ArgError, truth
from transformer.agent.template.limits import STEP_CHARS, Budget, size_of
from transformer.agent.template.nodes import (
    NO_ARG,
    _Action,
    _Call,
    _ChainNode,
    _Cmd,
    _Const,
    _Control,
    _DotNode,
    _FieldNode,
    _FuncNode,
    _Jump,
    _Node,
    _Pipe,
    _Text,
    _VarNode,
)
from transformer.agent.template.parser import check_arity
from transformer.agent.template.provenance import Composed, Literal, Pieces, composed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from transformer.agent.template import SecretFunc


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _field(value: object, name: str, pos: int) -> Any:
    if isinstance(value, Mapping):
        if name in value:
            return value[name]
        fail(pos, f"map has no entry for key {name!r}")
    if value is None:
        fail(pos, f"nil data; no entry for key {name!r}")
    fail(pos, f"can't evaluate field {name} in type {gofmt.go_type(value)}")


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


class Output:
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
        if self.size > limits.MAX_OUTPUT_CHARS:
            fail(pos, f"output is larger than {limits.MAX_OUTPUT_CHARS} characters")
        self.chunks.append((text, from_data))

    def pieces(self) -> Pieces:
        merged: Pieces = []
        run: list[str] = []
        run_flag = False
        for text, from_data in self.chunks:
            if run and from_data != run_flag:
                merged.append(("".join(run), run_flag))
                run = []
            run.append(str(text))  # plain str: no Literal/Composed leaves the engine
            run_flag = from_data
        if run:
            merged.append(("".join(run), run_flag))
        return merged


class Exec:
    def __init__(
        self, secret: SecretFunc, env: Mapping[str, str], templates: dict[str, list[_Node]]
    ) -> None:
        self.secret = secret
        self.env = env
        self.templates = templates
        self.call_depth = 0
        self.vars: list[list[Any]] = [["$", None]]
        self.out = Output()
        self.iterations = 0
        self.budget = Budget()
        self.cache: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}

    # -- statements -------------------------------------------------------------
    def walk(self, nodes: list[_Node], dot: Any) -> None:
        for node in nodes:
            self.budget.step(node.pos)
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

    def call_template(self, name: str, dot: Any, pos: int, name_from_data: bool = False) -> None:
        body = self.templates.get(name)
        if body is None:
            if name_from_data:  # executeTemplate (.Data.x): the name may be a secret
                fail(pos, "no template of that name defined (the name comes from data)")
            fail(pos, f"no template {name!r} defined")
        self.call_depth += 1
        if self.call_depth > limits.MAX_NESTING:
            fail(pos, "template calls nest too deeply")
        saved = self.vars
        self.vars = [["$", dot]]  # a template starts with $ = its dot and no variables
        try:
            self.walk(body, dot)
        finally:
            self.vars = saved
            self.call_depth -= 1

    def emit(self, value: Any, pos: int) -> None:
        if value is None:
            fail(pos, "cannot print nil (a missing or null value)")
        if type(value) is Literal:
            self.out.write(value, False, pos)
        elif type(value) is Composed:
            for text, from_data in value.pieces:
                self.out.write(text, from_data, pos)
        elif isinstance(value, str):
            self.out.write(value, True, pos)
        else:
            from transformer.agent.template import goprintf  # lazily: strings need none

            text = goprintf.sprint_value(value)
            self.budget.allocate(pos, len(text))
            self.out.write(text, True, pos)

    def walk_if(self, node: _Control, dot: Any) -> None:
        mark = len(self.vars)
        value = self.pipeline(node.pipe, dot)
        if truth(value):
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
                fail(node.pos, "can't use range over int with two variables")
            pairs = ((i, i) for i in range(value))
        elif value is None:
            pairs = ()
        else:
            fail(node.pos, f"range can't iterate over {gofmt.go_type(value)}")
        decl = node.pipe.decl
        empty = True
        for key, elem in pairs:
            empty = False
            self.iterations += 1
            if self.iterations > limits.MAX_RANGE_ITERATIONS:
                fail(node.pos, f"more than {limits.MAX_RANGE_ITERATIONS} range iterations")
            self.budget.step(node.pos)
            if node.pipe.is_assign:
                # {{range $k, $v = ...}} assigns variables declared earlier
                if len(decl) == 2:
                    self.assign(decl[0], key, node.pos)
                if decl:
                    self.assign(decl[-1], elem, node.pos)
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
        value: Any = NO_ARG
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        if pipe.decl:
            if pipe.is_assign:
                self.assign(pipe.decl[0], value, pipe.pos)
            else:
                for name in pipe.decl:
                    self.vars.append([name, value])
        return value

    def assign(self, name: str, value: Any, pos: int) -> None:
        for slot in reversed(self.vars):
            if slot[0] == name:
                slot[1] = value
                return
        fail(pos, f"undefined variable {name!r}")

    def lookup(self, name: str, pos: int) -> Any:
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot[1]
        fail(pos, f"undefined variable {name!r}")

    def command(self, cmd: _Cmd, dot: Any, final: Any) -> Any:
        self.budget.step(cmd.pos)
        head = cmd.args[0]
        if isinstance(head, _FuncNode):
            return self.call(head, cmd.args[1:], dot, final)
        if isinstance(head, _Const) and head.value is None:
            fail(head.pos, "nil is not a command")
        if len(cmd.args) > 1 or final is not NO_ARG:
            fail(head.pos, "can't give argument to non-function")
        return self.arg(head, dot)

    def arg(self, node: _Node, dot: Any) -> Any:
        self.budget.step(node.pos)
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
            return self.call(node, [], dot, NO_ARG)
        else:  # pragma: no cover - the parser builds no other operand
            fail(node.pos, "unexpected operand")
        self.budget.step(node.pos, len(node.names))
        for name in node.names:
            value = _field(value, name, node.pos)
        return value

    def call(self, head: _FuncNode, arg_nodes: list[_Node], dot: Any, final: Any) -> Any:
        name = head.name
        check_arity(head, len(arg_nodes) + (final is not NO_ARG))
        if name in ("and", "or"):
            # short-circuit: return the first deciding argument, or the last one
            want = name == "or"
            value: Any = None
            for node in arg_nodes:
                value = self.arg(node, dot)
                if truth(value) == want:
                    return value
            if final is not NO_ARG:
                value = final
            return value
        args = [self.arg(node, dot) for node in arg_nodes]
        if final is not NO_ARG:
            args.append(final)
        if (
            name == "indent"
            and arg_nodes
            and isinstance(arg_nodes[0], _Const)
            and isinstance(args[0], float)
            and args[0].is_integer()
        ):
            args[0] = int(args[0])  # Go converts an integral constant to an int parameter
        # work linear in the arguments' size is paid for (comparisons, searches, copies)
        self.budget.step(head.pos, 1 + sum(size_of(arg) for arg in args) // STEP_CHARS)
        if name == "secret":
            return self.call_secret(head, args)
        if name == "env":
            key = _want_str(head, args, 0)
            return self.env.get(key, "")
        if name == "executeTemplate":
            # consul-template: executeTemplate NAME [DATA] returns the rendered text
            template_name = _want_str(head, args, 0)
            outer = self.out
            self.out = Output()
            self.out.size = outer.size
            try:
                self.call_template(
                    template_name,
                    args[1] if len(args) > 1 else None,
                    head.pos,
                    name_from_data=type(template_name) is not Literal,
                )
                pieces = self.out.pieces()
            finally:
                self.out = outer
            result: Any = composed(pieces)
        else:
            try:
                result = FUNCS[name](args)
            except ArgError as error:
                fail(head.pos, f"error calling {name}: {error.what}")
        if name != "index":  # index returns a part of its argument; the others build
            self.budget.allocate(head.pos, size_of(result))
        return result

    def call_secret(self, head: _FuncNode, args: list[Any]) -> dict[str, Any]:
        for index in range(len(args)):
            _want_str(head, args, index)
        path = str(args[0])
        data = [str(arg) for arg in args[1:]]
        for index, pair in enumerate(data):
            # consul-template: write data are "key=value" arguments (empty ones skipped)
            if pair and "=" not in pair:
                fail(head.pos, f"error calling secret: argument {index + 2} is not key=value")
        key = (path, tuple(data))
        cached = self.cache.get(key)
        if cached is None:
            # errors of the callable (Vault errors) propagate unchanged to the caller
            response = self.secret(path, data)
            if not isinstance(response, Mapping):
                fail(head.pos, "error calling secret: the response is not a JSON object")
            cached = self.cache[key] = _secret_view(response)
        return cached


def _want_str(head: _FuncNode, args: list[Any], index: int) -> str:
    value = args[index]
    if not isinstance(value, str) or isinstance(value, JSONNumber):
        fail(
            head.pos,
            f"error calling {head.name}: argument {index + 1}: expected string; "
            f"got {gofmt.go_type(value)}",
        )
    return value
