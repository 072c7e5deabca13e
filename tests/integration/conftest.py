"""Fixtures of the integration tier: the real helm CLI (testkit/helm_bin.py) and, for the
`container` tests, the real container engine (testkit/podman.py). Each binary and image is
fetched or built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import helm_bin
from testkit.kube_discovery import discovery_server

REPO_ROOT = Path(__file__).resolve().parents[2]


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
