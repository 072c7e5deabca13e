"""The product's proof on a real container engine: the `api` chart rendered by the real Helm 3
and Helm 4, post-rendered by `vault-exec render` with VAULT_EXEC_AGENT_IMAGE naming the agent
image `podman build` made from the Dockerfile, run by `podman kube play --network host`
against a real OpenBao on loopback (JWT auth, a service-account token signed by the test's
issuer). The app image is FROM scratch with the static probe program (testkit/probe_app.c),
which reports what it sees. What podman lacks is bridged in testkit/kube_pod.py, each gap
named there.

The same assertions as the unshare-based tests (tests/test_e2e_distroless.py), for real.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit import pod_scenario
from testkit.helm_bin import Helm
from testkit.openbao import TestVault
from testkit.podman import Podman, PodRun, TokenMinter, play_workload
from transformer.agent.contract import AGENT_EXECUTABLE, CONFIG_ENV_VAR, INSTALL_TARGET_PATH

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS = REPO_ROOT / "fixtures" / "charts"
NONROOT = 65532
NONCE = os.urandom(6).hex()
#: The demo's awkward values, made unique to this run.
SECRETS = {
    name: value.replace("-----BEGIN", f"-----BEGIN {NONCE}") if name == "TLS_KEY" else value + NONCE
    for name, value in pod_scenario.DEMO_SECRETS.items()
}


@pytest.fixture(scope="module")
def vault(test_vault: TestVault) -> TestVault:
    pod_scenario.configure_vault(test_vault.client(), SECRETS)
    return test_vault


def helm_render(
    helm: Helm, chart: str, vault: TestVault, agent_image: str, *sets: str, auth: str = "jwt"
) -> str:
    """`helm template` with vault-exec as post-renderer (Helm 3: the console script;
    Helm 4: the installed plugin), AUTH (JWT by default) against the test's OpenBao."""
    flags = [f"--vault-addr={vault.address}", f"--auth-type={auth}", f"--auth-path=auth/{auth}"]
    post = ["--post-renderer", "vault-exec"]
    if helm.major == 3:
        post += ["--post-renderer-args", "render"]
    post += [f"--post-renderer-args={flag}" for flag in flags]
    sets_argv = [s if s.startswith("--") else f"--set={s}" for s in sets]  # or a whole flag
    return helm.check(
        "template", pod_scenario.RELEASE, str(CHARTS / chart), "-n", pod_scenario.NAMESPACE,
        *sets_argv, *post, env={"VAULT_EXEC_AGENT_IMAGE": agent_image},
    )  # fmt: skip


def mint(vault: TestVault) -> TokenMinter:
    """What the API server signs for the kubelet: a token of the pod's own service account."""

    def signed(namespace: str, account: str, audience: str | None) -> str:
        return vault.issuer.mint(namespace, account, audience or pod_scenario.AUTOMOUNT_AUDIENCE)

    return signed


@dataclass
class Run:
    run: PodRun
    rendered: str
    accessors_before: set[str]
    accessors_after: set[str]
    #: TokenReviews OpenBao asked of the API server's test double during the run.
    token_reviews: int


def play(
    podman: Podman,
    vault: TestVault,
    rendered: str,
    kind: str,
    workdir: Path,
    name: str | None = None,
) -> Run:
    before = vault.bao.token_accessors()
    reviews = vault.token_review.reviews
    run = play_workload(
        podman, rendered, kind, workdir, mint(vault),
        name=name, default_namespace=pod_scenario.NAMESPACE,
        forbidden=[fragment.encode() for fragment in _secret_fragments()],
    )  # fmt: skip
    after = vault.bao.token_accessors()
    return Run(run, rendered, before, after, vault.token_review.reviews - reviews)


@pytest.fixture(
    scope="module",
    # kubernetes auth: OpenBao asks the TokenReview test double of tests/openbao.py
    params=["helm3", "helm4", "helm3-projected-token", "helm3-kubernetes-auth"],
)
def api_pod(
    request: pytest.FixtureRequest,
    podman: Podman,
    vault: TestVault,
    agent_image: str,
    app_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    helm: Helm = request.getfixturevalue("helm4" if request.param == "helm4" else "helm3")
    repository, tag = app_image.rsplit(":", 1)
    sets = [f"image.repository={repository}", f"image.tag={tag}"]
    if request.param.endswith("projected-token"):
        sets.append("serviceAccount.automountToken=false")  # vault-exec projects a token
    auth = "kubernetes" if request.param.endswith("kubernetes-auth") else "jwt"
    rendered = helm_render(helm, "api", vault, agent_image, *sets, auth=auth)
    return play(podman, vault, rendered, "Deployment", tmp_path_factory.mktemp(request.param))


def _secret_fragments() -> list[str]:
    fragments = list(SECRETS.values())
    for value in SECRETS.values():
        fragments += [line for line in value.splitlines() if NONCE in line]
    return fragments


def test_app_is_pid_1_alone_with_its_argv_and_every_secret_byte_exact(api_pod: Run) -> None:
    run = api_pod.run
    assert run.exit_code == 0, run.stderr
    report = run.report
    assert report["pid"] == 1
    assert report["pids"] == [1]  # alone in the container's PID namespace
    assert report["fds"] == [0, 1, 2]
    assert report["argv"] == [pod_scenario.APP_PATH]  # agent-exec-command "/server"
    for name, value in SECRETS.items():
        assert run.app_env[name] == value, name


def test_app_keeps_the_container_env_and_gets_nothing_of_the_agent(api_pod: Run) -> None:
    run = api_pod.run
    started_with = run.env  # what podman gave the container, i.e. the agent
    assert CONFIG_ENV_VAR in started_with
    assert run.app_env == {k: v for k, v in started_with.items() if k != CONFIG_ENV_VAR} | SECRETS
    assert run.app_env["LOG_LEVEL"] == "info"  # configMapKeyRef, from the chart's ConfigMap
    assert run.app_env["POD_NAME"] == run.pod.name  # fieldRef metadata.name
    assert not [k for k in run.app_env if k.startswith(("_PYI_", "VAULT_", "LD_"))]


def test_agent_token_is_revoked_and_no_secret_leaks(api_pod: Run) -> None:
    assert api_pod.run.exit_code == 0
    assert api_pod.accessors_after == api_pod.accessors_before
    # no file the containers could write holds a secret: writable layers, the emptyDir
    # the bundle went to, the token directory
    assert any(path.endswith("/diff") for path in api_pod.run.disks)
    assert len(api_pod.run.disks) >= 4, api_pod.run.disks
    assert api_pod.run.leaked == []
    for fragment in _secret_fragments():
        assert fragment not in api_pod.rendered
        assert fragment not in api_pod.run.pod.path.read_text()
        assert fragment not in api_pod.run.stderr  # the agent's log lines


def test_read_only_root_and_uid_65532_are_honoured(api_pod: Run, agent_image: str) -> None:
    run = api_pod.run
    assert (run.report["uid"], run.report["gid"]) == (NONROOT, NONROOT)
    assert run.report["root_writable"] is False
    assert run.host_config["ReadonlyRootfs"] is True
    assert run.report["has_sh"] is False  # FROM scratch
    (init,) = run.init  # the agent image's `install`, as podman ran it
    assert init["State"]["ExitCode"] == 0
    assert init["Config"]["User"] == f"{NONROOT}:{NONROOT}"
    assert init["HostConfig"]["ReadonlyRootfs"] is True
    assert init["ImageName"] == agent_image
    spec = run.pod.spec["initContainers"][0]
    assert spec["command"] == [AGENT_EXECUTABLE, "install", INSTALL_TARGET_PATH]


def test_the_pod_had_exactly_the_token_its_variant_is_about(api_pod: Run) -> None:
    audiences = api_pod.run.pod.token_audiences
    projected = "projected" in api_pod.run.pod.name
    assert audiences == ([pod_scenario.PROJECTED_AUDIENCE] if projected else [None])


def test_the_auth_method_is_the_one_rendered(api_pod: Run) -> None:
    kubernetes = "kubernetes-auth" in api_pod.run.pod.name
    assert (api_pod.token_reviews > 0) == kubernetes  # JWT auth checks the signature itself


def test_helm4_hook_job_runs_its_own_command_and_args(
    podman: Podman,
    vault: TestVault,
    helm4: Helm,
    agent_image: str,
    app_image: str,
    tmp_path: Path,
) -> None:
    repository, tag = app_image.rsplit(":", 1)
    rendered = helm_render(
        helm4, "api", vault, agent_image, f"image.repository={repository}", f"image.tag={tag}"
    )
    result = play(podman, vault, rendered, "Job", tmp_path)
    run = result.run
    assert run.exit_code == 0, run.stderr
    assert run.report["pid"] == 1
    assert run.report["pids"] == [1]
    assert run.report["argv"] == ["/server", "migrate", "--wait-for-db=30s"]
    assert run.app_env == {k: v for k, v in run.env.items() if k != CONFIG_ENV_VAR} | SECRETS
    assert result.accessors_after == result.accessors_before


@pytest.mark.parametrize("helm_name", ["helm3", "helm4"])
def test_cronjob_with_a_relative_command_resolved_against_the_image_workdir(
    request: pytest.FixtureRequest,
    helm_name: str,
    podman: Podman,
    vault: TestVault,
    agent_image: str,
    report_image: str,
    tmp_path: Path,
) -> None:
    helm: Helm = request.getfixturevalue(helm_name)
    repository, tag = report_image.rsplit(":", 1)
    rendered = helm_render(
        helm, "shop", vault, agent_image,
        f"worker.image.repository={repository}", f"worker.image.tag={tag}",
        f"worker.serviceAccountName={pod_scenario.SERVICE_ACCOUNT}",
    )  # fmt: skip
    result = play(podman, vault, rendered, "CronJob", tmp_path)
    run = result.run
    assert run.exit_code == 0, run.stderr
    assert run.config["WorkingDir"] == "/opt/report"  # the image's WORKDIR, no workingDir
    assert run.report["cwd"] == "/opt/report"
    assert run.report["pid"] == 1
    assert run.report["argv"] == ["bin/report", "--since=24h"]  # as the chart wrote it
    assert run.app_env == {k: v for k, v in run.env.items() if k != CONFIG_ENV_VAR} | SECRETS


def test_wrong_role_ends_the_container_with_one_line_and_no_app(
    podman: Podman,
    vault: TestVault,
    helm3: Helm,
    agent_image: str,
    app_image: str,
    tmp_path: Path,
) -> None:
    repository, tag = app_image.rsplit(":", 1)
    rendered = helm_render(
        helm3, "api", vault, agent_image,
        f"image.repository={repository}", f"image.tag={tag}",
        "deployment.podAnnotations.vault\\.hashicorp\\.com/role=no-such-role",
        # give up at once: the agent would otherwise retry a 400 within its deadline
        "--set-string=deployment.podAnnotations.vault\\.hashicorp\\.com/client-max-retries=0",
    )  # fmt: skip
    result = play(podman, vault, rendered, "Deployment", tmp_path)
    run = result.run
    assert run.exit_code != 0
    assert run.stdout == ""  # the app never started: it would have printed its report
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("vault-exec-agent: ")
    assert "no-such-role" in lines[0]
    assert "Traceback" not in run.stderr
    assert result.accessors_after == result.accessors_before
