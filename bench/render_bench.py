"""Benchmark `vault-exec render` against the floors the issue sets, in one run.

Big stream: 1,000 podinfo-like releases = 10,000 documents, 1,000 opted-in Deployments.
  (a) libyaml floor: `yaml.load_all(stream, CSafeLoader)` + `yaml.dump_all(docs, CSafeDumper)`,
      in this process (no interpreter start-up counted: the stricter floor);
  (b) `vault-exec render` on the same stream, a fresh process, wall time;
  ratio b/a, target <= 1.0.
One release: the 10-document podinfo release.
  (c) import floor: `python -c "import ruamel.yaml, jsonschema, click"`, a fresh process;
  (d) `vault-exec render` of the release, a fresh process;
  ratio d/c, target <= 1.3.
Optional peer: kustomize (`kubectl kustomize`) doing the same injection with JSON 6902
patches, on a slice of the big stream, scaled to 1,000 releases.

Repetitions of the compared measurements are interleaved (a, b, a, b, ...) so drift on a
shared machine hits both sides; medians are reported. The stream is generated from the stored
real podinfo output with a fixed seed, so every run measures the same bytes.

Usage: python -m bench.render_bench [--releases 1000] [--repeat 3] [--small-repeat 15]
                                    [--kustomize-releases 100] [--no-kustomize]
       python -m bench.render_bench --profile [--releases N]   (where render spends its time)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PODINFO = REPO / "fixtures" / "external" / "podinfo-6.14.1-rendered.yaml"
SEED = 20261130
INJECTED_MARK = "vault.hashicorp.com/agent-inject-status: injected"
VAULT_ADDR = "https://vault.platform.example:8200"
IMPORT_FLOOR_CODE = "import ruamel.yaml, jsonschema, click"


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str


def make_releases(count: int, seed: int = SEED) -> list[Release]:
    """Release names and namespaces, the same for a given seed."""
    rng = random.Random(seed)
    teams = ["apps", "payments", "search", "identity", "billing", "edge", "data", "ml"]
    return [Release(f"r{index:04d}", f"{rng.choice(teams)}-{rng.randrange(40):02d}")
            for index in range(count)]  # fmt: skip


def release_stream(template: str, release: Release) -> str:
    """The podinfo output re-targeted at another release name and namespace.

    Every object name gets the release's prefix (the service account too), so the stream is
    a valid kustomize input (no duplicate ids) as well as a post-renderer input.
    """
    return (
        template.replace("demo-podinfo", f"{release.name}-podinfo")
        .replace("serviceAccountName: podinfo", f"serviceAccountName: {release.name}-podinfo")
        .replace("metadata:\n  name: podinfo\n", f"metadata:\n  name: {release.name}-podinfo\n")
        .replace("namespace: apps", f"namespace: {release.namespace}")
        .replace(".apps:", f".{release.namespace}:")
    )


def big_stream(template: str, releases: Sequence[Release]) -> str:
    return "".join(release_stream(template, release) for release in releases)


def find_vault_exec() -> str:
    beside_python = Path(sys.executable).with_name("vault-exec")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("vault-exec")
    if found is None:
        sys.exit("render_bench: no vault-exec console script (pip install -e . first)")
    return found


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def libyaml_floor(stream: str) -> None:
    documents = list(yaml.load_all(stream, Loader=yaml.CSafeLoader))
    yaml.dump_all(documents, Dumper=yaml.CSafeDumper)


FLOOR_PROCESS_CODE = (
    "import sys, yaml; documents = list(yaml.load_all(sys.stdin.read(), Loader=yaml.CSafeLoader));"
    " sys.stdout.write(yaml.dump_all(documents, Dumper=yaml.CSafeDumper))"
)


def run_floor_process(stream_file: Path, out_file: Path) -> None:
    """The floor as a process of its own (start-up and I/O included), for reference."""
    with stream_file.open("rb") as stdin, out_file.open("wb") as stdout:
        subprocess.run([sys.executable, "-c", FLOOR_PROCESS_CODE], stdin=stdin, stdout=stdout,
                       check=True)  # fmt: skip


def run_render(vault_exec: str, stream_file: Path, out_file: Path) -> None:
    with stream_file.open("rb") as stdin, out_file.open("wb") as stdout:
        result = subprocess.run(
            [vault_exec, "render", "--vault-addr", VAULT_ADDR],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            check=False,
        )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()[:5]
        sys.exit(f"render_bench: vault-exec render failed ({result.returncode}): {message}")


def run_import_floor() -> None:
    subprocess.run([sys.executable, "-c", IMPORT_FLOOR_CODE], check=True)


def check_injections(out_file: Path, expected: int) -> None:
    found = out_file.read_text(encoding="utf-8").count(INJECTED_MARK)
    if found != expected:
        sys.exit(f"render_bench: expected {expected} injected pod templates, found {found}")


# --- kustomize peer -------------------------------------------------------------------------


def injection_patch(deployment: dict[str, object]) -> list[dict[str, object]]:
    """JSON 6902 operations doing the pod-contract injection on one podinfo Deployment."""
    template = deployment["spec"]["template"]  # type: ignore[index]
    container = template["spec"]["containers"][0]
    config = json.dumps({"version": 1, "role": "podinfo", "secrets": ["secret/data/apps/podinfo"]})
    hardened = {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return [
        {"op": "add", "path": "/spec/template/metadata/annotations/"
         "vault.hashicorp.com~1agent-inject-status", "value": "injected"},
        {"op": "add", "path": "/spec/template/spec/initContainers", "value": [{
            "name": "vault-exec-install",
            "image": "ghcr.io/vault-exec/vault-exec-agent:0.1.0",
            "command": ["/vault-exec-agent", "install", "/vault-exec-target"],
            "volumeMounts": [{"name": "vault-exec", "mountPath": "/vault-exec-target"}],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                          "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": hardened,
        }]},
        {"op": "add", "path": "/spec/template/spec/volumes/-",
         "value": {"name": "vault-exec", "emptyDir": {}}},
        {"op": "replace", "path": "/spec/template/spec/containers/0/command",
         "value": ["/vault-exec/vault-exec-agent", "run", "--", *container["command"]]},
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-",
         "value": {"name": "VAULT_EXEC_CONFIG", "value": config}},
        {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
         "value": {"name": "vault-exec", "mountPath": "/vault-exec", "readOnly": True}},
    ]  # fmt: skip


def write_kustomization(directory: Path, stream: str) -> int:
    """A kustomization holding the stream and one JSON patch per opted-in Deployment."""
    (directory / "stream.yaml").write_text(stream, encoding="utf-8")
    patches = []
    for document in yaml.load_all(stream, Loader=yaml.CSafeLoader):
        annotations = (
            document.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations")
            or {}
        )
        if (
            document.get("kind") == "Deployment"
            and annotations.get("vault.hashicorp.com/agent-inject") == "true"
        ):
            patches.append({
                "target": {"kind": "Deployment", "name": document["metadata"]["name"],
                           "namespace": document["metadata"]["namespace"]},
                "patch": json.dumps(injection_patch(document)),
            })  # fmt: skip
    kustomization = {"resources": ["stream.yaml"], "patches": patches}
    (directory / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    return len(patches)


def run_kustomize(kubectl: str, directory: Path) -> str:
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"render_bench: kubectl kustomize failed: {result.stderr.strip()[:300]}")
    return result.stdout


def profile_render(stream: str) -> None:
    """cProfile of `transformer.pipeline.render` on the stream, top functions by total time."""
    import cProfile
    import pstats

    from transformer.options import options_from_mapping
    from transformer.pipeline import render

    options = options_from_mapping({"vaultAddr": VAULT_ADDR})
    profiler = cProfile.Profile()
    profiler.runcall(render, stream, options)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


# --- report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def seconds(values: Sequence[float]) -> str:
    return f"{statistics.median(values):8.3f} s  (min {min(values):.3f}, max {max(values):.3f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions, big stream")
    parser.add_argument("--small-repeat", type=int, default=15, help="repetitions, one release")
    parser.add_argument("--kustomize-releases", type=int, default=100)
    parser.add_argument("--no-kustomize", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="only profile an in-process render of the stream"
    )
    args = parser.parse_args(argv)

    vault_exec = find_vault_exec()
    template = PODINFO.read_text(encoding="utf-8")
    releases = make_releases(args.releases)
    stream = big_stream(template, releases)
    if args.profile:
        profile_render(stream)
        return 0
    documents = stream.count("\n---\n") + stream.startswith("---\n")
    print(f"machine: {machine()}")
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"stream:  {len(releases)} releases, {documents} documents, {len(stream):,} bytes")

    with tempfile.TemporaryDirectory(prefix="render-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        stream_file = scratch / "stream.yaml"
        stream_file.write_text(stream, encoding="utf-8")
        one_file = scratch / "one.yaml"
        one_file.write_text(release_stream(template, releases[0]), encoding="utf-8")
        out_file = scratch / "out.yaml"

        floor_times: list[float] = []
        floor_process_times: list[float] = []
        render_times: list[float] = []
        floor_out = scratch / "floor-out.yaml"
        for _ in range(args.repeat):
            floor_times.append(timed(lambda: libyaml_floor(stream)))
            floor_process_times.append(timed(lambda: run_floor_process(stream_file, floor_out)))
            render_times.append(timed(lambda: run_render(vault_exec, stream_file, out_file)))
        check_injections(out_file, len(releases))

        import_times: list[float] = []
        one_times: list[float] = []
        run_import_floor()  # warm the page cache for both sides before measuring
        run_render(vault_exec, one_file, out_file)
        for _ in range(args.small_repeat):
            import_times.append(timed(run_import_floor))
            one_times.append(timed(lambda: run_render(vault_exec, one_file, out_file)))
        check_injections(out_file, 1)

        kustomize_scaled: float | None = None
        kubectl = Path(sys.executable).with_name("kubectl")
        if not args.no_kustomize and kubectl.exists():
            slice_releases = releases[: args.kustomize_releases]
            kustomize_dir = scratch / "kustomize"
            kustomize_dir.mkdir()
            patched = write_kustomization(kustomize_dir, big_stream(template, slice_releases))
            output = run_kustomize(str(kubectl), kustomize_dir)
            if output.count("agent-inject-status: injected") != patched:
                sys.exit("render_bench: kustomize did not apply every patch")
            kustomize_time = statistics.median(
                timed(lambda: run_kustomize(str(kubectl), kustomize_dir))
                for _ in range(min(args.repeat, 3))
            )
            kustomize_scaled = kustomize_time * len(releases) / len(slice_releases)

    # The stricter of the two floors: in this process no start-up is paid, but on a busy
    # machine the in-process run has measured slower than the fresh process; the ratio is
    # taken against whichever is faster, so it never flatters render.
    floor = min(statistics.median(floor_times), statistics.median(floor_process_times))
    render = statistics.median(render_times)
    imports = statistics.median(import_times)
    one = statistics.median(one_times)
    print()
    print(f"big stream ({len(releases)} releases, medians of {args.repeat}):")
    print(f"  (a) libyaml load+dump floor  {seconds(floor_times)}")
    print(f"      same, as a process       {seconds(floor_process_times)}")
    print(f"  (b) vault-exec render        {seconds(render_times)}")
    if kustomize_scaled is not None:
        print(
            f"      kustomize (peer)         {kustomize_scaled:8.3f} s  "
            f"(median of {min(args.repeat, 3)} on {args.kustomize_releases} releases, "
            "scaled linearly: a lower bound)"
        )
    print(f"one release (10 documents, medians of {args.small_repeat}):")
    print(f"  (c) import floor             {seconds(import_times)}")
    print(f"  (d) vault-exec render        {seconds(one_times)}")
    print()
    big_ratio = render / floor
    small_ratio = one / imports
    print(
        f"RATIO big   b/a = {big_ratio:.2f}   (target <= 1.0)  {verdict(big_ratio, 1.0)}"
        f"   [a = the faster floor, {floor:.3f} s]"
    )
    print(f"RATIO small d/c = {small_ratio:.2f}   (target <= 1.3)  {verdict(small_ratio, 1.3)}")
    return 0


def verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
