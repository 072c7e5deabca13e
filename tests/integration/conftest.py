"""Fixtures of the integration tier: the real helm CLI (testkit/helm_bin.py) and, for the
`container` tests, the real container engine (testkit/podman.py). Each binary and image is
fetched or built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import helm_bin
from testkit.distroless import probe_app
from testkit.kube_discovery import discovery_server
from testkit.podman import TEST_REGISTRY, Podman, unavailable_reason

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Local names only (testkit/podman.py): nothing poses as a published image.
AGENT_IMAGE = f"{TEST_REGISTRY}/vault-exec-agent:0.1.0"
APP_IMAGE = f"{TEST_REGISTRY}/api:probe"
REPORT_IMAGE = f"{TEST_REGISTRY}/report:probe"


def _helm_or_skip(release: helm_bin.HelmRelease, home: Path) -> helm_bin.Helm:
    try:
        return helm_bin.helm(release, home)
    except helm_bin.HelmUnavailable as error:  # no PyPI here: say so rather than fail obscurely
        pytest.skip(f"helm {release.version} unavailable: {error}")


@pytest.fixture(scope="session")
def helm3(tmp_path_factory: pytest.TempPathFactory) -> helm_bin.Helm:
    return _helm_or_skip(helm_bin.HELM3, tmp_path_factory.mktemp("helm3-home"))


@pytest.fixture(scope="session")
def helm4(tmp_path_factory: pytest.TempPathFactory) -> helm_bin.Helm:
    """Helm 4 with the checkout installed as its `vault-exec` plugin (the root plugin.yaml)."""
    helm = _helm_or_skip(helm_bin.HELM4, tmp_path_factory.mktemp("helm4-home"))
    helm.check("plugin", "install", str(REPO_ROOT))
    return helm


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[str]:
    """The discovery test double's URL, for Helm 3's `install --dry-run=client`."""
    with discovery_server() as url:
        yield url


# ---- the container engine (the `container` tier) -----------------------------------------


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    reason = unavailable_reason()
    if reason is None:
        engine = Podman(tmp_path_factory.mktemp("podman"))
        reason = engine.works()
        if reason is None:
            return engine
    pytest.skip(f"podman cannot run here: {reason}")


@pytest.fixture(scope="session")
def agent_image(podman: Podman) -> str:
    """The agent image, built by `podman build` from the repository's Dockerfile."""
    podman.debian_base()
    return podman.build(AGENT_IMAGE, REPO_ROOT)


@pytest.fixture(scope="session")
def app_image(podman: Podman) -> str:
    """FROM scratch: the static probe program as /server (a distroless app's entrypoint)."""
    return podman.scratch_image(
        APP_IMAGE, {"/server": probe_app()}, entrypoint=["/server"], user="65532:65532"
    )


@pytest.fixture(scope="session")
def report_image(podman: Podman) -> str:
    """FROM scratch with WORKDIR /opt/report: the probe as bin/report, for relative commands."""
    return podman.scratch_image(
        REPORT_IMAGE, {"/opt/report/bin/report": probe_app()}, workdir="/opt/report"
    )
