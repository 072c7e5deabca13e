"""Random templates from a grammar of the language, for the differential test against
Go's text/template: actions, pipelines, every function, printf formats with flags,
widths, precisions and indexes, control structures, variables, definitions, trim
markers, comments, and the secret data of template_support.SECRETS. Deterministic
for a seed; mostly well-formed, with a share of deliberate mistakes (wrong argument
counts and types, missing keys, undefined names) so that errors are compared too.
"""

from __future__ import annotations

import random

# function -> its parameters' kinds (s string, a any, i int, l list, c a comparable
# pair, b n 6 j strings that parse as a bool, a number, base64, JSON); the grammar
# mostly passes matching operands, sometimes the wrong kind or count on purpose
FUNCTIONS = {
    "and": "aa",
    "or": "aa",
    "not": "a",
    "len": "a",
    "index": "ai",
    "slice": "li",
    "eq": "cc",
    "ne": "cc",
    "lt": "cc",
    "le": "cc",
    "gt": "cc",
    "ge": "cc",
    "print": "aa",
    "println": "aa",
    "html": "a",
    "js": "a",
    "urlquery": "a",
    "toUpper": "s",
    "toLower": "s",
    "trimSpace": "s",
    "replaceAll": "sss",
    "split": "ss",
    "join": "sl",
    "contains": "aa",
    "in": "la",
    "hasPrefix": "ss",
    "hasSuffix": "ss",
    "base64Encode": "s",
    "base64Decode": "6",
    "base64URLEncode": "s",
    "base64URLDecode": "6",
    "toJSON": "a",
    "toJSONPretty": "a",
    "toTitle": "s",
    "indent": "is",
    "parseBool": "b",
    "parseInt": "n",
    "parseFloat": "n",
    "parseJSON": "j",
    "sha256Hex": "s",
    "env": "s",
}

DATA_FIELDS = [
    ".password",
    ".user",
    ".pem",
    ".empty",
    ".no_items",
    ".port",
    ".ratio",
    ".big",
    ".million",
    ".on",
    ".off",
    ".tags",
    ".nums",
    ".nested",
    ".nested.z",
    ".nested.m",
    ".nested.m.k",
    ".html",
    ".b64",
    ".spaced",
    ".csv",
    ".unicode",
    ".missing",
]

STRING_FIELDS = [".password", ".user", ".empty", ".html", ".b64", ".spaced", ".csv", ".unicode"]

STRINGS = [
    '""',
    '"a"',
    '"x,y,z"',
    '"Hello World"',
    '"  pad "',
    '"<a&b>"',
    '"%d"',
    '"true"',
    '"12"',
    '"-3.5"',
    '"1e3"',
    '"aGVsbG8="',
    '"[1,2]"',
    '"{\\"k\\": 1}"',
    '"\\n"',
    '"é"',
    "`raw\\n`",
    '"HOME"',
    '"STAGE"',
    '","',
]

NUMBERS = [
    "0",
    "1",
    "2",
    "-3",
    "42",
    "0x1F",
    "010",
    "1_000",
    "'a'",
    "'\\n'",
    "1.5",
    "2.0",
    "-0.0",
    "1e6",
    "1e-7",
    "0.1",
    "1e21",
    "1i",
    "2+3i",
    "-1.5i",
    "0x1p-2",
    "9223372036854775807",
    "1000001",
]

VERBS = "vvvvsdqxXobcUeEfFgGtT%"
FLAGS = ["", "", "", "+", "-", "#", " ", "0", "-0", "+#", "# "]
WIDTHS = ["", "", "", "5", "1", "12", "*", "1000001", "01"]
PRECISIONS = ["", "", "", ".2", ".0", ".*", ".10", "."]


class TemplateGrammar:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.variables: list[str] = []
        self.counter = 0
        self.in_range = 0
        self.defined: list[str] = []

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    # -- whole templates --------------------------------------------------------
    def template(self) -> str:
        self.variables = ["$"]
        self.in_range = 0
        self.defined = []
        prefix = ""
        if self.chance(0.3):
            name = '"d1"'
            saved = self.variables
            self.variables = ["$"]
            prefix = "{{define " + name + "}}" + self.body(2) + "{{end}}"
            self.variables = saved
            self.defined.append(name)  # after its body: no recursion
        body = self.body(0)
        if self.chance(0.9):
            body = '{{with secret "secret/data/app"}}{{with .Data.data}}' + body + "{{end}}{{end}}"
        return prefix + body

    def body(self, depth: int) -> str:
        return "".join(self.item(depth) for _ in range(self.rng.randint(1, 3)))

    def item(self, depth: int) -> str:
        roll = self.rng.random()
        if depth > 3:
            roll = min(roll, 0.49)
        if roll < 0.15:
            return self.pick(["x", " ", "\n", "a=", ";", "  \n  "])
        if roll < 0.5:
            return self.action("{{" + self.pipeline(depth) + "}}")
        if roll < 0.58:
            name = f"$v{self.counter}"
            self.counter += 1
            text = self.action("{{" + name + " := " + self.pipeline(depth) + "}}")
            self.variables.append(name)
            return text
        if roll < 0.62 and len(self.variables) > 1:
            return "{{" + self.pick(self.variables[1:]) + " = " + self.pipeline(depth) + "}}"
        if roll < 0.72:
            return self.control("if", depth)
        if roll < 0.79:
            return self.control("with", depth)
        if roll < 0.88:
            return self.range_(depth)
        if roll < 0.92 and self.defined:
            return "{{template " + self.pick(self.defined) + " .}}"
        if roll < 0.94:
            return "{{/* a comment */}}" if self.chance(0.5) else "{{- /* trimmed */ -}}"
        if roll < 0.96 and self.in_range:
            return self.pick(["{{break}}", "{{continue}}"])
        if roll < 0.995:
            self.counter += 1
            name = f'"b{self.counter}"'
            saved, self.variables = self.variables, ["$"]  # a block's body is a template
            body = self.body(depth + 1)
            self.variables = saved
            return "{{block " + name + " .}}" + body + "{{end}}"
        return self.action("{{" + self.pick(["executeTemplate", "template"]) + ' "nope"}}')

    def action(self, text: str) -> str:
        if self.chance(0.15):
            text = "{{- " + text[2:]
        if self.chance(0.15):
            text = text[:-2] + " -}}"
        return text

    def control(self, keyword: str, depth: int) -> str:
        mark = len(self.variables)
        head = self.pipeline(depth)
        body = self.body(depth + 1)
        tail = ""
        if self.chance(0.4):
            if keyword == "if" and self.chance(0.3):  # {{else with}}: Go 1.23
                tail = "{{else if " + self.pipeline(depth) + "}}" + self.body(depth + 1)
            else:
                tail = "{{else}}" + self.body(depth + 1)
        del self.variables[mark:]
        return "{{" + keyword + " " + head + "}}" + body + tail + "{{end}}"

    def range_(self, depth: int) -> str:
        mark = len(self.variables)
        # no range over an int: Go 1.22 (the engine has it, Go 1.19 does not)
        over = self.pick([".tags", ".nums", ".nested", ".no_items", '(split "," "a,b")'])
        if self.chance(0.3):
            over = self.pipeline(depth)
        decl = ""
        if self.chance(0.6):
            key, value = f"$k{self.counter}", f"$e{self.counter}"
            self.counter += 1
            decl = f"{key}, {value} := " if self.chance(0.6) else f"{value} := "
            self.variables.extend([key, value] if "," in decl else [value])
        self.in_range += 1
        body = self.body(depth + 1)
        self.in_range -= 1
        tail = "{{else}}" + self.body(depth + 1) if self.chance(0.3) else ""
        del self.variables[mark:]
        return "{{range " + decl + over + "}}" + body + tail + "{{end}}"

    # -- pipelines --------------------------------------------------------------
    def pipeline(self, depth: int) -> str:
        text = self.command(depth, piped=False)
        while self.chance(0.25):
            text += " | " + self.call(depth, piped=True)
        return text

    def command(self, depth: int, piped: bool) -> str:
        if self.chance(0.55):
            return self.call(depth, piped)
        return self.operand(depth)

    def call(self, depth: int, piped: bool) -> str:
        if self.chance(0.2):
            return self.printf(depth, piped)
        name = self.pick(list(FUNCTIONS))
        kinds = FUNCTIONS[name]
        if kinds == "cc":
            kinds = self.pick(["ii", "ss", "ff", "aa"])
        kinds = kinds[: -1 if piped else None]
        if self.chance(0.05):
            kinds = kinds[:-1] if kinds and self.chance(0.5) else kinds + "a"
        return " ".join([name, *(self.operand(depth + 1, kind) for kind in kinds)])

    def printf(self, depth: int, piped: bool) -> str:
        verbs = []
        count = 0
        for _ in range(self.rng.randint(1, 3)):
            width = self.pick(WIDTHS)
            precision = self.pick(PRECISIONS)
            index = self.pick(["", "", "", "", "[1]", "[2]", "[3]", "[0]"])
            verb = self.pick(list(VERBS))
            verbs.append("%" + self.pick(FLAGS) + index + width + precision + verb)
            count += 1 + width.count("*") + precision.count("*")
        text = self.pick(["", "", "|", "k="]).join(verbs)
        count += self.rng.randint(-1, 1)
        args = [self.operand(depth + 1) for _ in range(max(count - (1 if piped else 0), 0))]
        return " ".join(["printf", '"' + text + '"', *args])

    def operand(self, depth: int, kind: str = "a") -> str:
        if kind != "a" and self.chance(0.85):
            return self.typed_operand(kind, depth)
        roll = self.rng.random()
        if depth > 3:
            roll = roll * 0.8
        if roll < 0.25:
            return self.pick(STRINGS)
        if roll < 0.45:
            return self.pick(NUMBERS)
        if roll < 0.6:
            return self.pick(DATA_FIELDS)
        if roll < 0.68:
            return self.pick(["true", "false", "nil", "."])
        if roll < 0.8:
            return self.pick(self.variables)
        return "(" + self.pipeline(depth + 1) + ")"

    def typed_operand(self, kind: str, depth: int) -> str:
        if kind == "s":
            options = [*STRINGS, *STRING_FIELDS]
            if depth < 3:
                options.append('(printf "%v" ' + self.operand(depth + 1) + ")")
            return self.pick(options)
        if kind == "i":
            return self.pick(["0", "1", "2", "-1", "3", '(len "abc")', "(len .tags)"])
        if kind == "f":
            return self.pick(["1.5", "2.0", "-0.0", "1e6", "0.1"])
        if kind == "b":
            return self.pick(['"true"', '"F"', '"1"', '""', '"yes"'])
        if kind == "n":
            return self.pick(
                ['"42"', '"-7"', '"1.5"', '""', '"1e3"', '"0x1F"', '"9223372036854775808"']
            )
        if kind == "6":
            return self.pick(['"aGVsbG8="', ".b64", '"aGk"', '""', '"YQ=="'])
        if kind == "j":
            return self.pick(['"[1,2]"', '"{\\"k\\": [1, \\"x\\"]}"', '"null"', '"1.0"', '""'])
        return self.pick([".tags", ".nums", ".no_items", '(split "," "a,b")', ".nested"])
