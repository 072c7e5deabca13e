"""install: copy a bundle directory into the init container's emptyDir.

These tests use a small bundle-shaped directory; tests/test_bundle.py runs the
real frozen `vault-exec-agent install` on the built bundle.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from transformer.agent import install
from transformer.agent.contract import AGENT_EXECUTABLE_NAME


def _make_bundle(root: Path) -> Path:
    bundle = root / "bundle"
    (bundle / "_internal" / "lib-dynload").mkdir(parents=True)
    (bundle / "lib").mkdir()
    exe = bundle / AGENT_EXECUTABLE_NAME
    exe.write_bytes(b"\x7fELF fake agent")
    exe.chmod(0o700)  # owner-only on purpose: the copy must be runnable by any UID
    (bundle / "lib" / "libc.so.6").write_bytes(b"libc")
    (bundle / "lib" / "libc.so.6").chmod(0o600)
    (bundle / "_internal" / "base_library.zip").write_bytes(b"zip")
    (bundle / "_internal" / "base_library.zip").chmod(0o600)
    (bundle / "_internal" / "lib-dynload" / "_ssl.cpython-311-x86_64-linux-gnu.so").write_bytes(
        b"so"
    )
    os.symlink("lib-dynload", bundle / "_internal" / "dynload-link")
    return bundle


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_copy_bundle_copies_every_file_with_modes_any_uid_can_use(tmp_path: Path) -> None:
    bundle = _make_bundle(tmp_path)
    dest = tmp_path / "emptydir"
    dest.mkdir()

    install.copy_bundle(str(bundle), str(dest))

    assert sorted(p.name for p in dest.iterdir()) == sorted(
        ["_internal", "lib", AGENT_EXECUTABLE_NAME]
    )
    assert (dest / AGENT_EXECUTABLE_NAME).read_bytes() == b"\x7fELF fake agent"
    assert _mode(dest / AGENT_EXECUTABLE_NAME) == 0o755
    assert _mode(dest / "lib" / "libc.so.6") == 0o755
    assert _mode(dest / "_internal" / "lib-dynload" / "_ssl.cpython-311-x86_64-linux-gnu.so") == (
        0o755
    )
    assert _mode(dest / "_internal" / "base_library.zip") == 0o644
    assert _mode(dest / "_internal") == 0o755
    assert _mode(dest / "_internal" / "lib-dynload") == 0o755
    assert os.readlink(dest / "_internal" / "dynload-link") == "lib-dynload"


def test_copy_bundle_replaces_an_earlier_half_copy(tmp_path: Path) -> None:
    bundle = _make_bundle(tmp_path)
    dest = tmp_path / "emptydir"
    (dest / install.STAGING_NAME / "junk").mkdir(parents=True)
    (dest / "_internal").mkdir()
    (dest / "_internal" / "stale.py").write_text("old")

    install.copy_bundle(str(bundle), str(dest))
    install.copy_bundle(str(bundle), str(dest))  # a restarted init container

    assert not (dest / install.STAGING_NAME).exists()
    assert not (dest / "_internal" / "stale.py").exists()
    assert (dest / "_internal" / "base_library.zip").read_bytes() == b"zip"


def test_copy_bundle_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(install.InstallError, match="not an agent bundle"):
        install.copy_bundle(str(tmp_path), str(dest))


@pytest.mark.parametrize("where", [".", "_internal", ".."])
def test_copy_bundle_refuses_a_target_overlapping_the_bundle(tmp_path: Path, where: str) -> None:
    bundle = _make_bundle(tmp_path)
    with pytest.raises(install.InstallError, match="overlaps the bundle"):
        install.copy_bundle(str(bundle), str(bundle / where))
    assert (bundle / AGENT_EXECUTABLE_NAME).exists()


def test_copy_bundle_refuses_a_missing_target(tmp_path: Path) -> None:
    bundle = _make_bundle(tmp_path)
    with pytest.raises(install.InstallError, match="install target is not a directory"):
        install.copy_bundle(str(bundle), str(tmp_path / "missing"))


def test_copy_bundle_reports_an_unwritable_target_in_one_line(tmp_path: Path) -> None:
    bundle = _make_bundle(tmp_path)
    # /proc refuses new directories even to root, which ignores file modes.
    with pytest.raises(
        install.InstallError, match=r"^/proc/self/.*: cannot install the agent bundle: "
    ):
        install.copy_bundle(str(bundle), "/proc/self")


def test_install_bundle_refuses_to_run_outside_the_bundle() -> None:
    # pytest runs from a Python installation, not from the frozen bundle.
    with pytest.raises(install.InstallError, match="only works from the agent bundle"):
        install.install_bundle("/nonexistent")
