"""Small manifests the tests build on: one opted-in Pod, with room for more."""

from __future__ import annotations

#: A Pod that opts in (exec mode, role, one secret); ``EXTRA_ANNOTATION`` and
#: ``EXTRA_CONTAINER`` are where a test adds lines (each ending in a newline, or "").
OPTED_IN_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    vault.hashicorp.com/agent-inject: "true"
    vault.hashicorp.com/agent-run-as-sidecar: "false"
    vault.hashicorp.com/role: web
    vault.hashicorp.com/agent-inject-secret-a: secret/data/a
EXTRA_ANNOTATIONspec:
  containers:
  - name: web
    image: web
    command: [/web]
EXTRA_CONTAINER"""


def opted_in_pod(annotations: str = "", container: str = "") -> str:
    """:data:`OPTED_IN_POD` with ``annotations`` and ``container`` lines added."""
    return OPTED_IN_POD.replace("EXTRA_ANNOTATION", annotations).replace(
        "EXTRA_CONTAINER", container
    )
