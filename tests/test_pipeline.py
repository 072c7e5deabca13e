"""render(): the pure core over whole streams."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from transformer.options import Options
from transformer.pipeline import EMPTY_INPUT, check, render, render_sources
from transformer.yaml import kube, stream

REPO = Path(__file__).resolve().parent.parent
PODINFO = REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml"
DEPLOYMENT = (REPO / "fixtures" / "render" / "deployment" / "input.yaml").read_text()
OPTIONS = Options(vault_addr="https://vault.example:8200")
P = "vault.hashicorp.com/"


def test_only_opted_in_documents_change() -> None:
    text = PODINFO.read_text()
    out, problems = render(text, OPTIONS)
    assert problems == []
    before = stream.split_documents(text)
    after = stream.split_documents(out)
    assert len(before) == len(after)
    changed = [b.text != a.text for b, a in zip(before, after, strict=True)]
    assert changed.count(True) == 1
    index = changed.index(True)
    assert after[index].prefix == before[index].prefix  # the `# Source:` header survives
    assert f"{P}agent-inject-status: injected" in after[index].text
    assert render(out, OPTIONS) == (out, [])


def test_any_error_means_no_output() -> None:
    broken = DEPLOYMENT + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
    broken += "  containers: []\nmetadata2: [\n"
    out, problems = render(broken, OPTIONS)
    assert out == ""
    assert problems
    assert check(broken, OPTIONS) == problems


def test_problems_are_located_in_their_document() -> None:
    second = DEPLOYMENT.replace(f"{P}role", f"{P}rol")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" + second
    out, [problem] = render(text, OPTIONS, filename="rel.yaml")
    assert out == ""
    assert problem.filename == "rel.yaml"
    assert text.splitlines()[problem.line - 1].strip().startswith(f"{P}rol:")
    assert problem.col == text.splitlines()[problem.line - 1].index(P) + 1
    assert problem.doc_index == 3  # ConfigMap, Service, ConfigMap, Deployment
    assert problem.format().endswith("(Deployment/api)")


def test_empty_inputs_fail_instead_of_writing_nothing() -> None:
    for text in (
        "",
        "\n\n",
        "---\n# Source: x\n---\n",
        "# nothing\n",
        "\x85",
        "\xa0",
        "a\n---\n[1]\n",
    ):
        out, [problem] = render(text, OPTIONS)
        assert out == ""
        assert problem.message == EMPTY_INPUT


def test_non_mapping_documents_pass_through() -> None:
    text = "--- just a scalar\n---\n- a\n- list\n---\nkind: ConfigMap\n"
    assert render(text, OPTIONS) == (text, [])


def test_backslash_documents_take_the_full_path_and_still_pass_through() -> None:
    text = 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "tab\\there"  # kept\n'
    assert render(text, OPTIONS) == (text, [])


def test_escaped_opt_in_is_still_seen() -> None:
    escaped = DEPLOYMENT.replace(f"{P}agent-inject:", f'"{P}agent\\x2Dinject":')
    assert escaped != DEPLOYMENT
    out, problems = render(escaped, OPTIONS)
    assert problems == []
    assert f"{P}agent-inject-status: injected" in out


def test_helm4_filename_annotation_and_end_marker_survive() -> None:
    text = DEPLOYMENT.replace(
        "  name: api\n  labels:",
        "  name: api\n  annotations:\n"
        "    postrenderer.helm.sh/postrender-filename: api/templates/d.yaml\n  labels:",
        1,
    )
    text = text.rsplit("---\n", 1)[1] + "...\n"
    out, problems = render(text, OPTIONS)
    assert problems == []
    assert "postrenderer.helm.sh/postrender-filename: api/templates/d.yaml" in out
    assert out.endswith("...\n")


def test_json_document_on_the_marker_line_keeps_a_marker() -> None:
    deployment = kube.load_document(DEPLOYMENT.rsplit("---\n", 1)[1])
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- " + json.dumps(deployment)
    out, problems = render(text, OPTIONS)
    assert problems == []
    documents = [kube.load_document(c.text) for c in stream.split_documents(out)]
    assert [d["kind"] for d in documents] == ["ConfigMap", "Deployment"]
    assert documents[1]["spec"]["template"]["spec"]["initContainers"]


def test_sources_are_joined_as_separate_documents() -> None:
    first = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}"  # no final newline
    second = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
    out, problems = render_sources([("a.yaml", first), ("b.yaml", second)], OPTIONS)
    assert problems == []
    assert out == first + "\n---\n" + second


def test_each_source_names_its_own_problems() -> None:
    bad = "a: [\n"
    _, [problem] = render_sources([("a.yaml", DEPLOYMENT), ("b.yaml", bad)], OPTIONS)
    assert (problem.filename, problem.line) == ("b.yaml", 2)


IMPORTS = """
import sys
from transformer.options import Options
from transformer.pipeline import render
text = sys.stdin.read()
out, problems = render(text, Options(vault_addr="https://v:8200"))
print(bool(out), len(problems), "jsonschema" in sys.modules, "ruamel.yaml" in sys.modules)
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", "True 0 False False"),
        (DEPLOYMENT.replace("   # exec mode", ""), "True 0 False False"),
        (DEPLOYMENT, "True 0 False True"),
        (DEPLOYMENT.replace(f"{P}role", f"{P}rol"), "False 1 True True"),
    ],
)
def test_heavy_modules_load_only_when_needed(text: str, expected: str) -> None:
    """jsonschema only to explain invalid annotations, ruamel.yaml only to locate a problem
    or to keep the comments of a rewritten document."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS], input=text, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == expected


def test_a_directive_stays_in_front_of_its_rewritten_document() -> None:
    body = DEPLOYMENT.rsplit("---\n", 1)[1]
    out, problems = render("%YAML 1.1\n---\n" + body, OPTIONS)
    assert problems == []
    assert out.startswith("%YAML 1.1\n---\n# Source: api/templates/deployment.yaml\n")
    assert f"{P}agent-inject-status: injected" in out


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    body = DEPLOYMENT.rsplit("---\n", 1)[1]
    out, [problem] = render(body + "  extra: " + "[" * 900 + "]" * 900 + "\n", OPTIONS)
    assert out == ""
    assert "nested too deeply" in problem.message
    assert problem.format().endswith("(Deployment/api)")


COMMENTED = (REPO / "fixtures" / "render" / "comments" / "input.yaml").read_text()


def _without_comments(text: str) -> str:
    """The body's comments dropped (the unindented header comments stay)."""
    lines = [line.split("  #")[0] for line in text.splitlines()]
    return "".join(
        line + "\n" for line in lines if not (line.startswith(" ") and line.strip()[:1] == "#")
    )


def test_comments_of_a_rewritten_document_are_kept() -> None:
    out, problems = render(COMMENTED, OPTIONS)
    assert problems == []
    lines = COMMENTED.splitlines()
    comments = [line.strip() for line in lines if line.lstrip().startswith("#")]
    comments += [line.split("  # ")[1] for line in lines if "  # " in line.strip()]
    assert len(comments) == 13
    for comment in comments:
        assert comment in out
    # ... on the lines that precede what they introduce or close
    assert "# A sidecar that is not injected.\n        - name: metrics\n" in out
    assert out.endswith("type: RuntimeDefault\n      # End of the pod spec.\n")
    # and the document means what the comment-free rewrite means
    plain, _ = render(_without_comments(COMMENTED), OPTIONS)
    assert kube.load_document(out) == kube.load_document(plain)
    assert render(out, OPTIONS) == (out, [])


def test_a_commented_document_keeps_its_sequence_style() -> None:
    out, _ = render(COMMENTED, OPTIONS)
    assert "      initContainers:\n        - name: vault-exec-install\n" in out
    flush = f"""apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    {P}agent-inject: "true"
    {P}agent-run-as-sidecar: "false"
    {P}role: r
    {P}agent-exec-command: /app
    {P}agent-inject-secret-a.env: secret/data/a
spec:
  containers:
  - name: app  # flush with its key
    image: app:1
"""
    out, _ = render(flush, OPTIONS)
    assert "  - name: app  # flush with its key\n" in out
    assert "\n  initContainers:\n  - name: vault-exec-install\n" in out


def test_a_comment_keeping_rewrite_that_would_mean_otherwise_falls_back() -> None:
    """ruamel.yaml reads ``no`` as a string (YAML 1.2) where Kubernetes reads false: the
    two rewrites differ (projected token or not), so the libyaml one is written."""
    text = COMMENTED.replace(
        "automountServiceAccountToken: true", "automountServiceAccountToken: no"
    )
    out, problems = render(text, OPTIONS)
    assert problems == []
    assert "# Probes follow." not in out
    assert out == render(_without_comments(text), OPTIONS)[0]
    assert "vault-exec-token" in out


def test_a_hash_inside_strings_is_no_comment_but_survives_either_way() -> None:
    text = (REPO / "fixtures" / "render" / "hash-in-strings" / "input.yaml").read_text()
    out, problems = render(text, OPTIONS)
    assert problems == []
    env = kube.load_document(out)["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {item["name"]: item["value"] for item in env}
    assert values["COLOR"] == "#34577c"
    assert (
        values["SCRIPT"] == '# a shell comment inside a block scalar\necho "#hash" # and another\n'
    )
    assert values["FOLDED"] == "folded # text over lines"
    config = json.loads(values["VAULT_EXEC_CONFIG"])
    assert config["templates"][0]["template"].startswith("# not a YAML comment")
