"""What a check of a manifest stream finds: located, one line each, with its rule.

Every surface (render's stderr, ``check``, the KRM function's results and stderr, the
kustomize exec plugin, Argo CD ``generate``, the Helm 4 report file) prints a problem
with :meth:`Problem.format` and classifies it by :attr:`Problem.rule`, set where the
problem is found. The line never carries "error:": a problem is an error unless it
says ``warning:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"

#: Rules (the SARIF ``ruleId``s, JSON's ``rule``): what kind of thing is wrong.
INVALID_MANIFEST = "invalid-manifest"  # not a readable stream of Kubernetes objects
ANNOTATION = "annotation"  # a vault.hashicorp.com/ annotation is unknown, bad or refused
INJECTION = "injection"  # the pod opts in but cannot be rewritten as asked
PLATFORM = "platform"  # the platform's settings or policy do not allow what the pod asks
VAULT = "vault"  # Vault lacks what the pod needs: role, policy, secret (vault-exec doctor)
RULES = (INVALID_MANIFEST, ANNOTATION, INJECTION, PLATFORM, VAULT)

#: A field path inside one document: mapping keys and sequence indexes.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Resource:
    """Identity of the Kubernetes object a problem belongs to."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def signature(self) -> str:
        """``Kind/namespace/name``, or ``Kind/name`` when the object names no namespace
        (Helm 3 streams usually leave it to the release namespace)."""
        kind = self.kind or "?"
        name = self.name or "?"
        if self.namespace:
            return f"{kind}/{self.namespace}/{name}"
        return f"{kind}/{name}"

    @classmethod
    def of(cls, obj: object) -> Resource | None:
        """The identity of ``obj`` if it looks like a Kubernetes object, else None."""
        if not isinstance(obj, Mapping):
            return None
        metadata = obj.get("metadata")
        if not isinstance(metadata, Mapping):
            metadata = {}
        return cls(
            api_version=_text(obj.get("apiVersion")),
            kind=_text(obj.get("kind")),
            namespace=_text(metadata.get("namespace")),
            name=_text(metadata.get("name")),
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Problem:
    """One finding. ``line``/``col`` are 1-based; 0 means "not located" (then the line
    names the file alone: the KRM function knows an item's file but no line in it)."""

    filename: str
    line: int
    col: int
    message: str
    resource: Resource | None = None
    severity: str = ERROR
    path: FieldPath = ()
    doc_index: int = 0
    rule: str = INJECTION

    def format(self) -> str:
        """``file:line:col: message (Kind/namespace/name)``; warnings say so. Always one
        line: a message's own line breaks become spaces, and any other control character
        (in a name from the input, say) is printed escaped."""
        text = f"{self.filename}:{self.line}:{self.col}: " if self.line else f"{self.filename}: "
        if self.severity != ERROR:
            text += f"{self.severity}: "
        text += " ".join(self.message.splitlines())
        if self.resource is not None:
            text += f" ({self.resource.signature()})"
        return one_line(text)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def has_errors(problems: list[Problem]) -> bool:
    return any(problem.is_error for problem in problems)


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def one_line(text: str) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``): one line, and
    nothing from the input can move a terminal's cursor or forge another line."""
    return text.translate(_CONTROL)


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for a message, cut to ``limit`` characters (a 5,000-digit number or
    a pasted certificate would drown the line)."""
    import json  # double quotes, as YAML and JSON write a string

    if len(value) <= limit:
        return json.dumps(value, ensure_ascii=False)
    return f"{json.dumps(value[:limit], ensure_ascii=False)}... ({len(value)} characters)"
