"""What a check of a manifest stream finds: located, one line each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"

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
    """One finding. ``line``/``col`` are 1-based; 0 means "not located yet"."""

    filename: str
    line: int
    col: int
    message: str
    resource: Resource | None = None
    severity: str = ERROR
    path: FieldPath = ()
    doc_index: int = 0

    def format(self) -> str:
        """``file:line:col: message (Kind/namespace/name)``; warnings say so."""
        text = f"{self.filename}:{self.line}:{self.col}: "
        if self.severity != ERROR:
            text += f"{self.severity}: "
        text += self.message
        if self.resource is not None:
            text += f" ({self.resource.signature()})"
        return text

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def has_errors(problems: list[Problem]) -> bool:
    return any(problem.is_error for problem in problems)
