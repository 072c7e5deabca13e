"""The parser: tokens into the parse tree, with Go's parse-time checks (variables
declared, function names and argument counts, nesting, definitions)."""

from __future__ import annotations

from transformer.agent.template import limits
from transformer.agent.template.errors import fail
from transformer.agent.template.lexer import KEYWORDS, Item, Tok
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
)

# name -> (minimum, maximum or -1 for variadic) argument count, piped value included
ARITY: dict[str, tuple[int, int]] = {
    "and": (1, -1),
    "base64Decode": (1, 1),
    "base64Encode": (1, 1),
    "contains": (2, 2),
    "env": (1, 1),
    "eq": (2, -1),
    "ge": (2, 2),
    "gt": (2, 2),
    "hasPrefix": (2, 2),
    "hasSuffix": (2, 2),
    "index": (1, -1),
    "join": (2, 2),
    "le": (2, 2),
    "len": (1, 1),
    "lt": (2, 2),
    "ne": (2, 2),
    "not": (1, 1),
    "or": (1, -1),
    "print": (0, -1),
    "printf": (1, -1),
    "println": (0, -1),
    "replaceAll": (3, 3),
    "secret": (1, -1),
    "split": (2, 2),
    "toJSON": (1, 1),
    "toJSONPretty": (1, 1),
    "toLower": (1, 1),
    "toUpper": (1, 1),
    "trimSpace": (1, 1),
    # Go's other builtins
    "html": (0, -1),
    "js": (0, -1),
    "urlquery": (0, -1),
    "slice": (1, 4),
    # further consul-template helpers that Vault annotations use
    "base64URLDecode": (1, 1),
    "base64URLEncode": (1, 1),
    "in": (2, 2),
    "indent": (2, 2),
    "parseBool": (1, 1),
    "parseFloat": (1, 1),
    "parseInt": (1, 1),
    "parseJSON": (1, 1),
    "sha256Hex": (1, 1),
    "toTitle": (1, 1),
    "executeTemplate": (1, 2),
}


def check_arity(head: _FuncNode, count: int) -> None:
    """Go's evalCall check, when the call runs: ``count`` arguments, the piped one too."""
    low, high = ARITY[head.name]
    if high < 0 and count < low:
        fail(head.pos, f"wrong number of args for {head.name}: want at least {low} got {count}")
    if high >= 0 and not low <= count <= high:
        want = str(low) if low == high else f"{low} to {high}"
        fail(head.pos, f"wrong number of args for {head.name}: want {want} got {count}")


def is_empty(nodes: list[_Node]) -> bool:
    return all(isinstance(node, _Text) and not node.text.strip() for node in nodes)


class Parser:
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.index = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.templates: dict[str, list[_Node]] = {}  # {{define}}d and {{block}}ed
        # per-action token cursor
        self.toks: list[Tok] = []
        self.ti = 0
        self.action_pos = 0

    # -- token cursor ---------------------------------------------------------
    def _peek(self) -> Tok | None:
        return self.toks[self.ti] if self.ti < len(self.toks) else None

    def _next(self) -> Tok | None:
        tok = self._peek()
        if tok is not None:
            self.ti += 1
        return tok

    def _here(self) -> int:
        tok = self._peek()
        return tok.pos if tok is not None else self.action_pos

    # -- structure --------------------------------------------------------------
    def parse(self) -> list[_Node]:
        nodes, stop = self._list()
        if stop is not None:
            fail(stop.pos, f"unexpected {{{{{stop.tokens[0].text}}}}}")  # type: ignore[index]
        return nodes

    def _list(self) -> tuple[list[_Node], Item | None]:
        """Nodes up to an ``{{end}}`` or ``{{else ...}}`` (returned) or the end of input."""
        nodes: list[_Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if item.tokens is None:
                nodes.append(_Text(item.pos, item.text or ""))
                continue
            self.toks, self.ti, self.action_pos = item.tokens, 0, item.pos
            first = self._peek()
            word = first.text if first is not None and first.kind == "ident" else ""
            if word in ("end", "else"):
                return nodes, item
            if word in ("if", "with", "range"):
                self._next()
                nodes.append(self._control(word, item.pos))
            elif word in ("break", "continue"):
                self._next()
                if self.range_depth == 0:
                    fail(item.pos, f"{{{{{word}}}}} outside {{{{range}}}}")
                self._expect_end(word)
                nodes.append(_Jump(item.pos, word))
            elif word in ("define", "block"):
                if self.depth and word == "define":
                    fail(item.pos, "{{define}} is allowed at the top level only")
                self._next()
                name = self._template_name(word)
                pipe = self._pipeline(word, allow_decl=False) if word == "block" else None
                if word == "define":
                    self._expect_end("define")
                self._definition(name, item.pos)
                if word == "block":
                    nodes.append(_Call(item.pos, name, pipe))
            elif word == "template":
                self._next()
                name = self._template_name(word)
                pipe = None
                if self._peek() is not None:
                    pipe = self._pipeline("template", allow_decl=False)
                nodes.append(_Call(item.pos, name, pipe))
            else:
                pipe = self._pipeline("command", allow_decl=True)
                nodes.append(_Action(item.pos, pipe))
        return nodes, None

    def _template_name(self, context: str) -> str:
        tok = self._next()
        if tok is None or tok.kind != "string":
            fail(self.action_pos, f"{{{{{context}}}}} needs a template name in quotes")
        return str(tok.value)

    def _definition(self, name: str, pos: int) -> None:
        """The body of a {{define}} or {{block}}: its own variables, no enclosing range."""
        saved_vars, saved_range = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        self.depth += 1
        if self.depth > limits.MAX_NESTING:
            fail(pos, "template nests too deeply")
        body, stop = self._list()
        self.depth -= 1
        if stop is None:
            fail(pos, f"unexpected EOF: {{{{define {name!r}}}}} has no {{{{end}}}}")
        assert stop.tokens is not None
        if stop.tokens[0].text != "end":
            fail(stop.pos, "unexpected {{else}} in definition")
        self.toks, self.ti = stop.tokens, 1
        self._expect_end("end")
        self.vars, self.range_depth = saved_vars, saved_range
        # Go: redefining is allowed only when one of the two definitions is empty
        if name in self.templates and not is_empty(body) and not is_empty(self.templates[name]):
            fail(pos, f"multiple definition of template {name!r}")
        if name not in self.templates or not is_empty(body):
            self.templates[name] = body

    def _expect_end(self, context: str) -> None:
        extra = self._peek()
        if extra is not None:
            fail(extra.pos, f"unexpected {extra.text!r} in {context}")

    def _control(self, kind: str, pos: int) -> _Control:
        self.depth += 1
        if self.depth > limits.MAX_NESTING:
            fail(pos, "template nests too deeply")
        mark = len(self.vars)
        pipe = self._pipeline(kind, allow_decl=True, allow_two=kind == "range")
        if kind == "range":
            self.range_depth += 1
        body, stop = self._list()
        if kind == "range":
            self.range_depth -= 1
        if stop is None:
            fail(pos, f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}")
        else_body: list[_Node] | None = None
        assert stop.tokens is not None
        if stop.tokens[0].text == "else":
            self.toks, self.ti, self.action_pos = stop.tokens, 1, stop.pos
            follow = self._peek()
            if follow is not None and follow.kind == "ident" and follow.text in ("if", "with"):
                if follow.text != kind:
                    fail(follow.pos, f"{{{{else {follow.text}}}}} inside {{{{{kind}}}}}")
                # {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}:
                # the nested control consumes the shared {{end}}
                self._next()
                else_body = [self._control(follow.text, follow.pos)]
            else:
                self._expect_end("else")
                else_body, stop = self._list()
                if stop is None:
                    fail(pos, f"unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}")
                assert stop.tokens is not None
                if stop.tokens[0].text != "end":
                    fail(stop.pos, "expected {{end}}; found {{else}}")
                self.toks, self.ti = stop.tokens, 1
                self._expect_end("end")
        else:
            self.toks, self.ti = stop.tokens or [], 1
            self._expect_end("end")
        del self.vars[mark:]
        self.depth -= 1
        return _Control(pos, kind, pipe, body, else_body)

    # -- pipelines --------------------------------------------------------------
    def _pipeline(
        self, context: str, allow_decl: bool, allow_two: bool = False, closer: str = ""
    ) -> _Pipe:
        pos = self._here()
        decl: list[str] = []
        is_assign = False
        first = self._peek()
        if allow_decl and first is not None and first.kind == "var":
            after = self.toks[self.ti + 1] if self.ti + 1 < len(self.toks) else None
            if after is not None and after.kind in ("declare", "assign", "comma"):
                decl.append(first.text)
                self.ti += 2
                if after.kind == "comma":
                    second = self._next()
                    op = self._next()
                    if not allow_two:
                        fail(after.pos, f"too many declarations in {context}")
                    if (
                        second is None
                        or second.kind != "var"
                        or op is None
                        or op.kind
                        not in (
                            "declare",
                            "assign",
                        )
                    ):
                        fail(after.pos, "range can only initialize variables")
                    decl.append(second.text)
                    after = op
                # Go: assigning an undeclared variable is an error only when it runs,
                # and the name is known from here on
                is_assign = after.kind == "assign"
        cmds: list[_Cmd] = []
        while True:
            cmds.append(self._command(closer, piped=bool(cmds), context=context))
            tok = self._peek()
            if tok is None or (closer and tok.kind == closer):
                break
            if tok.kind != "pipe":
                fail(tok.pos, f"unexpected {tok.text!r} in {context}")
            self._next()
        self.vars.extend(decl)
        return _Pipe(pos, decl, is_assign, cmds)

    def _command(self, closer: str, piped: bool, context: str) -> _Cmd:
        pos = self._here()
        args: list[_Node] = []
        while True:
            tok = self._peek()
            if tok is None or tok.kind == "pipe" or (closer and tok.kind == closer):
                break
            if args and not tok.space:
                fail(tok.pos, f"unexpected {tok.text!r} in operand")
            args.append(self._operand())
        if not args:
            # Go: "missing value for if" for an empty control, else "for command"
            fail(pos, f"missing value for {context if context in KEYWORDS else 'command'}")
        head = args[0]
        if piped and isinstance(head, (_Const, _DotNode)):
            # Go's checkPipeline; argument counts and arguments given to a value are
            # errors only when the command runs (the executor checks them)
            fail(head.pos, "non executable command in pipeline")
        return _Cmd(head.pos, args)

    def _operand(self) -> _Node:
        tok = self._next()
        assert tok is not None
        node: _Node
        kind = tok.kind
        if kind == "ident":
            word = tok.text
            if word == "true" or word == "false":
                node = _Const(tok.pos, word == "true")
            elif word == "nil":
                node = _Const(tok.pos, None)  # "nil is not a command": when it runs
            elif word in KEYWORDS:
                fail(tok.pos, f"unexpected <{word}> in command")
            elif word in ARITY:
                node = _FuncNode(tok.pos, word)
            else:
                fail(tok.pos, f"function {word!r} not defined")
        elif kind == "dot":
            node = _DotNode(tok.pos)
        elif kind == "field":
            node = _FieldNode(tok.pos, [tok.text])
            self._chain(node.names)
            return node
        elif kind == "var":
            if tok.text not in self.vars:
                fail(tok.pos, f"undefined variable {tok.text!r}")
            node = _VarNode(tok.pos, tok.text, [])
            self._chain(node.names)
            return node
        elif kind in ("string", "number"):
            node = _Const(tok.pos, tok.value)
        elif kind == "lparen":
            self.depth += 1
            if self.depth > limits.MAX_NESTING:
                fail(tok.pos, "template nests too deeply")
            pipe = self._pipeline("parenthesized pipeline", allow_decl=False, closer="rparen")
            close = self._next()
            if close is None or close.kind != "rparen":
                fail(tok.pos, "unclosed left paren")
            self.depth -= 1
            chain = _ChainNode(tok.pos, pipe, [])
            self._chain(chain.names)
            return chain
        else:
            fail(tok.pos, f"unexpected {tok.text!r} in operand")
        follow = self._peek()
        if follow is not None and follow.kind == "field" and not follow.space:
            fail(follow.pos, f"unexpected . after term {tok.text!r}")
        return node

    def _chain(self, names: list[str]) -> None:
        while True:
            tok = self._peek()
            if tok is None or tok.kind != "field" or tok.space:
                return
            names.append(tok.text)
            self.ti += 1
