"""`vault-exec-agent install DEST`: copy the running bundle into the shared emptyDir.

This is the init container's whole command, so the agent image needs no shell
(no `cp`). The app container then mounts DEST read-only at BUNDLE_MOUNT_PATH,
where the bundle's patched ELF interpreter and rpath expect it.

Not on the app's start-up path, so shutil's import cost does not matter here.
"""

from __future__ import annotations

import os
import shutil
import sys

from transformer.agent.contract import AGENT_EXECUTABLE_NAME
from transformer.agent.errors import AgentError

#: Staging directory inside DEST. Entries are renamed out of it one by one, the
#: executable last, so a bundle whose executable exists is always complete, even
#: if an earlier attempt of the init container died half-way.
STAGING_NAME = ".vault-exec-install.tmp"

#: Modes that let any UID (the app container's runAsUser is not ours to know)
#: read and run the bundle, and nobody but the owner change it.
DIR_MODE = 0o755
EXEC_MODE = 0o755
FILE_MODE = 0o644


class InstallError(AgentError):
    """The bundle cannot be installed; str() is one clear line for the user."""


def bundle_source_dir() -> str:
    """The bundle directory the running agent belongs to."""
    if not getattr(sys, "frozen", False):
        raise InstallError(
            "install only works from the agent bundle (dist/vault-exec-agent/vault-exec-agent); "
            "this agent runs from a Python installation"
        )
    return os.path.dirname(os.path.realpath(sys.executable))


def install_bundle(dest: str) -> None:
    """Copy the running bundle into DEST, which must be an existing directory."""
    copy_bundle(bundle_source_dir(), dest)


def _is_executable(name: str, st: os.stat_result) -> bool:
    # Shared objects get the x bit too: a few loaders and security policies insist on it.
    return bool(st.st_mode & 0o111) or name.endswith(".so") or ".so." in name


def _copy_tree(src: str, dst: str) -> None:
    os.mkdir(dst, DIR_MODE)
    os.chmod(dst, DIR_MODE)  # mkdir's mode is filtered by the umask
    with os.scandir(src) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            target = os.path.join(dst, entry.name)
            if entry.is_symlink():
                # PyInstaller links inside the bundle (relative targets): keep them links.
                os.symlink(os.readlink(entry.path), target)
            elif entry.is_dir():
                _copy_tree(entry.path, target)
            else:
                shutil.copyfile(entry.path, target)
                mode = EXEC_MODE if _is_executable(entry.name, entry.stat()) else FILE_MODE
                os.chmod(target, mode)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def copy_bundle(source: str, dest: str) -> None:
    """Copy the bundle directory SOURCE into DEST (replacing an earlier copy).

    Everything is first copied into DEST/STAGING_NAME, then each top-level entry
    is renamed into DEST, the executable last.
    """
    if not os.path.isfile(os.path.join(source, AGENT_EXECUTABLE_NAME)):
        raise InstallError(f"{source}: not an agent bundle (no {AGENT_EXECUTABLE_NAME})")
    if not os.path.isdir(dest):
        raise InstallError(f"{dest}: install target is not a directory")
    real_source, real_dest = os.path.realpath(source), os.path.realpath(dest)
    if os.path.commonpath([real_source, real_dest]) in (real_source, real_dest):
        # Copying into itself would first delete the running agent's own files.
        raise InstallError(f"{dest}: install target overlaps the bundle at {source}")
    staging = os.path.join(dest, STAGING_NAME)
    try:
        # An earlier copy stops looking complete before any part of it is replaced.
        _remove(os.path.join(dest, AGENT_EXECUTABLE_NAME))
        _remove(staging)  # left behind by an attempt that died
        _copy_tree(source, staging)
        names = sorted(os.listdir(staging), key=lambda n: (n == AGENT_EXECUTABLE_NAME, n))
        for name in names:
            target = os.path.join(dest, name)
            _remove(target)
            os.rename(os.path.join(staging, name), target)
        os.rmdir(staging)
    except OSError as exc:
        where = exc.filename or dest
        raise InstallError(f"{where}: cannot install the agent bundle: {exc.strerror}") from None
