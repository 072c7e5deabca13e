"""Fixtures shared by all tests.

Vault: ``test_vault`` is ONE real OpenBao dev server for the whole session
(started on free loopback ports, provisioned as described in
``tests/openbao.py``, stopped at the end). Tests that need a server must not
change what others rely on: write under paths of their own, e.g.
``secret/data/app/<test name>``; the policy ``app-read`` grants read on
``secret/data/app/*`` and ``kv/app/*``.

* ``test_vault`` -> :class:`openbao.TestVault`: ``.address``, ``.client()``
  (hvac, root token), ``.mint_sa_token(ns, sa, audience)``, ``.app_token()``,
  ``.bao.token_accessors()``; role ``app`` at ``auth/jwt`` and
  ``auth/kubernetes`` for ``system:serviceaccount:apps:api``, audience ``vault``.
* ``sa_token_file`` -> a file holding a fresh service-account JWT for that account.

Helm: ``api_helm3`` / ``api_helm4`` -> the seed's api chart (fixtures/charts/api,
release ``demo``, namespace ``apps``) rendered by Helm's engine into the stream Helm 3 /
Helm 4 pipes into a post-renderer (testkit/helm_render.py); rendered once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.openbao import TestVault, running_test_vault

API_CHART = Path(__file__).resolve().parent.parent / "fixtures" / "charts" / "api"


@pytest.fixture(scope="session")
def test_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestVault]:
    with running_test_vault(tmp_path_factory.mktemp("openbao")) as vault:
        yield vault


@pytest.fixture
def sa_token_file(test_vault: TestVault, tmp_path: Path) -> Path:
    path = tmp_path / "sa-token"
    path.write_text(test_vault.mint_sa_token())
    return path


@pytest.fixture(scope="session")
def api_helm3() -> str:
    from testkit.helm_render import render_chart  # here: only Helm tests pay for Helm's engine

    return render_chart(API_CHART, "demo", "apps")


@pytest.fixture(scope="session")
def api_helm4() -> str:
    from testkit.helm_render import render_chart  # here: only Helm tests pay for Helm's engine

    return render_chart(API_CHART, "demo", "apps", helm4=True)
