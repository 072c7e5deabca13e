"""What both agent start-up benches share: the static peak-RSS launcher and its build.

Every variant is started through PEAK_RSS, a static C program that forks, execs
the variant, waits for it with ``wait4`` and writes the tree's peak RSS and CPU
time to a report file. A static C program, not this Python: a process forked
from the bench's (40-100 MB) Python inherits its high-water mark at exec, so
``wait4`` from here would report the bench, not the agent. A file, not stdout:
stdout is the app's (the benches read the app's first line from it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Usage: peak_rss REPORT_FILE ARGV...  (ARGV[0] looked up in PATH like a shell would).
#: REPORT_FILE gets "maxrss KIB" and "cpu_us MICROSECONDS" (user+system of the tree).
PEAK_RSS_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    pid_t pid = fork();
    if (pid == 0) { execvp(argv[2], argv + 2); _exit(127); }
    int status; struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) return 2;
    FILE *report = fopen(argv[1], "w");
    if (report == NULL) return 2;
    long cpu_us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L
                  + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    fprintf(report, "maxrss %ld\ncpu_us %ld\n", usage.ru_maxrss, cpu_us);
    fclose(report);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"""


@dataclass(frozen=True)
class LauncherReport:
    maxrss_kib: int
    cpu_ms: float


@dataclass
class Variant:
    """One way of starting the app, and its samples (one per measured round)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    to_app_ms: list[float] = field(default_factory=list)  # spawn -> the app runs
    total_ms: list[float] = field(default_factory=list)  # spawn -> the whole tree exited
    cpu_ms: list[float] = field(default_factory=list)  # user+system of the tree
    maxrss_kib: list[int] = field(default_factory=list)  # the tree's largest process
    app_pid: int | None = None  # as the app reported it (where it does)

    def record(self, to_app_ms: float, total_ms: float, report: LauncherReport) -> None:
        self.to_app_ms.append(to_app_ms)
        self.total_ms.append(total_ms)
        self.cpu_ms.append(report.cpu_ms)
        self.maxrss_kib.append(report.maxrss_kib)


def build_static(workdir: Path, name: str, source_text: str) -> Path:
    """Compile SOURCE_TEXT with ``gcc -static`` into WORKDIR/NAME."""
    if shutil.which("gcc") is None:
        sys.exit("bench: gcc is needed for the static helpers (apt-get install gcc libc6-dev)")
    source = workdir / f"{name}.c"
    source.write_text(source_text)
    binary = workdir / name
    subprocess.run(["gcc", "-static", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def build_peak_rss_launcher(workdir: Path) -> Path:
    return build_static(workdir, "peak_rss", PEAK_RSS_C)


def read_launcher_report(report: Path) -> LauncherReport | None:
    """The launcher's report, or None when it wrote none (it failed before the end)."""
    fields: dict[str, str] = {}
    for line in report.read_text().splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value
    if "maxrss" not in fields or "cpu_us" not in fields:
        return None
    return LauncherReport(int(fields["maxrss"]), int(fields["cpu_us"]) / 1000)
