"""The pure core: a manifest stream in, a stream out, and the one pipeline every front
end goes through (render, check, the KRM function, the kustomize exec plugin, Argo CD
``generate``, the Helm 4 plugin): :func:`render_stream`.

The stream's facts (:class:`~transformer.pod.facts.StreamFacts`) are gathered first;
then each document is injected with them.

Documents are cut apart as text and only the ones that are rewritten are
re-emitted; every other document is copied byte for byte (its ``# Source:``
comment, quoting, key order and all). A rewritten document is re-emitted by
libyaml, unless it holds comments: then by a comment-keeping round trip.
Problems are collected for the whole stream and then located; with any error
there is no output at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from transformer.options import Options
from transformer.pod.facts import StreamFacts
from transformer.pod.inject import inject
from transformer.problems import INVALID_MANIFEST, Problem, Resource, has_errors
from transformer.yaml import kube, roundtrip, stream

EMPTY_INPUT = (
    "no Kubernetes objects in the input: refusing to write an empty stream "
    "(Helm 3 would install an empty release)"
)
_END_MARKER = re.compile(r"^\.\.\.[ \t]*(#[^\n]*)?\r?\n?\Z", re.MULTILINE)


def render(text: str, options: Options, *, filename: str = "-") -> tuple[str, list[Problem]]:
    """Inject every opted-in pod template of ``text``.

    Returns (output, problems); with any error problem the output is "".
    """
    return render_sources([(filename, text)], options)


def check(text: str, options: Options, *, filename: str = "-") -> list[Problem]:
    """The problems :func:`render` would report, without the output."""
    return render(text, options, filename=filename)[1]


def render_sources(
    sources: Sequence[tuple[str, str]], options: Options
) -> tuple[str, list[Problem]]:
    """Render several (filename, text) inputs as one stream, in order: (output, problems).

    Each document's problems name its own file; with any error the output is "".
    """
    rendered = render_stream(sources, options)
    return rendered.text, rendered.problems


@dataclass(frozen=True)
class Rendered:
    """A rendered stream: each source's output (all "" with any error) and the problems."""

    outputs: tuple[str, ...]
    problems: list[Problem]

    @property
    def text(self) -> str:
        """The sources' outputs as one stream, each file's documents apart from the next."""
        pieces: list[str] = []
        for output in self.outputs:
            if pieces and not pieces[-1].endswith("\n"):
                pieces.append("\n")
            if pieces and output.strip() and not output.startswith("---"):
                pieces.append("---\n")  # keep the last document of one file apart from the next
            pieces.append(output)
        return "".join(pieces)


def render_stream(sources: Sequence[tuple[str, str]], options: Options) -> Rendered:
    """The one entry point of every front end: the stream's facts, gathered once, then
    each document injected with them (see the module docstring).

    ``sources`` are (filename, text); the KRM function passes one source per item.
    """
    split = [(filename, stream.split_documents(text)) for filename, text in sources]
    facts = _stream_facts(chunk for _, chunks in split for chunk in chunks)
    outputs: list[str] = []
    problems: list[Problem] = []
    objects = 0
    doc_index = 0
    for filename, chunks in split:
        pieces = []
        for chunk in chunks:
            piece, found, holds = _render_chunk(
                chunk, filename, doc_index, options, facts, classify=not objects
            )
            pieces.append(piece)
            problems += sorted(found, key=lambda p: (p.line, p.col))
            if holds is not _Holds.NOTHING:
                doc_index += 1
            if holds is _Holds.OBJECT:
                objects += 1
        outputs.append("".join(pieces))
    if not objects and not has_errors(problems):
        name = sources[-1][0] if sources else "-"
        problems.append(Problem(name, 1, 1, EMPTY_INPUT, rule=INVALID_MANIFEST))
    if has_errors(problems):
        return Rendered(tuple("" for _ in outputs), problems)
    return Rendered(tuple(outputs), problems)


def _stream_facts(chunks: Iterable[stream.Chunk]) -> StreamFacts:
    """The stream's facts; only documents whose text may state one are loaded."""
    documents = []
    for chunk in chunks:
        if StreamFacts.may_state(chunk.text):
            try:
                documents.append(kube.load_document(chunk.text))
            except kube.YamlSyntaxError:
                continue  # reported when the chunk itself is rendered
    return StreamFacts.of(documents)


class _Holds(Enum):
    """What a chunk turned out to hold."""

    NOTHING = "nothing"  # comments, markers, an empty document
    DOCUMENT = "document"  # a document not (yet) known to be an object
    OBJECT = "object"  # a mapping: what Kubernetes (and Helm) need at least one of


def _render_chunk(
    chunk: stream.Chunk,
    filename: str,
    doc_index: int,
    options: Options,
    facts: StreamFacts,
    *,
    classify: bool = False,
) -> tuple[str, list[Problem], _Holds]:
    """(output text, problems, what the chunk holds).

    ``classify``: also load an untouched document to tell an object from a bare
    scalar (until the stream has shown one object, so usually once).
    """
    try:
        if not _may_opt_in(chunk.text):
            if not kube.check_syntax(chunk.text) or chunk.is_empty:
                return chunk.text, [], _Holds.NOTHING
            if not classify:
                return chunk.text, [], _Holds.DOCUMENT
        obj = kube.load_document(chunk.text)
    except kube.YamlSyntaxError as error:
        problem = Problem(
            filename,
            chunk.line + error.line,
            error.col,
            error.message,
            doc_index=doc_index,
            rule=INVALID_MANIFEST,
        )
        return "", [problem], _Holds.DOCUMENT
    if obj is None:
        return chunk.text, [], _Holds.NOTHING  # only comments or an empty document: keep as is
    if not isinstance(obj, MutableMapping):
        return chunk.text, [], _Holds.DOCUMENT
    if not _may_opt_in(chunk.text):
        return chunk.text, [], _Holds.OBJECT
    findings = inject(obj, options, facts)
    if findings.problems:
        return "", locate_problems(findings.problems, chunk, filename, doc_index), _Holds.OBJECT
    if not findings.changed:
        return chunk.text, [], _Holds.OBJECT
    content = chunk.text[len(chunk.prefix) :]
    kept = None
    if stream.may_hold_comment(content):
        kept = _rewrite_keeping_comments(content, options, facts, obj)
    try:
        body = kept if kept is not None else kube.dump_document(obj)
    except RecursionError:  # libyaml parses 1000 levels; Python's emitter gives up sooner
        line = chunk.line + chunk.prefix.count("\n") + 1
        problem = Problem(
            filename, line, 1, "the document is nested too deeply to be rewritten",
            Resource.of(obj), doc_index=doc_index,
        )  # fmt: skip
        return "", [problem], _Holds.OBJECT
    head = chunk.prefix or ("---\n" if chunk.text.startswith("---") else "")
    end = _END_MARKER.search(chunk.text)
    tail = "...\n" if end is not None else ""
    return head + body + tail, [], _Holds.OBJECT


def _rewrite_keeping_comments(
    content: str,
    options: Options,
    facts: StreamFacts,
    injected: object,
) -> str | None:
    """The document rewritten on ruamel.yaml's round trip, its comments kept; else None.

    An order of magnitude slower than the libyaml path (bench/render_bench.py), so
    only for documents that hold comments. ruamel reads plain scalars as YAML 1.2
    where Kubernetes reads them as go-yaml does (``yes``, ``0644``): the result
    counts only if libyaml, reading it as Kubernetes does, finds exactly
    ``injected``, the document the libyaml path rewrote. Otherwise the caller
    writes that one (comments lost).
    """
    try:
        document = roundtrip.load_roundtrip(content)
        if not isinstance(document, MutableMapping):
            return None
        with roundtrip.trailing_comments_kept(document):
            findings = inject(document, options, facts)
        if findings.problems or not findings.changed:
            return None
        indented = stream.indents_sequences(content)
        body = roundtrip.dump_roundtrip(document, indented_sequences=indented)
        same = kube.load_document(body) == injected
    except (roundtrip.RoundTripError, kube.YamlSyntaxError):
        # A document ruamel.yaml cannot round-trip: the libyaml path still stands.
        # Anything else is a bug in this path and must fail loudly, not lose comments.
        return None
    return body if same else None


def _may_opt_in(text: str) -> bool:
    """Can this document hold an opted-in pod template (or an injected one)?

    Every opt-in needs the literal ``agent-inject`` annotation in the document's
    text (anchors and aliases do not cross documents); only a YAML escape
    sequence could spell it otherwise, so a backslash also sends the document
    down the full path. The others are only syntax-checked and copied.
    """
    return "agent-inject" in text or "\\" in text


def locate_problems(
    problems: list[Problem], chunk: stream.Chunk, filename: str, doc_index: int
) -> list[Problem]:
    """Give each problem its file, line and column (ruamel.yaml, error path only)."""
    first_content_line = chunk.line + chunk.prefix.count("\n") + 1
    located = []
    for problem in problems:
        where = roundtrip.locate(chunk.text, problem.path) if problem.path else None
        line, col = (chunk.line + where[0], where[1]) if where else (first_content_line, 1)
        located.append(replace(problem, filename=filename, line=line, col=col, doc_index=doc_index))
    return located
