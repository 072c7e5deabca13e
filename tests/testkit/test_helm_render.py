"""testkit/helm_render.py: the api chart rendered by Helm's real engine, in both stream forms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testkit.helm_render import (
    FILENAME_ANNOTATION,
    HelmRenderError,
    files_from_source_stream,
    helm3_stream,
    helm4_stream,
    render_chart,
    render_templates,
    split_manifests,
)

REPO = Path(__file__).resolve().parents[2]
API_CHART = REPO / "fixtures" / "charts" / "api"
PODINFO = REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml"
TOOL = ("-m", "testkit.helm_render")  # run from the checkout (cwd=REPO)


def helm3_documents(stream: str) -> list[tuple[str, str]]:
    """(source path, document text) of each `---\\n# Source: x\\n<doc>\\n` entry."""
    assert stream.startswith("---\n# Source: ")
    entries = []
    for chunk in stream.split("---\n# Source: ")[1:]:
        path, _, document = chunk.partition("\n")
        assert document.endswith("\n")
        entries.append((path, document[:-1]))
    return entries


# The api_helm3 / api_helm4 fixtures (the chart's Helm 3 / Helm 4 streams): tests/conftest.py.


def test_helm3_stream_holds_the_regular_manifests_in_install_order(api_helm3: str) -> None:
    entries = helm3_documents(api_helm3)
    kinds = [yaml.safe_load(document)["kind"] for _, document in entries]
    assert kinds == ["ServiceAccount", "ConfigMap", "Service", "Deployment"]
    assert [path for path, _ in entries] == [
        "api/templates/serviceaccount.yaml",
        "api/templates/configmap.yaml",
        "api/templates/service.yaml",
        "api/templates/deployment.yaml",
    ]


def test_helm3_stream_leaves_out_hooks_notes_and_partials(api_helm3: str) -> None:
    assert "helm.sh/hook" not in api_helm3
    assert "migrate" not in api_helm3
    assert "is deployed in namespace" not in api_helm3  # NOTES.txt
    assert "define" not in api_helm3  # _helpers.tpl


def test_helm3_documents_are_the_engines_text_unchanged(api_helm3: str) -> None:
    rendered = render_templates(API_CHART, "demo", "apps")
    for path, document in helm3_documents(api_helm3):
        assert document == rendered[path].strip()


def test_deployment_carries_the_seeds_annotations(api_helm3: str) -> None:
    deployment = next(
        yaml.safe_load(document)
        for path, document in helm3_documents(api_helm3)
        if path.endswith("deployment.yaml")
    )
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/agent-exec-command"] == "/server"
    assert annotations["vault.hashicorp.com/agent-run-as-sidecar"] == "false"
    assert annotations["vault.hashicorp.com/agent-inject-template-config.env"] == (
        '{{- with secret "secret/data/spitikos/api" -}}\n'
        "{{- range $key, $value := .Data.data }}\n"
        "{{ $key }}={{ $value }}\n"
        "{{- end }}\n"
        "{{- end }}\n"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in container  # distroless: the annotation names /server
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "api"


def test_helm4_stream_is_annotated_sorted_by_file_and_includes_hooks(api_helm4: str) -> None:
    assert not api_helm4.startswith("---")
    assert "# Source:" not in api_helm4
    documents = list(yaml.safe_load_all(api_helm4))
    filenames = [d["metadata"]["annotations"][FILENAME_ANNOTATION] for d in documents]
    assert filenames == [
        "api/templates/configmap.yaml",
        "api/templates/deployment.yaml",
        "api/templates/migrate-job.yaml",
        "api/templates/service.yaml",
        "api/templates/serviceaccount.yaml",
    ]
    job = documents[2]
    assert job["kind"] == "Job"
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"


def test_helm4_documents_mean_what_the_engine_rendered(api_helm4: str) -> None:
    rendered = render_templates(API_CHART, "demo", "apps")
    for document in yaml.safe_load_all(api_helm4):
        path = document["metadata"]["annotations"].pop(FILENAME_ANNOTATION)
        if not document["metadata"]["annotations"]:
            del document["metadata"]["annotations"]
        assert document == yaml.safe_load(rendered[path])


def test_helm4_keeps_comments_at_the_indentation_of_what_follows(api_helm4: str) -> None:
    assert (
        "      - name: api\n"
        "        # Distroless: the entrypoint /server is named by the\n"
        "        # agent-exec-command annotation, so no `command:` here.\n"
        '        image: "ghcr.io/spitikos/api:1.4.2"\n'
    ) in api_helm4


def test_values_reach_the_engine() -> None:
    stream = render_chart(API_CHART, "prod", "web", {"migrations": {"enabled": False}}, helm4=True)
    documents = list(yaml.safe_load_all(stream))
    assert [d["kind"] for d in documents] == [
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
    ]
    assert documents[1]["metadata"] == {
        "name": "prod-api",
        "namespace": "web",
        "labels": documents[1]["metadata"]["labels"],
        "annotations": {FILENAME_ANNOTATION: "api/templates/deployment.yaml"},
    }


def test_split_manifests_follows_helms_separator_quirks() -> None:
    assert split_manifests("---\na: 1\n---\n\nb: 2\n\n---\n \n") == ["a: 1", "b: 2"]
    # The greedy `---\s*` eats the newline a second `---` would need: Helm keeps it in the doc.
    assert split_manifests("a: 1\n---\n---\nb: 2") == ["a: 1", "---\nb: 2"]
    # Helm's regex also splits `---` glued to the next line's text.
    assert split_manifests("a: 1\n---b: 2") == ["a: 1", "b: 2"]
    assert split_manifests("  \n") == []


def test_unknown_kinds_go_last_sorted_by_kind_keeping_file_order() -> None:
    files = {
        "c/templates/a.yaml": "kind: Zebra\nmetadata: {name: z1}\n---\nkind: Deployment\n",
        "c/templates/b.yaml": "kind: Apple\n---\nkind: Zebra\nmetadata: {name: z2}\n---\n"
        "kind: Namespace\n",
    }
    kinds = [yaml.safe_load(d) for _, d in helm3_documents(helm3_stream(files))]
    assert kinds == [
        {"kind": "Namespace"},
        {"kind": "Deployment"},
        {"kind": "Apple"},
        {"kind": "Zebra", "metadata": {"name": "z1"}},
        {"kind": "Zebra", "metadata": {"name": "z2"}},
    ]


def test_a_template_that_is_not_yaml_fails_like_helm() -> None:
    with pytest.raises(HelmRenderError, match=r"YAML parse error on c/templates/x\.yaml"):
        helm3_stream({"c/templates/x.yaml": "kind: [unclosed\n"})
    with pytest.raises(HelmRenderError, match=r"parsing c/templates/x\.yaml"):
        helm4_stream({"c/templates/x.yaml": "kind: [unclosed\n"})


def test_helm4_unwraps_a_file_that_is_one_list_like_kyaml() -> None:
    files = {
        "c/templates/list.yaml": "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n",
        "c/templates/two.yaml": "kind: List\nitems: []\n---\nkind: ConfigMap\n",
    }
    documents = list(yaml.safe_load_all(helm4_stream(files)))
    assert [(d["kind"], d["metadata"]["annotations"][FILENAME_ANNOTATION]) for d in documents] == [
        ("ConfigMap", "c/templates/list.yaml"),
        ("Secret", "c/templates/list.yaml"),
        ("List", "c/templates/two.yaml"),  # not alone in its file: kept whole
        ("ConfigMap", "c/templates/two.yaml"),
    ]


def test_helm4_rejects_a_separator_line_with_content_like_kyaml() -> None:
    with pytest.raises(HelmRenderError, match="invalid document separator"):
        helm4_stream({"c/templates/x.yaml": "kind: A\n--- kind: B\nx: 1\n"})
    # A comment after the marker is fine.
    assert "kind: B" in helm4_stream({"c/templates/x.yaml": "kind: A\n--- # b\nkind: B\n"})


def test_podinfo_output_regroups_into_both_forms() -> None:
    files = files_from_source_stream(PODINFO.read_text(encoding="utf-8"))
    assert len(files) == 10
    helm3 = helm3_documents(helm3_stream(files))
    assert len(helm3) == 7  # the three test-hook Pods are not sent by Helm 3
    assert all("tests/" not in path for path, _ in helm3)
    helm4 = list(yaml.safe_load_all(helm4_stream(files)))
    assert len(helm4) == 10
    assert sum("helm.sh/hook" in d["metadata"]["annotations"] for d in helm4) == 3


def test_cli_prints_the_stream_and_applies_values_and_sets(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("deployment:\n  replicaCount: 4\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, *TOOL, str(API_CHART), "--release", "demo", "--namespace", "apps",
         "--values", str(values), "--set", "service.port=8081"],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    documents = {d["kind"]: d for _, d in ((p, yaml.safe_load(t)) for p, t in
                                           helm3_documents(result.stdout))}  # fmt: skip
    assert documents["Deployment"]["spec"]["replicas"] == 4
    assert documents["Service"]["spec"]["ports"][0]["port"] == 8081


def test_cli_reports_a_missing_chart_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, *TOOL, str(tmp_path / "nope"), "--release", "demo",
         "--namespace", "apps", "--helm4"],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
