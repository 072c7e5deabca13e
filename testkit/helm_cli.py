"""A stand-in for the ``helm`` binary (which cannot be installed here), for the Argo CD tests.

Only the two commands the Argo CD plugin runs: ``helm template RELEASE CHART [flags]``
and ``helm dependency build CHART``. Templates are rendered by Helm's own engine through
``testkit/helm_render.py`` (helm_python); the part that is rebuilt is small and follows
Helm 3's ``helm template``: regular manifests in install order with ``# Source:``
headers, then the hooks, each with its header. It accepts exactly the flags the
plugin uses and fails on any other, like helm would on a typo. ``--kube-version`` and
``--api-versions`` are accepted and recorded but cannot reach the engine (helm_python
has no capabilities option); set ``HELM_CLI_ARGV_LOG`` to a file to record each argv
as one JSON line, so a test can check what the plugin asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testkit import helm_render

HOOK_ANNOTATION = "helm.sh/hook"


def _hooks(files: dict[str, str]) -> str:
    """Hook documents, as ``helm template`` appends them after the manifests."""
    import yaml

    out = []
    for path in sorted(files):
        base = path.rsplit("/", 1)[-1]
        if base.startswith("_") or path.endswith("NOTES.txt") or not files[path].strip():
            continue
        for document in helm_render.split_manifests(files[path]):
            parsed = yaml.safe_load(document)
            metadata = parsed.get("metadata") if isinstance(parsed, dict) else None
            annotations = (metadata or {}).get("annotations") or {}
            if HOOK_ANNOTATION in annotations:
                out.append(f"---\n# Source: {path}\n{document}\n")
    return "".join(out)


def _values(chart_dir: Path, values_files: Sequence[str], sets: Sequence[str]) -> dict[str, Any]:
    import helm_python

    values: dict[str, Any] = {}
    for values_file in values_files:
        text = (chart_dir / values_file).read_text(encoding="utf-8")
        values = helm_render.merge_values(values, helm_python.values_from_yaml(text))
    for expression in sets:
        values = helm_render.merge_values(values, helm_python.parse_set_string(expression))
    return values


def main(argv: Sequence[str]) -> int:
    log = os.environ.get("HELM_CLI_ARGV_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(list(argv)) + "\n")
    parser = argparse.ArgumentParser(prog="helm")
    commands = parser.add_subparsers(dest="command", required=True)
    template = commands.add_parser("template")
    template.add_argument("release")
    template.add_argument("chart")
    template.add_argument("--namespace", "-n", default="default")
    template.add_argument("--include-crds", action="store_true")
    template.add_argument("--kube-version")
    template.add_argument("--api-versions", "-a", action="append", default=[])
    template.add_argument("--values", "-f", action="append", default=[])
    template.add_argument("--set", action="append", default=[])
    dependency = commands.add_parser("dependency")
    dependency.add_argument("action", choices=["build"])
    dependency.add_argument("chart")
    args = parser.parse_args(argv)
    if args.command == "dependency":
        return 0  # the test charts have no dependencies
    chart_dir = Path(args.chart)
    try:
        values = _values(chart_dir, args.values, args.set)
        files = helm_render.render_templates(chart_dir, args.release, args.namespace, values)
    except (helm_render.HelmRenderError, OSError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # helm_python's errors: one line, like helm
        print(f"Error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    sys.stdout.write(helm_render.helm3_stream(files) + _hooks(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
