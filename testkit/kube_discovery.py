"""TEST DOUBLE for the kube-apiserver's discovery endpoints (no cluster runs here).

Helm 3's ``helm install --dry-run=client`` renders client-side but still asks a cluster
for its version and for the resource types it knows (to map each manifest to a REST
resource). This answers exactly those reads on loopback: ``/version``, ``/api``,
``/api/v1``, ``/apis`` and ``/apis/<group>/<version>`` for the kinds the test charts use;
anything else is a 404. Use with ``--kube-apiserver URL --disable-openapi-validation``.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KUBE_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.4", "platform": "linux/amd64"}

#: group/version -> (resource, kind, namespaced)
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("configmaps", "ConfigMap", True),
        ("pods", "Pod", True),
        ("secrets", "Secret", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("services", "Service", True),
        ("namespaces", "Namespace", False),
    ],
    "apps/v1": [("deployments", "Deployment", True), ("statefulsets", "StatefulSet", True)],
    "batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
}


def _resource_list(group_version: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for name, kind, namespaced in RESOURCES[group_version]
        ],
    }


def _answer(path: str) -> dict[str, Any] | None:
    groups = sorted({gv.split("/")[0] for gv in RESOURCES if "/" in gv})
    if path == "/version":
        return KUBE_VERSION
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": group,
                    "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"},
                }
                for group in groups
            ],
        }
    if path == "/api/v1":
        return _resource_list("v1")
    if path.startswith("/apis/") and path[len("/apis/") :] in RESOURCES:
        return _resource_list(path[len("/apis/") :])
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = _answer(self.path.split("?", 1)[0])
        status = 200
        if body is None:
            status = 404
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
        pass


@contextmanager
def discovery_server() -> Iterator[str]:
    """The stub's URL (``http://127.0.0.1:<port>``) while the block runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
