"""The agent's Vault client against real OpenBao servers: the session's plain
one, a ``-dev-tls`` one (CA file, server name, skip-verify), a namespace, a
sealed server (retries), and a large answer (chunked transfer encoding)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest

from testkit.openbao import ROLE, OpenBao, TestVault, start_dev_server
from transformer.agent.config import AuthSettings, RetrySettings, VaultSettings
from transformer.agent.errors import AgentError
from transformer.agent.vault import VaultClient, VaultError, has_lease

FAST_FAIL = RetrySettings(timeout_seconds=1.5, max_retries=1000)


def client_for(address: str, **settings: object) -> VaultClient:
    return VaultClient(VaultSettings(address, **settings), RetrySettings())  # type: ignore[arg-type]


def logged_in(vault: TestVault, sa_token_file: Path, method: str = "kubernetes") -> VaultClient:
    client = client_for(vault.address)
    client.login(AuthSettings(method, f"auth/{method}", ROLE, str(sa_token_file)), {})
    return client


@pytest.fixture(scope="module")
def tls_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    server = start_dev_server(tmp_path_factory.mktemp("openbao-tls"), tls=True)
    try:
        server.client().secrets.kv.v2.create_or_update_secret(path="app/tls", secret={"K": "v"})
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("method", ["kubernetes", "jwt"])
def test_login_read_and_revoke(test_vault: TestVault, sa_token_file: Path, method: str) -> None:
    test_vault.client().secrets.kv.v2.create_or_update_secret(path="app/client", secret={"A": "1"})
    client = logged_in(test_vault, sa_token_file, method)
    assert client.token_is_own
    answer = client.secret("secret/data/app/client")
    assert answer["data"]["data"] == {"A": "1"}
    assert not has_lease(answer)
    token = client.token
    client.revoke_self()
    with pytest.raises(hvac.exceptions.Forbidden):  # type: ignore[attr-defined]
        test_vault.client(token).auth.token.lookup_self()


def test_concurrent_prefetch_reads_each_path_once(
    test_vault: TestVault, sa_token_file: Path
) -> None:
    kv2 = test_vault.client().secrets.kv.v2
    paths = []
    for index in range(6):
        kv2.create_or_update_secret(path=f"app/many/{index}", secret={"I": str(index)})
        paths.append(f"secret/data/app/many/{index}")
    client = logged_in(test_vault, sa_token_file)
    client.prefetch([*paths, *paths, "secret/data/other/forbidden"])
    for index, path in enumerate(paths):
        assert client.secret(path)["data"]["data"] == {"I": str(index)}
    assert client.secret(paths[0]) is client.secret(paths[0])  # cached
    with pytest.raises(
        AgentError, match=r"^GET secret/data/other/forbidden: permission denied \(403\)"
    ):
        client.secret("secret/data/other/forbidden")


def test_write_with_arguments_returns_a_lease(test_vault: TestVault, sa_token_file: Path) -> None:
    client = logged_in(test_vault, sa_token_file)
    answer = client.secret("pki/issue/leased", ["common_name=a.example.test", "ttl=5m"])
    assert answer["data"]["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert has_lease(answer)
    with pytest.raises(
        AgentError, match=r'^secret "pki/issue/leased": argument 1 is not key=value$'
    ):
        client.secret("pki/issue/leased", ["not-a-pair"])


def test_a_write_error_does_not_echo_vault_text(test_vault: TestVault, sa_token_file: Path) -> None:
    client = logged_in(test_vault, sa_token_file)
    with pytest.raises(VaultError) as info:
        client.secret("pki/issue/leased", ["common_name=secret-looking.not-allowed.test"])
    assert str(info.value) == "PUT pki/issue/leased: bad request (400)"


def test_a_large_answer_arrives_whole(test_vault: TestVault, sa_token_file: Path) -> None:
    big = "".join(f"{i:07d}\n" for i in range(40_000))  # 320 KB: Go streams it chunked
    test_vault.client().secrets.kv.v2.create_or_update_secret(path="app/big", secret={"BIG": big})
    client = logged_in(test_vault, sa_token_file)
    assert client.secret("secret/data/app/big")["data"]["data"]["BIG"] == big


def test_kv2_version_query(test_vault: TestVault, sa_token_file: Path) -> None:
    kv2 = test_vault.client().secrets.kv.v2
    name = f"app/versions-{uuid.uuid4().hex[:6]}"
    kv2.create_or_update_secret(path=name, secret={"V": "one"})
    kv2.create_or_update_secret(path=name, secret={"V": "two"})
    client = logged_in(test_vault, sa_token_file)
    assert client.secret(f"secret/data/{name}?version=1")["data"]["data"] == {"V": "one"}
    assert client.secret(f"secret/data/{name}")["data"]["data"] == {"V": "two"}


def test_namespace_header(test_vault: TestVault) -> None:
    namespace = f"team-{uuid.uuid4().hex[:6]}"
    root = test_vault.client()
    root.adapter.post(f"/v1/sys/namespaces/{namespace}")
    scoped = hvac.Client(
        url=test_vault.address, token=test_vault.bao.root_token, namespace=namespace
    )
    scoped.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    for _ in range(100):  # a new KV v2 mount takes a moment before it routes
        try:
            scoped.secrets.kv.v2.create_or_update_secret(path="app/ns", secret={"N": "inside"})
            break
        except hvac.exceptions.InvalidPath:  # type: ignore[attr-defined]
            time.sleep(0.1)
    client = client_for(test_vault.address, namespace=namespace)
    client.login(
        AuthSettings("token", "auth/token", None, ""), {"VAULT_TOKEN": test_vault.bao.root_token}
    )
    assert client.secret("secret/data/app/ns")["data"]["data"] == {"N": "inside"}
    outside = client_for(test_vault.address)
    outside.login(
        AuthSettings("token", "auth/token", None, ""), {"VAULT_TOKEN": test_vault.bao.root_token}
    )
    with pytest.raises(VaultError, match=r"\(404\)"):
        outside.secret("secret/data/app/ns")


def test_tls_with_the_ca_file(tls_bao: OpenBao) -> None:
    client = client_for(tls_bao.address, ca_cert=str(tls_bao.ca_cert))
    client.login(AuthSettings("token", "auth/token", None, ""), {"VAULT_TOKEN": tls_bao.root_token})
    assert client.secret("secret/data/app/tls")["data"]["data"] == {"K": "v"}


def test_tls_server_name_is_checked(tls_bao: OpenBao) -> None:
    token = {"VAULT_TOKEN": tls_bao.root_token}
    good = client_for(tls_bao.address, ca_cert=str(tls_bao.ca_cert), tls_server_name="localhost")
    good.login(AuthSettings("token", "auth/token", None, ""), token)
    assert good.secret("secret/data/app/tls")["data"]["data"] == {"K": "v"}
    bad = client_for(tls_bao.address, ca_cert=str(tls_bao.ca_cert), tls_server_name="vault.example")
    bad.login(AuthSettings("token", "auth/token", None, ""), token)
    started = time.monotonic()
    with pytest.raises(VaultError, match="certificate verify failed") as info:
        bad.secret("secret/data/app/tls")
    assert "gave up" not in str(info.value)  # not retried: it cannot get better
    assert time.monotonic() - started < 30  # (a sanity bound, not a timing claim)


def test_tls_without_the_ca_fails_and_skip_verify_connects(tls_bao: OpenBao) -> None:
    token = {"VAULT_TOKEN": tls_bao.root_token}
    unknown_ca = client_for(tls_bao.address)
    unknown_ca.login(AuthSettings("token", "auth/token", None, ""), token)
    with pytest.raises(VaultError, match="certificate verify failed"):
        unknown_ca.secret("secret/data/app/tls")
    skip = client_for(tls_bao.address, tls_skip_verify=True)
    skip.login(AuthSettings("token", "auth/token", None, ""), token)
    assert skip.secret("secret/data/app/tls")["data"]["data"] == {"K": "v"}


def test_a_missing_ca_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=f"^vault: cannot load CA file {tmp_path}/none.pem: "):
        client_for("https://127.0.0.1:1", ca_cert=str(tmp_path / "none.pem"))


def test_a_sealed_server_is_retried_until_the_deadline(tmp_path: Path) -> None:
    server = start_dev_server(tmp_path / "sealed")
    try:
        server.client().sys.seal()  # type: ignore[no-untyped-call]
        client = VaultClient(VaultSettings(server.address), FAST_FAIL)
        client.login(
            AuthSettings("token", "auth/token", None, ""), {"VAULT_TOKEN": server.root_token}
        )
        with pytest.raises(VaultError) as info:
            client.secret("secret/data/app/x")
    finally:
        server.stop()
    message = str(info.value)
    assert message.startswith("GET secret/data/app/x: Vault is sealed or unavailable (503)")
    assert message.endswith("deadline of 1.5 s)")
    assert int(message.split("gave up after ")[1].split()[0]) >= 2


def test_token_auth_without_a_token() -> None:
    client = client_for("http://127.0.0.1:1")
    with pytest.raises(AgentError, match=r"^auth: token auth needs VAULT_TOKEN or ~/.vault-token$"):
        client.login(AuthSettings("token", "auth/token", None, ""), {"HOME": "/nonexistent"})


def test_a_missing_service_account_token(tmp_path: Path) -> None:
    client = client_for("http://127.0.0.1:1")
    path = tmp_path / "token"
    with pytest.raises(AgentError, match=f"^auth: cannot read the service-account token {path}: "):
        client.login(AuthSettings("kubernetes", "auth/kubernetes", ROLE, str(path)), {})
