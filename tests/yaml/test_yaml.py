"""yamlio: exact splitting, Kubernetes-friendly loading, located errors."""

from __future__ import annotations

import pytest

from transformer.yaml import kube, roundtrip, stream

STREAM = (
    "# stream comment\n"
    "a: 1\n"
    "---\n"
    "# Source: chart/templates/x.yaml\n"
    "\n"
    "b: 2\n"
    "--- # marker comment\n"
    "c: 3\n"
    "...\n"
    "d: 4\n"
    "--- {e: 5}\n"
)


def test_split_is_exact_and_ordered() -> None:
    chunks = stream.split_documents(STREAM)
    assert "".join(c.text for c in chunks) == STREAM
    assert [c.line for c in chunks] == [0, 2, 6, 9, 10]
    loaded = [kube.load_document(c.text) for c in chunks]
    assert loaded == [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}, {"e": 5}]


def test_markers_only_at_line_start() -> None:
    text = "a: |\n  --- not a marker\nb: x---y\n"
    assert len(stream.split_documents(text)) == 1


def test_prefix_keeps_marker_and_leading_comments() -> None:
    chunks = stream.split_documents(STREAM)
    assert chunks[0].prefix == "# stream comment\n"
    assert chunks[1].prefix == "---\n# Source: chart/templates/x.yaml\n\n"
    assert chunks[2].prefix == "--- # marker comment\n"
    assert chunks[4].prefix == ""  # content on the marker line


@pytest.mark.parametrize(
    ("text", "empty"),
    [
        ("---\n# only a comment\n", True),
        ("# a\n\n", True),
        ("---\n...\n", True),
        ("--- {a: 1}\n", False),
        ("---\na: 1\n", False),
        ("---\n  \n", True),
    ],
)
def test_is_empty(text: str, empty: bool) -> None:
    assert stream.split_documents(text)[0].is_empty is empty


def test_crlf_stream_splits() -> None:
    text = "a: 1\r\n---\r\n# c\r\nb: 2\r\n"
    chunks = stream.split_documents(text)
    assert [c.text for c in chunks] == ["a: 1\r\n", "---\r\n# c\r\nb: 2\r\n"]
    assert chunks[1].prefix == "---\r\n# c\r\n"


#: plain scalar -> what Kubernetes (go-yaml v2 through sigs.k8s.io/yaml) reads.
KUBERNETES_SCALARS = {
    "2024-01-01T00:00:00Z": "2024-01-01T00:00:00Z",
    "2024-01-01": "2024-01-01",
    "=": "=",
    "10:30": "10:30",
    "8080:80": "8080:80",
    "0644": 420,
    "0o17": 15,
    "0x1f": 31,
    "1_000": 1000,
    "1e3": 1000.0,
    ".5": 0.5,
    "yes": True,
    "y": True,
    "N": False,
    "off": False,
    "~": None,
    "hello": "hello",
}


@pytest.mark.parametrize(("plain", "meaning"), KUBERNETES_SCALARS.items())
def test_scalars_load_as_kubernetes_reads_them(plain: str, meaning: object) -> None:
    assert kube.load_document(f"value: {plain}\n") == {"value": meaning}


@pytest.mark.parametrize(
    "text",
    ["y", "n", "yes", "1e3", "09", "0X1F", "0o17", "10:30", "2024-01-01", "=", "", "~", "1_0"],
)
def test_strings_that_look_like_something_else_stay_strings(text: str) -> None:
    dumped = kube.dump_document({"value": text})
    assert dumped != f"value: {text}\n"  # quoted
    assert kube.load_document(dumped) == {"value": text}


def test_dump_keeps_strings_strings() -> None:
    text = kube.dump_document(
        {"t": "2024-01-01", "e": "=", "n": "0644", "b": "true", "multi": "a\nb\n", "j": '{"a":1}'}
    )
    assert kube.load_document(text) == {
        "t": "2024-01-01",
        "e": "=",
        "n": "0644",
        "b": "true",
        "multi": "a\nb\n",
        "j": '{"a":1}',
    }
    assert "multi: |\n  a\n  b\n" in text


def test_dump_never_writes_anchors_or_folds() -> None:
    shared = {"k": "v"}
    long = "x " * 200
    text = kube.dump_document({"a": shared, "b": shared, "long": long})
    assert "&" not in text
    assert "*" not in text
    assert len(text.splitlines()) == 5


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("a: b\n c: d: e\n", 2, 3, "mapping values are not allowed"),
        ("a: [1, 2\nb: 3\n", 2, 2, "did not find expected ','"),
        ("a: 'unclosed\n", 2, 1, "unexpected end of stream"),
        ("a: \x07\n", 1, 4, "control characters are not allowed"),
    ],
)
def test_load_errors_are_located(text: str, line: int, col: int, words: str) -> None:
    with pytest.raises(kube.YamlSyntaxError) as caught:
        kube.load_document(text)
    assert (caught.value.line, caught.value.col) == (line, col)
    assert words in caught.value.message
    assert caught.value.message.startswith("invalid YAML: ")


def test_duplicate_keys_are_errors_but_merges_are_not() -> None:
    with pytest.raises(kube.YamlSyntaxError) as caught:
        kube.load_document("a: 1\nb:\n  c: 2\n  c: 3\n")
    assert (caught.value.line, caught.value.col) == (4, 3)
    assert "found duplicate key 'c'" in caught.value.message
    merged = kube.load_document("base: &b {p: 1, q: 2}\nover:\n  <<: *b\n  q: 3\n")
    assert merged["over"] == {"p": 1, "q": 3}


def test_check_syntax_agrees_on_syntax_errors() -> None:
    kube.check_syntax("a: 1\nb: [1, 2]\n")
    with pytest.raises(kube.YamlSyntaxError) as caught:
        kube.check_syntax("a: b\n c: d: e\n")
    assert (caught.value.line, caught.value.col) == (2, 3)


def test_check_syntax_resolves_aliases() -> None:
    """The parser alone accepts an undefined alias; a document with one is invalid."""
    kube.check_syntax("a: &x 1\nb: *x\n")
    with pytest.raises(kube.YamlSyntaxError, match="undefined alias"):
        kube.check_syntax("*apiVersion: v1\nkind: Service\n")


def test_locate_finds_keys_items_and_the_deepest_existing_part() -> None:
    text = "---\n# c\nspec:\n  template:\n    containers:\n    - name: a\n    - name: b\n"
    assert roundtrip.locate(text, ("spec", "template")) == (4, 3)
    assert roundtrip.locate(text, ("spec", "template", "containers", 1)) == (7, 7)
    assert roundtrip.locate(text, ("spec", "template", "containers", 1, "name")) == (7, 7)
    assert roundtrip.locate(text, ("spec", "template", "missing", "deeper")) == (4, 3)
    assert roundtrip.locate(text, ()) == (3, 1)
    assert roundtrip.locate("a: [\n", ("a",)) is None


def test_roundtrip_keeps_comments() -> None:
    text = "a: 1  # one\nb:\n- 2  # two\n"
    assert roundtrip.dump_roundtrip(roundtrip.load_roundtrip(text)) == text


def test_directives_stay_with_their_document() -> None:
    text = "%YAML 1.1\n---\na: 1\n...\n%YAML 1.1\n# why\n---\n# c\nb: 2\n---\nc: 3\n"
    chunks = stream.split_documents(text)
    assert [c.text for c in chunks] == [
        "%YAML 1.1\n---\na: 1\n...\n",
        "%YAML 1.1\n# why\n---\n# c\nb: 2\n",
        "---\nc: 3\n",
    ]
    assert chunks[1].prefix == "%YAML 1.1\n# why\n---\n# c\n"
    assert [kube.load_document(c.text) for c in chunks] == [{"a": 1}, {"b": 2}, {"c": 3}]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: !!int abc\n", '"abc" is not a valid !!int value'),
        ("a: !!bool maybe\n", '"maybe" is not a valid !!bool value'),
        ("a: !!timestamp soon\n", '"soon" is not a valid !!timestamp value'),
        ("a: !!set [1]\n", "expected a mapping, but found sequence"),
        ("a: !!binary abc\n", "failed to decode base64 data"),
    ],
)
def test_values_that_do_not_fit_their_tag_are_located(text: str, words: str) -> None:
    for check in (kube.load_document, kube.check_syntax):
        with pytest.raises(kube.YamlSyntaxError) as caught:
            check(text)
        assert (caught.value.line, caught.value.col) == (1, 4)
        assert words in caught.value.message


def test_unknown_tags_are_ignored_like_kubernetes_does() -> None:
    assert kube.load_document("a: !custom b\nc: !!python/object {d: 1}\n") == {
        "a": "b",
        "c": {"d": 1},
    }


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("a: 1  # one\n", True),
        ("# first\na: 1\n", True),
        ("a:\n\t# tab\n  b: 1\n", True),
        ("a: 'x #y'\n", True),  # a false positive: only costs the slower path
        ('a: "#34577c"\n', False),
        ("a: b#c\n", False),
        ("a: 1\n", False),
    ],
)
def test_may_hold_comment(text: str, holds: bool) -> None:
    assert stream.may_hold_comment(text) is holds


@pytest.mark.parametrize(
    ("text", "indented"),
    [
        ("a:\n  - 1\n", True),
        ("a:\n  # c\n  - 1\n", True),
        ("a:\n- 1\n", False),
        ("a: [1]\nb: 1\n", False),
    ],
)
def test_indents_sequences(text: str, indented: bool) -> None:
    assert stream.indents_sequences(text) is indented
    document = roundtrip.load_roundtrip(text)
    assert roundtrip.dump_roundtrip(document, indented_sequences=indented) == text


def test_comments_after_a_last_entry_follow_appended_entries() -> None:
    text = "spec:\n  volumes:\n  - name: a  # eol\n  # after the volumes\nnext: 1\n"
    document = roundtrip.load_roundtrip(text)
    with roundtrip.trailing_comments_kept(document):
        document["spec"]["volumes"].append({"name": "b", "emptyDir": {"sizeLimit": "1Mi"}})
        document["spec"]["initContainers"] = [{"name": "i"}]
    assert roundtrip.dump_roundtrip(document) == (
        "spec:\n  volumes:\n  - name: a  # eol\n  - name: b\n    emptyDir:\n"
        "      sizeLimit: 1Mi\n  initContainers:\n  - name: i\n  # after the volumes\nnext: 1\n"
    )


def test_comments_after_a_replaced_value_follow_the_new_one() -> None:
    document = roundtrip.load_roundtrip(
        "c:\n  command:\n  - old\n  # about the image\n  image: i\n"
    )
    with roundtrip.trailing_comments_kept(document):
        document["c"]["command"] = ["new", "old"]
    assert roundtrip.dump_roundtrip(document) == (
        "c:\n  command:\n  - new\n  - old\n  # about the image\n  image: i\n"
    )
