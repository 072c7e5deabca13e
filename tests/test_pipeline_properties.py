"""Property tests: whatever comes in, `render` never crashes and never half-succeeds.

Inputs: random text and bytes, truncated and mangled real streams (the api chart in Helm 3
and Helm 4 form, podinfo, the golden inputs), Kubernetes-shaped objects built from
strategies, and the real api Deployment with random edits of its vault annotations.

Properties, in process (`transformer.pipeline.render`, many examples) and through the real CLI
(`vault-exec render` in a subprocess, fewer examples: each one is a process start):
- no exception escapes; exit 0 with a non-empty stream that parses, or exit 1 with nothing
  on stdout and every stderr line `file:line:col: message`;
- with any error problem there is no output at all;
- rendering a successful output again gives it back unchanged (idempotence).
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from testkit.console_scripts import console_script
from testkit.helm_render import files_from_source_stream, helm3_stream, helm4_stream, render_chart
from transformer.options import Options, options_from_mapping
from transformer.pipeline import render

REPO = Path(__file__).resolve().parent.parent
VAULT_ADDR = "https://vault.example:8200"
PROBLEM_LINE = re.compile(r"^[^:\n]+:\d+:\d+: \S[^\n]*$")
IN_PROCESS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Go's unicode.IsSpace: what Helm 4's "post-renderer produced empty output" check trims.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
THROUGH_CLI = settings(max_examples=20, deadline=None)


@cache
def options() -> Options:
    return options_from_mapping({"vaultAddr": VAULT_ADDR})


@cache
def real_streams() -> tuple[str, ...]:
    chart = REPO / "fixtures" / "charts" / "api"
    podinfo = files_from_source_stream(
        (REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml").read_text("utf-8")
    )
    golden = sorted((REPO / "fixtures" / "render").glob("*/input.yaml"))
    return (
        render_chart(chart, "demo", "apps"),
        render_chart(chart, "demo", "apps", helm4=True),
        helm3_stream(podinfo),
        helm4_stream(podinfo),
        *(path.read_text(encoding="utf-8") for path in golden),
    )


@cache
def api_deployment() -> dict[str, Any]:
    for document in yaml.safe_load_all(real_streams()[0]):
        if document["kind"] == "Deployment":
            assert isinstance(document, dict)
            return document
    raise AssertionError("the api chart has no Deployment")


# --- strategies ------------------------------------------------------------------------------

ANNOTATION_NAMES = [
    "agent-inject",
    "agent-run-as-sidecar",
    "role",
    "agent-exec-command",
    "agent-inject-secret-config.env",
    "agent-inject-template-config.env",
    "agent-inject-secret-db",
    "agent-inject-template-other",
    "auth-path",
    "auth-type",
    "service",
    "namespace",
    "agent-image",
    "agent-inject-containers",
    "agent-requests-cpu",
    "agent-limits-mem",
    "agent-run-as-user",
    "client-max-retries",
    "client-timeout",
    "tls-skip-verify",
    "agent-inject-status",
    "agent-pre-populate-only",
    "agnet-inject",
    "role ",
    "",
]
ANNOTATION_VALUES = st.one_of(
    st.sampled_from(["true", "false", "api", "/server", "secret/data/x", "injected", "1", ""]),
    st.sampled_from(["https://vault.example:8200", "https://evil.example", "/srv -v 'a b'"]),
    st.sampled_from(['{{ with secret "secret/data/x" }}{{ .Data.data.k }}{{ end }}', "{{"]),
    st.text(max_size=20),
)
annotation_edits = st.dictionaries(
    st.sampled_from(ANNOTATION_NAMES).map(lambda name: f"vault.hashicorp.com/{name}"),
    st.one_of(ANNOTATION_VALUES, st.none(), st.integers(), st.booleans()),
    max_size=6,
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["app", "api", "side", ""]), "image": st.just("example/app:1")},
        optional={
            "command": st.lists(st.sampled_from(["/app", "serve", "--x", ""]), max_size=3),
            "args": st.lists(st.text(max_size=6), max_size=2),
            "env": st.just([{"name": "A", "value": "b"}]),
            "extra": json_like,
        },
    ),
    max_size=3,
)
pod_templates = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"annotations": annotation_edits.map(lambda d: {k: v for k, v in d.items() if v is not None})}  # noqa: E501
        ),
        "spec": st.fixed_dictionaries(
            {"containers": containers},
            optional={"initContainers": containers, "automountServiceAccountToken": st.booleans(),
                      "volumes": st.just([{"name": "v", "emptyDir": {}}])},
        ),
    }
)  # fmt: skip


@st.composite
def kubernetes_objects(draw: st.DrawFn) -> Any:
    kind = draw(
        st.sampled_from(
            ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "PodTemplate",
             "ReplicaSet", "ReplicationController", "Rollout", "List", "ConfigMap", "Widget"]
        )
    )  # fmt: skip
    template: dict[str, Any] = draw(pod_templates)
    metadata = {"name": draw(st.sampled_from(["a", "b-1", "x" * 70])), "namespace": "ns"}
    if kind == "Pod":
        body: dict[str, Any] = {"metadata": {**metadata, **template["metadata"]},
                                "spec": template["spec"]}  # fmt: skip
    elif kind == "CronJob":
        job = {"template": template}
        body = {"metadata": metadata, "spec": {"jobTemplate": {"spec": job}, "schedule": "@daily"}}
    elif kind == "PodTemplate":
        body = {"metadata": metadata, "template": template}
    elif kind == "List":
        return {"apiVersion": "v1", "kind": "List",
                "items": draw(st.lists(kubernetes_objects(), max_size=2))}  # fmt: skip
    elif kind == "ConfigMap":
        body = {"metadata": metadata, "data": draw(json_like)}
    else:
        body = {"metadata": metadata, "spec": {"template": template}}
    obj = {"apiVersion": "v1", "kind": kind, **body}
    if draw(st.booleans()):
        obj["extra"] = draw(json_like)
    return obj


generated_streams = st.lists(kubernetes_objects(), min_size=1, max_size=4).map(
    lambda objects: yaml.safe_dump_all(objects, sort_keys=False)
)


@st.composite
def truncated_real_streams(draw: st.DrawFn) -> str:
    stream = draw(st.sampled_from(real_streams()))
    return stream[: draw(st.integers(0, len(stream)))]


@st.composite
def mangled_real_streams(draw: st.DrawFn) -> str:
    """A real stream with a few characters inserted, deleted or replaced."""
    text = draw(st.sampled_from(real_streams()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        noise = draw(st.sampled_from([":", "-", "---\n", "\n", " ", "\t", '"', "{", "[", "#", "*",
                                      "&a ", "!!binary ", "\x00", "\u2028", "é"]))  # fmt: skip
        match draw(st.sampled_from(["insert", "delete", "replace"])):
            case "insert":
                text = text[:at] + noise + text[at:]
            case "delete":
                text = text[:at] + text[at + draw(st.integers(1, 20)) :]
            case _:
                text = text[:at] + noise + text[at + len(noise) :]
    return text


@st.composite
def edited_api_deployments(draw: st.DrawFn) -> str:
    """The seed's Deployment with its vault annotations edited, among its chart siblings."""
    deployment = api_deployment()
    annotations = dict(deployment["spec"]["template"]["metadata"]["annotations"])
    for key, value in draw(annotation_edits).items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    edited = {**deployment, "spec": {**deployment["spec"], "template": {
        **deployment["spec"]["template"],
        "metadata": {**deployment["spec"]["template"]["metadata"], "annotations": annotations},
    }}}  # fmt: skip
    siblings = real_streams()[0].split("---\n# Source: api/templates/deployment.yaml\n")[0]
    return siblings + "---\n" + yaml.safe_dump(edited, sort_keys=False)


any_stream = st.one_of(
    st.text(max_size=200),
    truncated_real_streams(),
    mangled_real_streams(),
    generated_streams,
    edited_api_deployments(),
)


class KubernetesLikeLoader(yaml.CSafeLoader):
    """libyaml, the parser family Kubernetes' go-yaml derives from; a plain `=` is a string
    (PyYAML alone cannot load it: pyyaml issue 89, as kubernetes-validate also works around)."""


def _plain_string(loader: KubernetesLikeLoader, node: yaml.Node) -> str:
    return str(node.value)


KubernetesLikeLoader.add_constructor("tag:yaml.org,2002:value", _plain_string)


def loads(text: str) -> bool:
    try:
        list(yaml.load_all(text, Loader=KubernetesLikeLoader))
    except yaml.YAMLError:
        return False
    return True


def assert_is_yaml(output: str, text: str) -> None:
    """The output is YAML (syntax, anchors, aliases); it loads to objects if the input did.

    A custom tag such as `!foo` is valid YAML that PyYAML's safe loader cannot construct
    (Kubernetes' decoder accepts it): passing such a document through is not an error.
    """
    list(yaml.compose_all(output, Loader=KubernetesLikeLoader))
    if loads(text):
        assert loads(output)


def count_documents(text: str) -> int:
    """Documents that hold something (empty ones and bare markers do not count)."""
    nodes = yaml.compose_all(text, Loader=KubernetesLikeLoader)
    return len([node for node in nodes if node is not None])


# --- in process ------------------------------------------------------------------------------


def assert_render_contract(text: str) -> None:
    output, problems = render(text, options())
    for problem in problems:
        assert PROBLEM_LINE.match(problem.format()), repr(problem.format())
    if any(problem.is_error for problem in problems):
        assert output == ""
        return
    assert output.strip(GO_SPACE), "success must never be an empty stream (for Helm 4 either)"
    assert_is_yaml(output, text)
    if "vault.hashicorp.com/" not in text:
        assert output == text  # nothing opts in: the stream comes back byte for byte
    assert count_documents(output) == count_documents(text)  # none dropped, none added
    again, problems_again = render(output, options())
    assert not any(problem.is_error for problem in problems_again), [
        problem.format() for problem in problems_again
    ]
    assert again == output


@IN_PROCESS
@given(st.text())
@example("\xa0")  # a lone NBSP: a YAML scalar, but empty to Helm 4's Go TrimSpace
@example("\u3000\n")
def test_random_text(text: str) -> None:
    assert_render_contract(text)


@IN_PROCESS
@given(truncated_real_streams())
def test_truncated_real_streams(text: str) -> None:
    assert_render_contract(text)


@IN_PROCESS
@given(mangled_real_streams())
def test_mangled_real_streams(text: str) -> None:
    assert_render_contract(text)


@IN_PROCESS
@given(generated_streams)
def test_generated_kubernetes_objects(text: str) -> None:
    assert_render_contract(text)


@IN_PROCESS
@given(edited_api_deployments())
def test_random_annotation_edits_of_the_seed_deployment(text: str) -> None:
    assert_render_contract(text)


def test_the_unedited_seed_deployment_renders() -> None:
    """The annotation-edit strategy starts from a stream that does render."""
    base = real_streams()[0].split("---\n# Source: api/templates/deployment.yaml\n")[0]
    output, problems = render(base + "---\n" + yaml.safe_dump(api_deployment()), options())
    assert output, [problem.format() for problem in problems]
    assert "agent-inject-status: injected" in output


# --- through the CLI -------------------------------------------------------------------------


def assert_cli_contract(data: bytes) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VAULT")}
    result = subprocess.run(
        [console_script("vault-exec"), "render", "--vault-addr", VAULT_ADDR],
        input=data, capture_output=True, check=False, env=environment,
    )  # fmt: skip
    stderr = result.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in stderr
    assert result.returncode in (0, 1), stderr
    if result.returncode == 0:
        assert result.stdout.decode("utf-8").strip(GO_SPACE)
        assert_is_yaml(result.stdout.decode("utf-8"), data.decode("utf-8"))
    else:
        assert result.stdout == b""
        lines = stderr.splitlines()
        assert lines
        for line in lines:
            assert PROBLEM_LINE.match(line), repr(line)


@THROUGH_CLI
@given(any_stream.map(lambda text: text.encode("utf-8")))
def test_cli_never_crashes_and_never_half_succeeds(data: bytes) -> None:
    assert_cli_contract(data)


@THROUGH_CLI
@given(st.binary(max_size=200))
def test_cli_random_bytes(data: bytes) -> None:
    assert_cli_contract(data)


def test_cli_reports_bytes_that_are_not_utf8_as_a_located_line() -> None:
    assert_cli_contract(b"apiVersion: v1\nkind: \xff\n")
