"""Reliability suite: rollout storms of host-mode agents against real OpenBao.

Starts, on loopback only, a 3-node OpenBao raft cluster (real ``bao server``
processes, raft storage, initialised, unsealed, joined) and a single dev
server, provisions both (KV v2 secret, JWT auth with a service-token role and a
batch-token role), and runs scenarios of N agents started at once:

* ``storm``   — N agents at once, per auth mode, dev server and cluster;
* ``leader``  — N agents at once on the cluster, the raft leader SIGKILLed
  while they start;
* ``quota``   — a rate-limit quota that rejects most of the storm (429);
* ``outage``  — Vault unreachable at start and back after 5 s; unreachable
  past the agents' deadline;
* ``cost``    — Vault-side cost per pod start by mode: requests, tokens and
  leases left, raft index delta (storage writes) per start.

Every agent is ``python -S -m transformer.agent run -- APP`` (the agent's own
start-up, no site-packages, like the bundle) with its own service-account JWT.
APP is a static C program that prints CLOCK_MONOTONIC at its first
instruction and the bytes of each secret variable, so the suite checks that
every app that started got byte-exact secrets, and measures spawn -> exec.

Agents reach Vault through the suite's loopback TCP balancer (what a
Kubernetes Service is for a pod): it forwards each connection to the next
node that accepts one, so a killed node is skipped; in an outage it stops
listening (connection refused), as a Service without endpoints does.

    python -m bench.reliability [--agents 20] [--scenarios storm,leader,quota,outage,cost]
        [--json FILE] [--plots DIR]

Bounded: every agent has a deadline (``retry.timeout_seconds``), every wait
here has a timeout, every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._startup_common import build_static
from testkit import REPO as ROOT
from testkit.openbao import (
    AUDIENCE,
    NAMESPACE,
    POLICY,
    POLICY_HCL,
    SERVICE_ACCOUNT,
    ServiceAccountIssuer,
    find_bao,
    free_port_pair,
    start_dev_server,
)

SECRET_PATH = "secret/data/app/storm"
SECRET = {
    "PEM": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBBBB==\n"
    "-----END PRIVATE KEY-----\n",
    "EQUALS": "a=b==c",
    "UNICODE": "ünïcødé ✓ 日本語",
    "TRAILING": "line\n",
}
TEMPLATE = (
    f'{{{{- with secret "{SECRET_PATH}" -}}}}{{{{- range $k, $v := .Data.data }}}}\n'
    "{{ $k }}={{ $v }}{{- end }}{{- end }}\n"
)

APP_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* Print CLOCK_MONOTONIC at the first instruction, then each named variable's bytes. */
int main(int argc, char **argv) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    for (int i = 1; i < argc; i++) {
        const char *value = getenv(argv[i]);
        if (!value) { printf("%s -1\n", argv[i]); continue; }
        printf("%s %zu\n", argv[i], strlen(value));
        fwrite(value, 1, strlen(value), stdout);
        putchar('\n');
    }
    return 0;
}
"""

BATCH_ROLE = "app-batch"
ROLE = "app"


# ---- Vault's HTTP API, for the suite's own set-up -------------------------------


def api(address: str, method: str, path: str, token: str = "", body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{address}/v1/{path}", data=data, method=method)
    if token:
        request.add_header("X-Vault-Token", token)
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text.strip() else {}


def wait_health(address: str, accept: tuple[int, ...], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=2) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        if status in accept:
            return status
        time.sleep(0.2)
    raise RuntimeError(f"{address} not healthy ({accept}) within {timeout} s")


def provision(address: str, token: str, issuer: ServiceAccountIssuer) -> None:
    """KV v2 secret, the policy, JWT auth with a service-token and a batch-token role."""
    mounts = api(address, "GET", "sys/mounts", token)
    if "secret/" not in mounts.get("data", mounts):
        api(address, "POST", "sys/mounts/secret", token, {"type": "kv", "options": {"version": 2}})
    api(address, "PUT", "sys/policies/acl/" + POLICY, token, {"policy": POLICY_HCL})
    api(address, "POST", "sys/auth/jwt", token, {"type": "jwt"})
    api(
        address, "POST", "auth/jwt/config", token, {"jwt_validation_pubkeys": [issuer.public_pem()]}
    )
    for role, token_type in ((ROLE, "service"), (BATCH_ROLE, "batch")):
        api(
            address,
            "POST",
            f"auth/jwt/role/{role}",
            token,
            {
                "role_type": "jwt",
                "user_claim": "sub",
                "bound_subject": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                "bound_audiences": [AUDIENCE],
                "token_policies": [POLICY],
                "token_type": token_type,
                "token_ttl": "10m",
                # per-pod attribution in the audit log (docs/reliability.md)
                "claim_mappings": {"jti": "jti", "sub": "service_account"},
            },
        )
    for attempt in range(50):  # KV v2 upgrades its mount in the background
        try:
            api(address, "POST", SECRET_PATH, token, {"data": SECRET})
            return
        except urllib.error.HTTPError:
            time.sleep(0.2 * (attempt + 1))
    raise RuntimeError("could not write the storm secret")


# ---- a 3-node raft cluster --------------------------------------------------------


NODE_HCL = """\
disable_mlock = true
api_addr = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"
storage "raft" {{
  path = "{data}"
  node_id = "node{number}"
{join}}}
telemetry {{
  prometheus_retention_time = "1h"
  disable_hostname = true
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable = true
}}
"""


@dataclass
class Node:
    number: int
    address: str
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


@dataclass
class Cluster:
    nodes: list[Node]
    root_token: str
    unseal_key: str

    def live(self) -> list[Node]:
        return [node for node in self.nodes if node.process.poll() is None]

    def leader(self) -> Node:
        for node in self.live():
            try:
                with urllib.request.urlopen(f"{node.address}/v1/sys/health", timeout=2) as answer:
                    if answer.status == 200:
                        return node
            except (urllib.error.HTTPError, OSError):
                continue
        raise RuntimeError("no active node")

    def raft_index(self) -> int:
        state = api(
            self.leader().address, "GET", "sys/storage/raft/autopilot/state", self.root_token
        )
        return max(server["last_index"] for server in state["data"]["servers"].values())

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            try:
                node.process.wait(15)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()


def start_cluster(workdir: Path, issuer: ServiceAccountIssuer) -> Cluster:
    bao = find_bao()
    ports = [free_port_pair() for _ in range(3)]
    nodes = []
    for number, port in enumerate(ports, 1):
        data = workdir / f"node{number}"
        data.mkdir(parents=True)
        join = (
            ""
            if number == 1
            else f'  retry_join {{ leader_api_addr = "http://127.0.0.1:{ports[0]}" }}\n'
        )
        config = workdir / f"node{number}.hcl"
        config.write_text(
            NODE_HCL.format(port=port, cluster_port=port + 1, data=data, number=number, join=join)
        )
        with open(workdir / f"node{number}.log", "wb") as log:
            process = subprocess.Popen(
                [bao, "server", f"-config={config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
            )
        nodes.append(Node(number, f"http://127.0.0.1:{port}", process))
    first = nodes[0].address
    wait_health(first, (501,))  # up, not initialised
    init = api(first, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 1})
    key, root = init["keys"][0], init["root_token"]
    api(first, "PUT", "sys/unseal", body={"key": key})
    wait_health(first, (200,))
    for node in nodes[1:]:
        wait_health(node.address, (501, 503), 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # retry_join needs a moment before unseal works
            try:
                api(node.address, "PUT", "sys/unseal", body={"key": key})
                break
            except urllib.error.HTTPError:
                time.sleep(0.5)
        wait_health(node.address, (429, 473), 90)  # standby
    cluster = Cluster(nodes, root, key)
    provision(first, root, issuer)
    for node in nodes:  # standbys serve KV v2 reads once they see the upgraded mount
        deadline = time.monotonic() + 60
        while True:
            try:
                api(node.address, "GET", SECRET_PATH, root)
                break
            except urllib.error.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    return cluster


# ---- the balancer: a Kubernetes Service stand-in ---------------------------------


class Balancer:
    """Loopback TCP forwarder: each connection to the next node that accepts one.

    Counts connections (= requests: the agent sends one per connection).
    ``down()`` stops listening (connection refused), ``up()`` listens again.
    ``hold()`` keeps new connections waiting until ``release()``: the whole
    storm then reaches Vault at the same moment (spawning N processes on this
    machine takes seconds, a rollout's pods start in parallel).
    """

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = [
            (u.split("//")[1].split(":")[0], int(u.rsplit(":", 1)[1])) for u in upstreams
        ]
        self.port = free_port_pair()
        self.address = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._next = 0
        self._loop = asyncio.new_event_loop()
        self._open: asyncio.Event | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.up()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def up(self) -> None:
        async def start() -> None:
            if self._server is not None:
                return  # listening already
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, backlog=1024, reuse_address=True
            )

        self._run(start())

    def hold(self) -> None:
        async def close_gate() -> None:
            self._open = asyncio.Event()

        self._run(close_gate())

    def release(self) -> None:
        async def open_gate() -> None:
            if self._open is not None:
                self._open.set()
                self._open = None

        self._run(open_gate())

    def down(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None

        self._run(stop())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._open is not None:
            await asyncio.wait_for(self._open.wait(), 60)
        upstream = None
        for _ in range(len(self.upstreams)):
            host, port = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
                break
            except (TimeoutError, OSError):
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# ---- agents -----------------------------------------------------------------------


@dataclass
class Outcome:
    spawned: float
    exited: float = 0.0
    status: int | None = None
    exec_at: float | None = None  # the app's first instruction (CLOCK_MONOTONIC)
    secrets_ok: bool = False
    stderr: str = ""

    @property
    def to_exec_ms(self) -> float | None:
        return None if self.exec_at is None else (self.exec_at - self.spawned) * 1000

    @property
    def exit_s(self) -> float:
        return self.exited - self.spawned


@dataclass
class StormResult:
    name: str
    agents: int
    deadline: float
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        started = [o for o in self.outcomes if o.exec_at is not None]
        good = [o for o in started if o.secrets_ok]
        failed = [o for o in self.outcomes if o.exec_at is None]
        one_line = all(o.stderr.count("\n") == 1 for o in failed)
        latencies = sorted(o.to_exec_ms for o in good if o.to_exec_ms is not None)
        late = [o for o in self.outcomes if o.exit_s > self.deadline + 1]
        return {
            "scenario": self.name,
            "agents": self.agents,
            "started_with_secrets": len(good),
            "started_without_secrets": len(started) - len(good),
            "failed": len(failed),
            "failed_with_one_line": one_line,
            "within_deadline": sum(1 for o in good if (o.to_exec_ms or 0) <= self.deadline * 1000),
            "exited_after_deadline_plus_1s": len(late),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1)
            if latencies
            else None,
            "max_exit_s": round(max(o.exit_s for o in self.outcomes), 2) if self.outcomes else None,
            "slowest_ms": [round(x) for x in latencies[-5:]],
            "failure_lines": sorted({o.stderr.strip()[:200] for o in failed})[:3],
            "requests": self.requests,
            "requests_per_agent": round(self.requests / self.agents, 2) if self.agents else None,
            **self.extra,
        }


def parse_app_output(data: bytes) -> tuple[float | None, dict[str, str]]:
    if not data:
        return None, {}
    first, _, rest = data.partition(b"\n")
    values: dict[str, str] = {}
    while rest:
        header, _, rest = rest.partition(b"\n")
        name, _, size_text = header.decode().partition(" ")
        size = int(size_text)
        if size < 0:
            continue
        values[name] = rest[:size].decode("utf-8")
        rest = rest[size + 1 :]
    return int(first) / 1e9, values


class Fleet:
    """Spawns agents and reaps them; one service-account JWT per agent.

    Host mode: ``python -S -m transformer.agent`` in front of APP. With
    ``rootfs`` set (see :func:`bundle_fleet`): the frozen bundle as PID 1 of a
    distroless root filesystem (testkit/rootfs.py), APP at /server.
    """

    def __init__(
        self,
        workdir: Path,
        app: Path,
        issuer: ServiceAccountIssuer,
        rootfs: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.app = app
        self.issuer = issuer
        self.rootfs = rootfs
        self.serial = 0

    def _argv_and_token(self, folder: Path) -> tuple[list[str], Path, str]:
        """(argv after the config env is set, host path of the JWT, its path for the agent)."""
        if self.rootfs is None:
            argv = [sys.executable, "-S", "-m", "transformer.agent", "run", "--", str(self.app)]
            token = folder / "token"
            return [*argv, *SECRET], token, str(token)
        token = self.rootfs / "tokens" / folder.name
        return [], token, f"/tokens/{folder.name}"

    def _command(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        if self.rootfs is None:
            return argv, env
        from testkit import rootfs
        from transformer.agent.contract import AGENT_EXECUTABLE

        container = rootfs.Container(
            root=str(self.rootfs),
            argv=[AGENT_EXECUTABLE, "run", "--", "/server", *SECRET],
            env={"PATH": "/", "VAULT_EXEC_CONFIG": env["VAULT_EXEC_CONFIG"]},
            uid=65532,
            gid=65532,
        )
        return rootfs.command(container), dict(container.env)

    def storm(
        self,
        name: str,
        address: str,
        count: int,
        *,
        mode: str,
        role: str = ROLE,
        deadline: float = 30,
        during: Any = None,
    ) -> StormResult:
        """Start COUNT agents at once; ``during(i)`` runs after spawning agent i."""
        result = StormResult(name, count, deadline)
        runs = []
        for _ in range(count):
            self.serial += 1
            folder = self.workdir / f"agent{self.serial:05d}"
            folder.mkdir()
            argv, token_file, token_path = self._argv_and_token(folder)
            token_file.write_text(self.issuer.mint())
            token_file.chmod(0o644)
            config = {
                "version": 1,
                "vault": {"address": address},
                "auth": {
                    "method": "jwt",
                    "role": role,
                    "token_path": token_path,
                    "mode": mode,
                },
                "retry": {"timeout_seconds": deadline, "max_retries": 30},
                "templates": [{"name": "env", "path": SECRET_PATH, "template": TEMPLATE}],
            }
            env = {
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": str(ROOT),
                "VAULT_EXEC_CONFIG": json.dumps(config),
            }
            runs.append((folder, *self._command(argv, env)))
        processes = []
        for index, (folder, argv, env) in enumerate(runs):
            with open(folder / "out", "wb") as out, open(folder / "err", "wb") as err:
                spawned = time.monotonic()
                process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=folder)
            outcome = Outcome(spawned)
            processes.append((process, outcome, folder))
            if during is not None:
                during(index)
        give_up = time.monotonic() + deadline + 30
        for process, outcome, folder in processes:
            try:
                process.wait(max(0.1, give_up - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            outcome.status = process.returncode
            outcome.exec_at, values = parse_app_output((folder / "out").read_bytes())
            outcome.exited = _exit_time(folder, outcome)
            outcome.secrets_ok = values == SECRET
            outcome.stderr = (folder / "err").read_text(errors="replace")
            result.outcomes.append(outcome)
            shutil.rmtree(folder)
        return result


def _exit_time(folder: Path, outcome: Outcome) -> float:
    # The err file's last write is when the agent said its line; else the app ran.
    if outcome.exec_at is not None:
        return outcome.exec_at
    err = folder / "err"
    wall_to_mono = time.monotonic() - time.time()
    return err.stat().st_mtime + wall_to_mono if err.stat().st_size else time.monotonic()


# ---- Vault-side cost ---------------------------------------------------------------


def count_tokens(address: str, root: str) -> int:
    return len(api(address, "LIST", "auth/token/accessors", root)["data"]["keys"])


def count_leases(address: str, root: str) -> int:
    try:
        listed = api(address, "LIST", "sys/leases/lookup/auth/jwt/login/", root)
    except urllib.error.HTTPError:
        return 0
    return len(listed.get("data", {}).get("keys", []))


# ---- scenarios ---------------------------------------------------------------------


def scenario_storm(
    fleet: Fleet, dev: Balancer, cluster: Cluster, lb: Balancer, n: int
) -> list[StormResult]:
    results = []
    for mode in ("inline", "standard"):
        for where, balancer in (("dev", dev), ("cluster", lb)):
            start = balancer.connections
            result = fleet.storm(f"storm {where} {mode}", balancer.address, n, mode=mode)
            result.requests = balancer.connections - start
            results.append(result)
    return results


def scenario_leader(fleet: Fleet, cluster: Cluster, lb: Balancer, n: int) -> list[StormResult]:
    leader = cluster.leader()
    killed: list[float] = []

    def kill_midway(index: int) -> None:
        if index == n // 2 and not killed:
            leader.process.kill()
            killed.append(time.monotonic())

    start = lb.connections
    result = fleet.storm("leader killed (inline)", lb.address, n, mode="inline", during=kill_midway)
    result.requests = lb.connections - start
    result.extra["killed_node"] = f"node{leader.number}"
    return [result]


def scenario_quota(
    fleet: Fleet, cluster: Cluster, lb: Balancer, n: int, rate: float
) -> list[StormResult]:
    address, root = cluster.leader().address, cluster.root_token
    # Retry-After and X-Ratelimit-* on 429s (off by default in OpenBao)
    api(address, "POST", "sys/quotas/config", root, {"enable_rate_limit_response_headers": True})
    quota = {"path": "secret/", "rate": rate, "interval": "1s"}
    api(address, "POST", "sys/quotas/rate-limit/storm", root, quota)
    lb.hold()  # the storm arrives at once: the quota rejects most of it

    def release_when_all_spawned(index: int) -> None:
        if index == n - 1:
            lb.release()

    try:
        start = lb.connections
        result = fleet.storm(
            f"quota {rate:g}/s/node (inline)",
            lb.address,
            n,
            mode="inline",
            deadline=60,
            during=release_when_all_spawned,
        )
        result.requests = lb.connections - start
        result.extra["quota_rate_per_s_per_node"] = rate
    finally:
        lb.release()
        api(address, "DELETE", "sys/quotas/rate-limit/storm", root)
    return [result]


def scenario_outage(fleet: Fleet, lb: Balancer, n: int) -> list[StormResult]:
    """Unreachable at the start and back after 5 s (deadline 30 s); unreachable for
    the whole storm (deadline 5 s: every agent must give up by 6 s)."""
    results = []
    for name, down_for, deadline in (
        ("outage 5 s, back", 5.0, 30.0),
        ("outage past deadline", None, 5.0),
    ):
        lb.down()
        timer = threading.Timer(down_for, lb.up) if down_for is not None else None
        if timer is not None:
            timer.start()
        try:
            start = lb.connections
            result = fleet.storm(name, lb.address, n, mode="inline", deadline=deadline)
            result.requests = lb.connections - start
            result.extra["down_for_s"] = down_for if down_for is not None else "whole storm"
            results.append(result)
        finally:
            if timer is not None:
                timer.join()
            lb.up()
    return results


def scenario_cost(fleet: Fleet, cluster: Cluster, lb: Balancer, n: int) -> list[StormResult]:
    """Per mode, N starts; storage writes per start = the leader's raft apply count
    over the storm, read once the count has settled (it is published with a lag)."""
    results = []
    address, root = cluster.leader().address, cluster.root_token
    modes = (
        ("standard", "standard", ROLE),
        ("inline", "inline", ROLE),
        ("batch", "standard", BATCH_ROLE),
    )
    for label, mode, role in modes:
        tokens, leases = count_tokens(address, root), count_leases(address, root)
        index = settled_raft_index(cluster)
        start = lb.connections
        result = fleet.storm(f"cost {label}", lb.address, n, mode=mode, role=role)
        result.requests = lb.connections - start
        writes = settled_raft_index(cluster) - index
        result.extra.update(
            mode=label,
            tokens_left=count_tokens(address, root) - tokens,
            leases_left=count_leases(address, root) - leases,
            raft_writes=writes,
            raft_writes_per_start=round(writes / n, 2),
        )
        results.append(result)
    return results


def settled_raft_index(cluster: Cluster, timeout: float = 20) -> int:
    """The raft apply count once two readings 1.5 s apart agree (or at the timeout)."""
    deadline = time.monotonic() + timeout
    last = cluster.raft_index()
    while time.monotonic() < deadline:
        time.sleep(1.5)
        now = cluster.raft_index()
        if now == last:
            return now
        last = now
    return last


def scenario_bundle(fleet: Fleet, lb: Balancer, n: int, workdir: Path) -> list[StormResult]:
    """A sample of the storm as it runs in a pod: the frozen bundle in a distroless rootfs."""
    bundled = bundle_fleet(fleet, workdir)
    start = lb.connections
    result = bundled.storm("bundle in rootfs (inline)", lb.address, min(n, 20), mode="inline")
    result.requests = lb.connections - start
    return [result]


def bundle_fleet(fleet: Fleet, workdir: Path) -> Fleet:
    """The bundle (``make agent-bundle``, built when stale) in an app rootfs with APP at /server."""
    from distroless import ensure_bundle, rootfs

    from transformer.agent.contract import BUNDLE_MOUNT_PATH

    root = rootfs.make_app_rootfs(workdir / "rootfs", fleet.app, mount_points=["/tokens"])
    shutil.copytree(ensure_bundle(), root / BUNDLE_MOUNT_PATH.lstrip("/"), symlinks=True)
    (root / "tokens").chmod(0o755)
    return Fleet(fleet.workdir, fleet.app, fleet.issuer, rootfs=root)


# ---- output ----------------------------------------------------------------------

TABLE_COLUMNS = (
    ("scenario", "scenario"),
    ("agents", "agents"),
    ("started with secrets", "started_with_secrets"),
    ("without secrets", "started_without_secrets"),
    ("failed (one line each)", "failed"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
    ("last exit s", "max_exit_s"),
    ("requests/agent", "requests_per_agent"),
)


def markdown_table(summaries: list[dict[str, Any]]) -> str:
    """The summaries as the Markdown table docs/reliability.md shows."""
    lines = [
        "| " + " | ".join(title for title, _ in TABLE_COLUMNS) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    for summary in summaries:
        cells = []
        for _, key in TABLE_COLUMNS:
            value = summary.get(key)
            if key == "failed":
                value = f"{value} ({'yes' if summary['failed_with_one_line'] else 'NO'})"
            cells.append("-" if value is None else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    cost = [s for s in summaries if "raft_writes_per_start" in s]
    if cost:
        lines += [
            "",
            "| mode | requests/start | tokens left | leases left | raft writes/start |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['mode']} | {s['requests_per_agent']} | {s['tokens_left']} | "
            f"{s['leases_left']} | {s['raft_writes_per_start']} |"
            for s in cost
        ]
    return "\n".join(lines)


def plot(results: list[StormResult], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    made = []
    figure, axes = plt.subplots(figsize=(9, 5))
    labels, data = [], []
    for result in results:
        latencies = [
            o.to_exec_ms for o in result.outcomes if o.secrets_ok and o.to_exec_ms is not None
        ]
        if latencies:
            labels.append(result.name)
            data.append(latencies)
    axes.boxplot(data, orientation="horizontal", tick_labels=labels, showfliers=True)
    axes.set_xscale("log")
    axes.set_xlabel("spawn -> exec of the app (ms, log scale)")
    axes.set_title(f"Start-to-exec per scenario ({results[0].agents} agents at once)")
    figure.tight_layout()
    made.append(directory / f"latency-{results[0].agents}.png")
    figure.savefig(made[-1], dpi=110)
    cost = [r for r in results if "raft_writes_per_start" in r.extra]
    if cost:
        figure, axes = plt.subplots(figsize=(6, 4))
        names = [r.extra["mode"] for r in cost]
        axes.bar(
            names, [r.extra["raft_writes_per_start"] for r in cost], color=["#c44", "#4a4", "#48c"]
        )
        axes.set_ylabel("raft index delta per pod start")
        axes.set_title("Storage writes per pod start, by auth mode")
        figure.tight_layout()
        made.append(directory / f"writes-{results[0].agents}.png")
        figure.savefig(made[-1], dpi=110)
    return made


@contextmanager
def environment(
    workdir: Path,
) -> Iterator[tuple[ServiceAccountIssuer, Balancer, Cluster, Balancer, Fleet]]:
    """(issuer, the dev server's balancer, the cluster, its balancer, the fleet)."""
    issuer = ServiceAccountIssuer()
    dev = start_dev_server(workdir / "dev")
    cluster: Cluster | None = None
    lb: Balancer | None = None
    dev_lb: Balancer | None = None
    try:
        provision(dev.address, dev.root_token, issuer)
        dev_lb = Balancer([dev.address])
        cluster = start_cluster(workdir / "raft", issuer)
        lb = Balancer([node.address for node in cluster.nodes])
        app = build_static(workdir, "app", APP_C)
        agents = workdir / "agents"
        agents.mkdir()
        yield issuer, dev_lb, cluster, lb, Fleet(agents, app, issuer)
    finally:
        for balancer in (lb, dev_lb):
            if balancer is not None:
                balancer.close()
        if cluster is not None:
            cluster.stop()
        dev.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--scenarios", default="storm,cost,quota,outage,bundle,leader")
    parser.add_argument("--quota-rate", type=float, default=0.0, help="default: agents / 10 per s")
    parser.add_argument("--json", help="write the summaries to this file")
    parser.add_argument("--plots", help="write matplotlib plots into this directory")
    args = parser.parse_args()
    if not 1 <= args.agents <= 1000:
        parser.error("--agents: 1..1000")
    wanted = args.scenarios.split(",")
    results: list[StormResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="vault-exec-reliability-") as tmp,
        environment(Path(tmp)) as (
            _issuer,
            dev,
            cluster,
            lb,
            fleet,
        ),
    ):
        n = args.agents
        if "storm" in wanted:
            results += scenario_storm(fleet, dev, cluster, lb, n)
        if "cost" in wanted:
            results += scenario_cost(fleet, cluster, lb, n)
        if "quota" in wanted:
            results += scenario_quota(fleet, cluster, lb, n, args.quota_rate or max(2.0, n / 10))
        if "outage" in wanted:
            results += scenario_outage(fleet, lb, n)
        if "bundle" in wanted:
            results += scenario_bundle(fleet, lb, n, Path(tmp))
        if "leader" in wanted:  # last: it leaves the cluster with two nodes
            results += scenario_leader(fleet, cluster, lb, n)
    summaries = [result.summary() for result in results]
    for summary in summaries:
        print(json.dumps(summary))
    print(markdown_table(summaries))
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=2) + "\n")
    if args.plots and results:
        for made in plot(results, Path(args.plots)):
            print(f"plot: {made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
