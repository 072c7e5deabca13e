"""The real helm CLI (Helm 3.17.2 and Helm 4.3.1, testkit/helm_bin.py) with vault-exec as its
post-renderer, on the seed's `api` chart and on a third-party-style chart
(fixtures/charts/shop: a subchart, hooks, a `kind: List` template, a helm test).

Also checks that testkit/helm_render.py, the stand-in the fast unit tests use, rebuilds byte for
byte the stream each real Helm pipes into a post-renderer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.helm_bin import Helm
from testkit.helm_render import render_chart

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS = REPO_ROOT / "fixtures" / "charts"
VAULT_ADDR = "https://vault.example:8200"
AGENT_IMAGE = "registry.example/platform/vault-exec-agent:test"
INJECTED = "vault.hashicorp.com/agent-inject-status"
HELM4_PLUGIN_ERROR = (
    "Error: error while running post render on files: failed to invoke post-renderer plugin "
    '"vault-exec": plugin "vault-exec" exited with error'
)
#: Helm 3 names the post-renderer by path; each --post-renderer-args is one argument.
HELM3_POST_RENDER = [
    "--post-renderer", "vault-exec", "--post-renderer-args", "render",
    f"--post-renderer-args=--vault-addr={VAULT_ADDR}",
]  # fmt: skip
#: Helm 4 names the installed plugin; its plugin.yaml already says `render`.
HELM4_POST_RENDER = [
    "--post-renderer",
    "vault-exec",
    f"--post-renderer-args=--vault-addr={VAULT_ADDR}",
]
#: A post-render failure: an annotation name vault-exec does not know.
TYPO = "--set-string=podAnnotations.vault\\.hashicorp\\.com/rolle=api"


def _documents(stream: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(stream) if d is not None]


def _by_name(stream: str) -> dict[str, dict[str, Any]]:
    """Objects by Kind/name (a List has no name: it is left out)."""
    return {
        f"{d['kind']}/{d['metadata']['name']}": d for d in _documents(stream) if "metadata" in d
    }


def _pod_template(document: dict[str, Any]) -> dict[str, Any]:
    if document["kind"] == "Pod":
        return document
    if document["kind"] == "CronJob":
        template: dict[str, Any] = document["spec"]["jobTemplate"]["spec"]["template"]
        return template
    template = document["spec"]["template"]
    return template


def _injected(document: dict[str, Any]) -> bool:
    template = _pod_template(document)
    annotations = template["metadata"].get("annotations") or {}
    if annotations.get(INJECTED) != "injected":
        return False
    spec = template["spec"]
    assert spec["initContainers"][0]["image"] == AGENT_IMAGE
    assert spec["containers"][0]["command"][:3] == ["/vault-exec/vault-exec-agent", "run", "--"]
    return True


def _manifest_section(output: str) -> str:
    """The MANIFEST: part of `helm install --dry-run` output (hooks are under HOOKS:)."""
    assert "\nMANIFEST:\n" in output, output[:500]
    manifest = output.split("\nMANIFEST:\n", 1)[1]
    return manifest.split("\nNOTES:\n", 1)[0]


def _hooks_section(output: str) -> str:
    return output.split("\nHOOKS:\n", 1)[1].split("\nMANIFEST:\n", 1)[0]


ENV = {"VAULT_EXEC_AGENT_IMAGE": AGENT_IMAGE}

# ---- the stand-in against the real thing ------------------------------------------------


@pytest.mark.parametrize("chart", ["api", "shop"])
def test_helm3_sends_the_stream_the_stand_in_rebuilds(
    helm3: Helm, chart: str, tmp_path: Path
) -> None:
    sent = tmp_path / "sent.yaml"
    helm3.check(
        "template", "demo", str(CHARTS / chart), "-n", "apps",
        "--post-renderer", "tee", "--post-renderer-args", str(sent),
    )  # fmt: skip
    assert sent.read_text() == render_chart(CHARTS / chart, "demo", "apps")


@pytest.mark.parametrize("chart", ["api", "shop"])
def test_helm4_sends_the_stream_the_stand_in_rebuilds(
    helm4: Helm, chart: str, tmp_path: Path
) -> None:
    # A capturing post-renderer plugin of our own, installed next to vault-exec.
    sent = tmp_path / "sent.yaml"
    plugin = tmp_path / "capture"
    plugin.mkdir()
    (plugin / "plugin.yaml").write_text(
        'apiVersion: v1\ntype: postrenderer/v1\nname: capture\nversion: "0.0.1"\n'
        "runtime: subprocess\nruntimeConfig:\n  platformCommand:\n"
        f"    - command: tee\n      args: [{sent}]\n"
    )
    helm4.check("plugin", "install", str(plugin))
    try:
        helm4.check(
            "template", "demo", str(CHARTS / chart), "-n", "apps", "--post-renderer", "capture"
        )
    finally:
        helm4.check("plugin", "uninstall", "capture")
    assert sent.read_text() == render_chart(CHARTS / chart, "demo", "apps", helm4=True)


# ---- Helm 3 -----------------------------------------------------------------------------


def _helm3_client_only(command: str, kube_apiserver: str) -> list[str]:
    """Flags for `helm install --dry-run=client`: Helm 3 still asks a cluster for its version
    and resource types (testkit/kube_discovery.py answers); the render itself is client-side."""
    if command != "install":
        return []
    return [
        "--dry-run=client",
        f"--kube-apiserver={kube_apiserver}",
        "--disable-openapi-validation",
    ]


@pytest.mark.parametrize("command", ["template", "install"])
def test_helm3_injects_the_api_chart_and_leaves_its_hook(
    helm3: Helm, command: str, kube_apiserver: str
) -> None:
    extra = _helm3_client_only(command, kube_apiserver)
    out = helm3.check(
        command, "demo", str(CHARTS / "api"), "-n", "apps", *extra, *HELM3_POST_RENDER, env=ENV
    )
    if command == "install":
        # Helm 3 keeps hooks aside and never sends them to a post-renderer (helm/helm#7891).
        assert not _injected(_by_name(_hooks_section(out))["Job/demo-api-migrate"])
        out = _manifest_section(out)
    objects = _by_name(out)
    assert _injected(objects["Deployment/demo-api"])
    if command == "template":
        assert not _injected(objects["Job/demo-api-migrate"])  # printed, not post-rendered
    assert "# Source: api/templates/deployment.yaml" in out


@pytest.mark.parametrize("command", ["template", "install"])
def test_helm3_on_a_third_party_chart(helm3: Helm, command: str, kube_apiserver: str) -> None:
    extra = _helm3_client_only(command, kube_apiserver)
    out = helm3.check(
        command, "demo", str(CHARTS / "shop"), "-n", "apps", *extra, *HELM3_POST_RENDER, env=ENV
    )
    if command == "install":
        hooks, out = _hooks_section(out), _manifest_section(out)
        hook_objects = _by_name(hooks)
        assert set(hook_objects) == {"Job/demo-shop-seed", "Pod/demo-shop-test-connection"}
        assert not any(_injected(d) for d in hook_objects.values())
    objects = _by_name(out)
    assert _injected(objects["Deployment/demo-shop-web"])
    assert _injected(objects["CronJob/demo-worker-report"])  # from the subchart
    # The List stays a List under Helm 3; the Deployment inside it is injected.
    (listed,) = [d for d in _documents(out) if d["kind"] == "List"]
    items = {f"{i['kind']}/{i['metadata']['name']}": i for i in listed["items"]}
    assert _injected(items["Deployment/demo-shop-canary"])
    assert "postrenderer.helm.sh/postrender-filename" not in out


def test_helm3_shows_vault_exec_s_problem_line_when_the_render_fails(helm3: Helm) -> None:
    done = helm3.run(
        "template", "demo", str(CHARTS / "shop"), "-n", "apps", TYPO, *HELM3_POST_RENDER, env=ENV
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Error: error while running post render on files" in done.stderr
    assert "unknown annotation vault.hashicorp.com/rolle" in done.stderr
    assert "Traceback" not in done.stderr


# ---- Helm 4 -----------------------------------------------------------------------------


def test_helm4_installed_the_checkout_as_its_postrenderer_plugin(helm4: Helm) -> None:
    listed = helm4.check("plugin", "list")
    (row,) = [line.split() for line in listed.splitlines() if line.startswith("vault-exec")]
    assert row[:3] == ["vault-exec", "0.1.0", "postrenderer/v1"]


@pytest.mark.parametrize("command", ["template", "install"])
def test_helm4_injects_manifests_and_hooks_of_the_api_chart(helm4: Helm, command: str) -> None:
    extra = ["--dry-run=client"] if command == "install" else []
    out = helm4.check(
        command, "demo", str(CHARTS / "api"), "-n", "apps", *extra, *HELM4_POST_RENDER, env=ENV
    )
    if command == "install":
        hooks, out = _hooks_section(out), _manifest_section(out)
        assert _injected(_by_name(hooks)["Job/demo-api-migrate"])
    objects = _by_name(out)
    assert _injected(objects["Deployment/demo-api"])
    if command == "template":
        assert _injected(objects["Job/demo-api-migrate"])  # Helm 4 post-renders hooks
    # Helm 4 takes its own annotation off again after the post-renderer.
    assert "postrenderer.helm.sh/postrender-filename" not in out


def test_helm4_on_a_third_party_chart(helm4: Helm) -> None:
    out = helm4.check(
        "template", "demo", str(CHARTS / "shop"), "-n", "apps", *HELM4_POST_RENDER, env=ENV
    )
    objects = _by_name(out)
    assert "List" not in {d["kind"] for d in _documents(out)}  # kyaml sends the items
    for name in (
        "Deployment/demo-shop-web",
        "Deployment/demo-shop-canary",
        "CronJob/demo-worker-report",
        "Job/demo-shop-seed",  # a hook
        "Pod/demo-shop-test-connection",  # a helm test
    ):
        assert _injected(objects[name]), name
    assert objects["ConfigMap/demo-shop-canary"]["data"] == {"weight": "10"}


def test_helm4_skip_hooks_leaves_hooks_and_tests_alone(helm4: Helm) -> None:
    out = helm4.check(
        "template", "demo", str(CHARTS / "shop"), "-n", "apps",
        *HELM4_POST_RENDER, "--post-renderer-args=--skip-hooks", env=ENV,
    )  # fmt: skip
    objects = _by_name(out)
    assert _injected(objects["Deployment/demo-shop-web"])
    assert not _injected(objects["Job/demo-shop-seed"])
    assert not _injected(objects["Pod/demo-shop-test-connection"])


@pytest.mark.parametrize("channel", ["VAULT_EXEC_REPORT", "--report"])
def test_helm4_failure_hides_the_problem_but_the_report_has_it(
    helm4: Helm, channel: str, tmp_path: Path
) -> None:
    report = tmp_path / "vault-exec-report.txt"
    env = dict(ENV)
    args = ["template", "demo", str(CHARTS / "shop"), "-n", "apps", TYPO, *HELM4_POST_RENDER]
    if channel == "VAULT_EXEC_REPORT":
        env["VAULT_EXEC_REPORT"] = str(report)  # passes through Helm's environment
    else:
        args.append(f"--post-renderer-args=--report={report}")
    done = helm4.run(*args, env=env)
    assert done.returncode == 1
    assert done.stdout == ""  # no partial stream
    # What the user sees: Helm's one line, without vault-exec's stderr.
    assert done.stderr.splitlines()[0] == HELM4_PLUGIN_ERROR
    assert "rolle" not in done.stderr
    lines = report.read_text().splitlines()
    assert lines, "the report is empty"
    assert all(line.startswith("-:") for line in lines)  # the same line as on stderr
    assert any(
        "unknown annotation vault.hashicorp.com/rolle" in line
        and line.endswith("(Deployment/demo-shop-web)")  # the chart sets no namespace
        for line in lines
    ), lines


# ---- Argo CD's generate with the real helm ---------------------------------------------


def test_argocd_generate_with_the_real_helm3(helm3: Helm, tmp_path: Path) -> None:
    import shutil
    import subprocess

    source = tmp_path / "repo" / "charts" / "shop"
    shutil.copytree(CHARTS / "shop", source)
    env = helm3.env(
        {
            "VAULT_EXEC_HELM": str(helm3.binary),
            "VAULT_EXEC_VAULT_ADDR": VAULT_ADDR,
            "VAULT_EXEC_AGENT_IMAGE": AGENT_IMAGE,
            "ARGOCD_APP_NAME": "argocd_demo",
            "ARGOCD_APP_NAMESPACE": "apps",
            "KUBE_VERSION": "1.31.4",
            "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1",
        }
    )
    vault_exec = str(Path(sys.executable).parent / "vault-exec")
    for phase in ("init", "generate"):
        done = subprocess.run(
            [vault_exec, "argocd", phase], cwd=source, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    objects = _by_name(done.stdout)
    assert _injected(objects["Deployment/demo-shop-web"])
    assert _injected(objects["CronJob/demo-worker-report"])


def test_helm4_failure_shows_the_problem_on_the_user_s_terminal(
    helm4: Helm, tmp_path: Path
) -> None:
    # A real terminal (util-linux `script` gives the run a pty as its controlling tty);
    # helm's own stderr goes to a file, so the pty shows only what vault-exec wrote to it.
    import shlex
    import subprocess

    argv = [str(helm4.binary), "template", "demo", str(CHARTS / "shop"), TYPO, *HELM4_POST_RENDER]
    stderr_file = tmp_path / "helm-stderr.txt"
    command = f"{shlex.join(argv)} 2>{shlex.quote(str(stderr_file))}"
    done = subprocess.run(
        ["script", "--quiet", "--return", "--command", command, "/dev/null"],
        env=helm4.env(ENV),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    terminal = done.stdout.replace("\r\n", "\n")
    assert "unknown annotation vault.hashicorp.com/rolle" in terminal
    assert "kind: Deployment" not in terminal  # no partial stream
    assert stderr_file.read_text().splitlines()[0] == HELM4_PLUGIN_ERROR
