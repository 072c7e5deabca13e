"""The consul-template language as Vault annotations use it: Go ``text/template``
semantics plus consul-template's functions, with output provenance.

    tpl = parse(text, "config.env")          # TemplateError on a syntax error
    tpl.secret_paths()                       # literal read paths, for prefetching
    pieces = tpl.render(secret, env)         # [(text, from_data), ...]

``render`` returns the output as pieces ``(text, from_data)``: ``from_data`` is False
for the template's own literal text (and for string constants written in the template
and printed as they are, e.g. ``{{ "\\n" }}``), True for everything derived from data
(secret values and keys, env, function results). ``printf``, ``print``, ``println``
and ``join`` keep the provenance of their parts: in ``{{ printf "%s=%s\\n" $k $v }}``
the ``=`` and the newline are the template's, ``$k`` and ``$v`` data; a character from
data is never marked as the template's. Adjacent pieces of the same provenance are
merged. The agent splits ``KEY=VALUE`` entries only at newlines that come from the
template, so a multi-line value from Vault stays one value.

Supported: text and actions with trim markers and comments; ``if``/``else if``/
``with``/``else with``/``range`` (lists, maps in sorted key order, ints) with ``else``,
``break``, ``continue``; variables; pipelines; ``define``/``template``/``block``; Go's
builtin functions but ``call``; consul-template's ``secret``, ``env``,
``executeTemplate`` and its string, JSON, base64 and parse helpers (see ``_ARITY``).

Semantics follow Go's ``text/template`` documentation (doc.go) with consul-template's
``error_on_missing_key = true``: a missing map key is an error, and so is printing a
nil value (Go would print ``<no value>``; the agent must never start an application
with half-rendered configuration). ``index`` on a missing key returns nil, as in Go,
so ``{{ if index .Data.data "k" }}`` and ``{{ or (index .Data.data "k") "dflt" }}``
work.

Safety: a template only ever reaches the data the ``secret`` callable returned and the
env mapping through ``env``: field access is a key lookup on mappings, never an
attribute lookup, and there are no methods. Execution is bounded in CPU and memory
(steps of work, characters allocated, value and output sizes, range iterations,
nesting: see :mod:`.limits`). No error message contains a value, only key names,
function names and type names, and names only where the template text wrote them.

Layout: :mod:`.lexer` (text to tokens), :mod:`.parser` (tokens to the tree of
:mod:`.nodes`), :mod:`.executor` (the tree over data), :mod:`.functions` (the builtins),
:mod:`.goprintf`, :mod:`.gofmt` and :mod:`.gojson` (Go's fmt, strconv and
encoding/json formatting),
:mod:`.provenance` (template text or data), :mod:`.limits` (the bounds).

Inspecting a template without running it: ``parse(...).walk()`` yields every node
(the classes ``_Const``, ``_FuncNode``, ``_FieldNode``, ... are re-exported here under
their names; :func:`walk` documents the shape), ``Template.location(node.pos)`` gives
its line and column.
"""

from __future__ import annotations

# Start-up cost: `typing` and `collections.abc` drag in re/enum/functools/collections
# on every pod start (bench/agent_startup.py measures it; tests/agent/
# test_import_budget.py keeps them off the run path). `_collections_abc` is already loaded
# by the interpreter; the typing names are needed by mypy only.
from _collections_abc import Mapping

from transformer.agent.jsonlite import JSONNumber
from transformer.agent.template.errors import Located, TemplateError, fail
from transformer.agent.template.executor import Exec
from transformer.agent.template.lexer import lex
from transformer.agent.template.nodes import (
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
    walk,
)
from transformer.agent.template.parser import Parser, check_arity, is_empty
from transformer.agent.template.provenance import Pieces

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    SecretFunc = Callable[[str, list[str]], Mapping[str, Any]]

__all__ = [
    "JSONNumber",
    "Template",
    "TemplateError",
    "_Action",
    "_Call",
    "_ChainNode",
    "_Cmd",
    "_Const",
    "_Control",
    "_DotNode",
    "_FieldNode",
    "_FuncNode",
    "_Jump",
    "_Node",
    "_Pipe",
    "_Text",
    "_VarNode",
    "parse",
    "walk",
]


#: The main template's name for ``{{template}}`` and ``executeTemplate`` (consul-template's).
MAIN = ""


def _position(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    col = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, col


class Template:
    """A parsed template. Build with :func:`parse`.

    ``nodes`` is the main template's parse tree, ``definitions`` the ``{{define}}``d
    and ``{{block}}``ed templates by name (in definition order); :meth:`walk` visits
    both (see :mod:`transformer.agent.template.nodes` for the node classes).
    """

    __slots__ = ("definitions", "name", "nodes", "source")

    def __init__(
        self, name: str, source: str, nodes: list[_Node], definitions: dict[str, list[_Node]]
    ) -> None:
        self.name = name
        self.source = source
        self.nodes = nodes
        self.definitions = definitions

    def location(self, pos: int) -> tuple[int, int]:
        """(line, column), both from 1, of a node's ``pos`` in the source."""
        return _position(self.source, pos)

    def walk(self) -> Iterator[_Node]:
        """Every node: the main template's, then each definition's (:func:`walk`)."""
        yield from walk(self.nodes)
        for body in self.definitions.values():
            yield from walk(body)

    def problems(self) -> list[TemplateError]:
        """What would fail whenever it runs, found without running: wrong argument
        counts, arguments given to a value, ``nil`` as a command. Go (and so
        consul-template) reports these only when the command runs, so :func:`parse`
        accepts them; a deploy-time check can report them early. In source order."""
        found: list[TemplateError] = []
        for node in self.walk():
            if not isinstance(node, _Pipe):
                continue
            for index, cmd in enumerate(node.cmds):
                head = cmd.args[0]
                count = len(cmd.args) - 1 + (index > 0)
                try:
                    if isinstance(head, _FuncNode):
                        check_arity(head, count)
                    elif isinstance(head, _Const) and head.value is None:
                        fail(head.pos, "nil is not a command")
                    elif count:
                        fail(head.pos, "can't give argument to non-function")
                    for arg in cmd.args[1:]:
                        if isinstance(arg, _FuncNode):
                            check_arity(arg, 0)  # a function as an argument is called bare
                except Located as error:
                    found.append(self._error(error))
        return found

    def _error(self, error: Located) -> TemplateError:
        line, col = self.location(error.pos)
        return TemplateError(self.name, line, col, error.what)

    def secret_paths(self) -> list[str]:
        """Literal paths of ``secret "path"`` reads (no write data), in order, unique:
        a pipeline that starts with ``secret "path"`` and no further argument."""
        found: list[str] = []
        for node in self.walk():
            if not isinstance(node, _Pipe):
                continue
            args = node.cmds[0].args
            if (
                isinstance(args[0], _FuncNode)
                and args[0].name == "secret"
                and len(args) == 2
                and isinstance(args[1], _Const)
                and isinstance(args[1].value, str)
                and args[1].value not in found
            ):
                found.append(str(args[1].value))
        return found

    def render(self, secret: SecretFunc, env: Mapping[str, str]) -> Pieces:
        """Execute: ``[(text, from_data), ...]``; TemplateError on a template error.

        Exceptions raised by ``secret`` itself propagate unchanged.
        """
        # consul-template names its main template "": {{template ""}} calls it
        state = Exec(secret, env, {**self.definitions, MAIN: self.nodes})
        try:
            state.walk(self.nodes, None)
        except Located as error:
            raise self._error(error) from None
        except RecursionError:
            raise TemplateError(self.name, 1, 1, "template nests too deeply") from None
        return state.out.pieces()


def parse(text: str, name: str) -> Template:
    """Parse a template; TemplateError (``template name:line:col: what``) if invalid."""
    try:
        parser = Parser(lex(text))
        nodes = parser.parse()
        definitions = parser.templates
        if MAIN in definitions:  # {{define ""}} defines the main template
            if not is_empty(nodes) and not is_empty(definitions[MAIN]):
                fail(0, f"multiple definition of template {MAIN!r}")
            if is_empty(nodes):
                nodes = definitions[MAIN]
            del definitions[MAIN]
    except Located as error:
        line, col = _position(text, error.pos)
        raise TemplateError(name, line, col, error.what) from None
    except RecursionError:  # a safety net: the parser bounds its nesting itself
        raise TemplateError(name, 1, 1, "template nests too deeply") from None
    return Template(name, text, nodes, definitions)
