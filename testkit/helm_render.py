"""Render a chart offline with Helm's own engine and print what Helm hands a post-renderer.

The `helm` CLI cannot be installed here, but `helm_python` binds Helm's Go template engine,
so the templates are rendered by the real thing. What Helm does *after* rendering and before
it pipes the stream into `--post-renderer` is small and is rebuilt here, following Helm's
source:

Helm 3 (`pkg/action/action.go` renderResources, `pkg/releaseutil` SortManifests, v3.21):
  NOTES.txt and partials dropped; each file split into documents with Helm's own separator
  regex; empty documents dropped; documents carrying a `helm.sh/hook` annotation are hooks
  and are NOT sent; the rest are stably sorted by kind in InstallOrder and written as
  `---\\n# Source: <chart>/templates/<file>\\n<doc>\\n`.

Helm 4 (`annotateAndMerge`, default "combined" strategy):
  files in sorted filename order, every document (hooks included) parsed and re-serialised
  by kyaml with the annotation `postrenderer.helm.sh/postrender-filename: <file>` added,
  joined with `---\\n`, no leading `---`, no `# Source:` comments. kyaml's re-serialisation is
  approximated with a ruamel.yaml round trip in kyaml's style (2-space maps, sequences not
  indented under their key, no line wrapping, quotes and comments kept, full-line comments
  re-indented to what follows them).

Like kyaml, a template file that is a single `kind: List` (or ResourceList) is sent as its
items, and a `---` line carrying more than a comment is an error.

Usage:
  python -m testkit.helm_render CHART_DIR --release NAME --namespace NS
         [--values FILE]... [--set k=v]... [--helm4]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

HOOK_ANNOTATION = "helm.sh/hook"
FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
NOTES_SUFFIX = "NOTES.txt"

# Helm's releaseutil.InstallOrder (helm/helm pkg/release/v1/util/kind_sorter.go); kinds not
# listed go last, sorted by kind name, original order kept within one kind.
INSTALL_ORDER: tuple[str, ...] = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}

# Go's regexp `\s` is exactly these five ASCII characters (not Python's Unicode `\s`).
_GO_SPACE = "[\t\n\f\r ]"
# Helm's SplitManifests separator: `(?:^|\s*\n)---\s*`, `^` = start of text only.
_HELM_SEPARATOR = re.compile(f"(?:^|{_GO_SPACE}*\n)---{_GO_SPACE}*")
# Go's strings.TrimSpace uses unicode.IsSpace, which differs from str.strip() (that also
# strips U+001C..U+001F).
_GO_UNICODE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SOURCE_HEADER = re.compile(r"^---\n# Source: (?P<path>[^\n]+)\n", re.MULTILINE)


class HelmRenderError(Exception):
    """One clear line for the user: what failed and where."""


def _go_trim_space(text: str) -> str:
    return text.strip(_GO_UNICODE_SPACE)


def split_manifests(content: str) -> list[str]:
    """Helm 3's releaseutil.SplitManifests: documents of one template file, in file order."""
    documents = []
    for piece in _HELM_SEPARATOR.split(_go_trim_space(content)):
        if piece == "":
            continue
        documents.append(_go_trim_space(piece))
    return documents


def _is_sent_file(path: str, content: str) -> bool:
    """Partials, NOTES.txt and files that render to nothing never reach a post-renderer."""
    base = path.rsplit("/", 1)[-1]
    return (
        not base.startswith("_")
        and not path.endswith(NOTES_SUFFIX)
        and _go_trim_space(content) != ""
    )


def _head(document: str, path: str) -> tuple[str, dict[str, str]]:
    """Kind and annotations, read like Helm's SimpleHead (a YAML error fails the render)."""
    try:
        parsed = yaml.load(document, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        raise HelmRenderError(f"YAML parse error on {path}: {_one_line(error)}") from None
    if not isinstance(parsed, Mapping):
        # sigs.k8s.io/yaml rejects a non-object document when decoding into a struct,
        # except `null` (an all-comment document), which decodes to an empty head.
        if parsed is None:
            return "", {}
        raise HelmRenderError(f"YAML parse error on {path}: document is not a mapping")
    kind = parsed.get("kind")
    metadata = parsed.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, Mapping) or not all(
        isinstance(value, str) for value in annotations.values()
    ):
        raise HelmRenderError(f"YAML parse error on {path}: annotations must be strings")
    return (kind if isinstance(kind, str) else ""), {str(k): v for k, v in annotations.items()}


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def helm3_stream(files: Mapping[str, str]) -> str:
    """The buffer Helm 3 writes to a post-renderer's stdin (`helm install`/`template`)."""
    manifests: list[tuple[str, str, str]] = []  # (kind, template path, document)
    for path in sorted(files):
        content = files[path]
        if not _is_sent_file(path, content):
            continue
        for document in split_manifests(content):
            kind, annotations = _head(document, path)
            if HOOK_ANNOTATION in annotations:
                continue  # hooks are kept aside by Helm 3 and never post-rendered
            manifests.append((kind, path, document))

    def install_rank(manifest: tuple[str, str, str]) -> tuple[int, str]:
        kind = manifest[0]
        if kind in _KIND_RANK:
            return (_KIND_RANK[kind], "")
        return (len(INSTALL_ORDER), kind)

    ordered = sorted(manifests, key=install_rank)  # sorted() is stable, like sort.SliceStable
    return "".join(f"---\n# Source: {path}\n{document}\n" for _, path, document in ordered)


def _kyaml_like() -> YAML:
    """A ruamel round-tripper writing in kyaml's (Helm 4's) output style."""
    round_trip = YAML(typ="rt")
    round_trip.preserve_quotes = True
    round_trip.indent(mapping=2, sequence=2, offset=0)
    round_trip.width = 1 << 30  # yaml.v3 does not fold long lines
    return round_trip


def helm4_stream(files: Mapping[str, str]) -> str:
    """The buffer Helm 4 writes to a post-renderer plugin (default `combined` strategy)."""
    round_trip = _kyaml_like()
    out = io.StringIO()
    first = True
    for path in sorted(files):
        content = files[path]
        if not _is_sent_file(path, content):
            continue
        for document in _kio_parse_all(round_trip, path, content):
            _set_annotation(document, FILENAME_ANNOTATION, path)
            _mark_comments(document)
            if not first:
                out.write("---\n")
            first = False
            round_trip.dump(document, out)
    return _reindent_comments(out.getvalue())


# kyaml's ByteReader (kio.ParseAll) cuts a file at lines starting with `---` (after a newline)
# and rejects such a line that carries anything but a comment.
_KIO_SEPARATOR = re.compile(r"\n---.*\n")
_KIO_WRAPPER_KINDS = frozenset({"List", "ResourceList"})


def _kio_parse_all(round_trip: YAML, path: str, content: str) -> list[CommentedMap]:
    """kio.ParseAll of one template file: its objects, a lone List unwrapped into its items."""
    content = content.replace("\r\n", "\n")
    pieces: list[str] = []
    start = 0
    for separator in _KIO_SEPARATOR.finditer(content):
        rest = separator.group()[4:].strip()
        if rest and not rest.startswith("#"):
            raise HelmRenderError(f"parsing {path}: invalid document separator: ---{rest}")
        pieces.append(content[start : separator.start()] + "\n")
        start = separator.end()
    pieces.append(content[start:])
    objects: list[CommentedMap] = []
    for piece in pieces:
        try:
            # yaml.v3's Decode reads the first document of each piece only.
            document = next(iter(round_trip.load_all(piece)), None)
        except RuamelYAMLError as error:
            raise HelmRenderError(f"parsing {path}: {_one_line(error)}") from None
        if document is None:
            continue  # empty documents are dropped
        if not isinstance(document, CommentedMap):
            raise HelmRenderError(f"annotating {path}: document is not a mapping")
        if len(pieces) == 1 and document.get("kind") in _KIO_WRAPPER_KINDS and "items" in document:
            items = document["items"] or []
            if not all(isinstance(item, CommentedMap) for item in items):
                raise HelmRenderError(f"annotating {path}: a List item is not a mapping")
            objects.extend(items)
            continue
        objects.append(document)
    return objects


# ruamel keeps each comment at the column it had in the input; kyaml (yaml.v3) writes a
# full-line comment at the indentation of what follows it and an end-of-line comment one
# space after its value. Comments are tagged with a NUL (which YAML never emits raw: a
# scalar holding one is written escaped) so they can be told apart from scalar text.
_COMMENT_MARK = "\x00"
_FULL_LINE_COMMENT = re.compile(f"^ *{_COMMENT_MARK}#")
_LINE_END_COMMENT = re.compile(f" *{_COMMENT_MARK}#")


def _mark_comments(node: object) -> None:
    comments = getattr(node, "ca", None)
    if comments is not None:
        _mark_tokens(comments.comment)
        _mark_tokens(list(comments.items.values()))
        _mark_tokens(comments.end)
    if isinstance(node, Mapping):
        for value in node.values():
            _mark_comments(value)
    elif isinstance(node, list):
        for item in node:
            _mark_comments(item)


def _mark_tokens(tokens: object) -> None:
    if isinstance(tokens, CommentToken):
        tokens.value = "\n".join(
            _COMMENT_MARK + line.lstrip(" ") if line.lstrip(" ").startswith("#") else line
            for line in tokens.value.split("\n")
        )
    elif isinstance(tokens, list):
        for token in tokens:
            _mark_tokens(token)


def _reindent_comments(text: str) -> str:
    lines = text.split("\n")
    next_indent = 0
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _FULL_LINE_COMMENT.match(line):
            lines[index] = " " * next_indent + line.lstrip(" ").replace(_COMMENT_MARK, "", 1)
        elif _COMMENT_MARK in line:
            lines[index] = _LINE_END_COMMENT.sub(" #", line, count=1)
            next_indent = len(line) - len(line.lstrip(" "))
        elif line.strip():
            next_indent = len(line) - len(line.lstrip(" "))
    return "\n".join(lines)


def _set_annotation(document: CommentedMap, key: str, value: str) -> None:
    metadata = document.get("metadata")
    if metadata is None:
        metadata = document["metadata"] = CommentedMap()
    if not isinstance(metadata, CommentedMap):
        raise HelmRenderError("annotating: metadata is not a mapping")
    annotations = metadata.get("annotations")
    if annotations is None:
        annotations = metadata["annotations"] = CommentedMap()
    if not isinstance(annotations, CommentedMap):
        raise HelmRenderError("annotating: metadata.annotations is not a mapping")
    # Helm 4.3.1 (kyaml) writes the annotation it adds single-quoted: compared byte for byte
    # with the real helm in tests/integration/test_helm_cli_real.py.
    annotations[key] = SingleQuotedScalarString(value)


def files_from_source_stream(text: str) -> dict[str, str]:
    """Regroup a `# Source:`-headed stream (Helm's own output) into {template path: text}.

    Lets a stored real chart's output (fixtures/external/podinfo-*) be turned into either
    post-renderer form. Documents from one file are joined back with `---`.
    """
    files: dict[str, list[str]] = {}
    matches = list(_SOURCE_HEADER.finditer(text))
    if not matches:
        raise HelmRenderError("no '---\\n# Source: <path>' headers found")
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        files.setdefault(match["path"], []).append(text[match.end() : end])
    return {path: "---\n".join(parts) for path, parts in files.items()}


def merge_values(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's value merge for -f/--set: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def render_templates(
    chart_dir: str | Path,
    release: str,
    namespace: str,
    values: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """{template path: rendered text} from Helm's engine, as `helm install` would render."""
    import helm_python  # the Go engine is slow to load; only pay for it when rendering

    try:
        helm_python.validate_release_name(release)
        with helm_python.Chart.load(str(chart_dir)) as chart:
            rendered: dict[str, str] = chart.render(
                dict(values) if values is not None else None,
                name=release,
                namespace=namespace,
                revision=1,
                is_install=True,
            )
    except helm_python.HelmError as error:
        raise HelmRenderError(f"{chart_dir}: {_one_line(error)}") from None
    return rendered


def render_chart(
    chart_dir: str | Path,
    release: str,
    namespace: str,
    values: Mapping[str, Any] | None = None,
    helm4: bool = False,
) -> str:
    """The post-renderer's stdin for `helm install RELEASE CHART_DIR -n NAMESPACE`."""
    files = render_templates(chart_dir, release, namespace, values)
    return helm4_stream(files) if helm4 else helm3_stream(files)


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="helm_render.py",
        description="Render a chart with Helm's engine; print the stream a post-renderer gets.",
    )
    parser.add_argument("chart_dir")
    parser.add_argument("--release", required=True, help="release name")
    parser.add_argument("--namespace", required=True, help="release namespace")
    parser.add_argument(
        "--values", "-f", action="append", default=[], help="values file (repeatable)"
    )
    parser.add_argument("--set", action="append", default=[], help="k=v (repeatable)")
    parser.add_argument(
        "--helm4", action="store_true", help="Helm 4 form: filename annotations, hooks included"
    )
    return parser.parse_args(argv)


def _values_from_args(values_files: Sequence[str], sets: Sequence[str]) -> dict[str, Any]:
    import helm_python

    values: dict[str, Any] = {}
    try:
        for values_file in values_files:
            text = Path(values_file).read_text(encoding="utf-8")
            values = merge_values(values, helm_python.values_from_yaml(text))
        for expression in sets:
            values = merge_values(values, helm_python.parse_set_string(expression))
    except OSError as error:
        raise HelmRenderError(f"{error.filename}: {error.strerror}") from None
    except helm_python.HelmError as error:
        raise HelmRenderError(f"values: {_one_line(error)}") from None
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        values = _values_from_args(args.values, args.set)
        stream = render_chart(
            args.chart_dir, args.release, args.namespace, values or None, helm4=args.helm4
        )
    except HelmRenderError as error:
        print(f"helm_render: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
