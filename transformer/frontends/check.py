"""``vault-exec check``: the render rules without the rewrite (pure; the CLI reads files).

A repository holds more YAML than Kubernetes manifests (CI workflows, Helm values,
pre-commit configs). Those are skipped, not failed: only a file with at least one
document that has top-level ``apiVersion`` and ``kind`` keys is checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from transformer.options import Options
from transformer.pipeline import check
from transformer.problems import Problem

# Top-level keys start in column 0 in block YAML; flow/JSON documents name them quoted or
# bare after "{" or ",". A textual test (not a parse) so that YAML with custom tags
# (GitLab's !reference, CloudFormation's !Ref) is recognised as "not ours" instead of
# failing to load.
_API_VERSION = re.compile(
    r"""(?m)^(?:apiVersion|"apiVersion"|'apiVersion')\s*:|[{,]\s*"?apiVersion"?\s*:"""
)
_KIND = re.compile(r"""(?m)^(?:kind|"kind"|'kind')\s*:|[{,]\s*"?kind"?\s*:""")


def looks_like_kubernetes(text: str) -> bool:
    """Whether ``text`` has a document with top-level ``apiVersion`` and ``kind`` keys."""
    return bool(_API_VERSION.search(text)) and bool(_KIND.search(text))


def check_sources(sources: Iterable[tuple[str, str]], options: Options) -> list[Problem]:
    """Problems of every Kubernetes source, in order; ``sources`` are (filename, text)."""
    problems: list[Problem] = []
    for filename, text in sources:
        if looks_like_kubernetes(text):
            problems.extend(check(text, options, filename=filename))
    return problems
