"""Formatting problems for people and for CI systems (pure: problems in, text out).

Each format is a view of the same :class:`~transformer.problems.Problem` record: the
text line is :meth:`Problem.format` (what every surface prints), the rule is the one
the problem was created with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from transformer import __version__
from transformer import problems as rules
from transformer.problems import Problem

FORMATS = ("text", "json", "github", "sarif")

TOOL_NAME = "vault-exec"
TOOL_URI = "https://github.com/vault-exec/vault-exec"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: SARIF rule of each :data:`transformer.problems.RULES` entry: (name, description).
RULES: dict[str, tuple[str, str]] = {
    rules.INVALID_MANIFEST: (
        "InvalidManifest",
        "The file is not a readable stream of Kubernetes objects (invalid YAML, a "
        "document that is not an object, or no object at all).",
    ),
    rules.ANNOTATION: (
        "InvalidVaultAnnotation",
        "A vault.hashicorp.com/ annotation is unknown, misspelt, has a bad value, or "
        "asks for something exec mode cannot do.",
    ),
    rules.INJECTION: (
        "NotInjectable",
        "The pod template opts in to vault-exec but cannot be rewritten (for example a "
        "kind vault-exec does not rewrite, or a container with no command to exec).",
    ),
    rules.PLATFORM: (
        "PlatformPolicy",
        "The pod asks for something the platform's settings do not allow or do not "
        "provide (a Vault address outside the allowed list, no Vault address at all).",
    ),
    rules.VAULT: (
        "VaultPrerequisite",
        "Vault lacks what the workload needs to start: its auth mount, role, a policy "
        "that grants the read, the secret or one of its keys (vault-exec doctor).",
    ),
}


def field_path(path: Sequence[str | int]) -> str:
    """KRM-style field path: ``spec.containers[0].env``, keys with dots or slashes in brackets.

    >>> field_path(("spec", "template", "metadata", "annotations", "vault.hashicorp.com/role"))
    'spec.template.metadata.annotations[vault.hashicorp.com/role]'
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int) or not part or any(ch in part for ch in ".[]/ "):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)


def _signature(problem: Problem) -> str:
    return f" ({problem.resource.signature()})" if problem.resource is not None else ""


def _text(problems: Sequence[Problem]) -> str:
    return "".join(p.format() + "\n" for p in problems)


def _json(problems: Sequence[Problem]) -> str:
    entries: list[dict[str, Any]] = []
    for p in problems:
        resource = None
        if p.resource is not None:
            resource = {
                "apiVersion": p.resource.api_version,
                "kind": p.resource.kind,
                "namespace": p.resource.namespace,
                "name": p.resource.name,
            }
        entries.append(
            {
                "file": p.filename,
                "line": p.line,
                "column": p.col,
                "severity": p.severity,
                "message": p.message,
                "rule": p.rule,
                "resource": resource,
                "field": field_path(p.path) if p.path else None,
                "documentIndex": p.doc_index,
            }
        )
    return json.dumps(entries, indent=2) + "\n"


def _escape_data(text: str) -> str:
    # GitHub workflow-command escaping (actions/toolkit command.ts escapeData/escapeProperty).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(problems: Sequence[Problem]) -> str:
    lines = []
    for p in problems:
        level = "error" if p.severity == "error" else "warning"
        props = []
        if p.filename != "-":
            props.append(f"file={_escape_property(p.filename)}")
            if p.line > 0:
                props.append(f"line={p.line}")
                if p.col > 0:
                    props.append(f"col={p.col}")
        props.append(f"title={_escape_property(TOOL_NAME + ' ' + p.rule)}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(p.message + _signature(p))}\n")
    return "".join(lines)


def _sarif(problems: Sequence[Problem]) -> str:
    rule_ids = list(RULES)
    results: list[dict[str, Any]] = []
    for p in problems:
        rid = p.rule
        result: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": rule_ids.index(rid),
            "level": "error" if p.severity == "error" else "warning",
            "message": {"text": p.message + _signature(p)},
        }
        if p.filename != "-":
            physical: dict[str, Any] = {"artifactLocation": {"uri": p.filename}}
            if p.line > 0:
                region: dict[str, int] = {"startLine": p.line}
                if p.col > 0:
                    region["startColumn"] = p.col
                physical["region"] = region
            location: dict[str, Any] = {"physicalLocation": physical}
            if p.resource is not None:
                location["logicalLocations"] = [
                    {"fullyQualifiedName": p.resource.signature(), "kind": "resource"}
                ]
            result["locations"] = [location]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "informationUri": TOOL_URI,
                        "rules": [
                            {
                                "id": rid,
                                "name": name,
                                "shortDescription": {"text": description},
                            }
                            for rid, (name, description) in RULES.items()
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


_FORMATTERS: dict[str, Callable[[Sequence[Problem]], str]] = {
    "text": _text,
    "json": _json,
    "github": _github,
    "sarif": _sarif,
}


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    """Render ``problems`` in one of :data:`FORMATS` (text: one line each, "" when none)."""
    return _FORMATTERS[fmt](problems)
