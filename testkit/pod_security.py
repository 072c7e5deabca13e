"""A checker of the Pod Security Standards "restricted" profile, for the fields we touch.

Kubernetes enforces the profile in the API server (pod-security admission), which cannot run
here; this is a small re-statement of its rules (kubernetes.io/docs/concepts/security/
pod-security-standards, "Restricted", v1.25+) limited to what a pod spec alone decides:
host namespaces, privileged, capabilities, hostPath/volume types, privilege escalation,
non-root, seccomp. Each violation is (container name or "pod", rule), so the violations of
an input and of its rendered output can be compared as sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Restricted: only these volume types.
ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
        "image",
    }
)
# Restricted: the only capability that may be added (after dropping ALL).
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})

Violation = tuple[str, str]


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or []


def violations(spec: Mapping[str, Any]) -> set[Violation]:
    """The restricted-profile rules a pod spec breaks."""
    found: set[Violation] = set()
    pod_context = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.add(("pod", f"host namespace: {field}"))
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            found.add(("pod", f"volume type: {sorted(kinds - ALLOWED_VOLUME_TYPES)}"))
    pod_non_root = pod_context.get("runAsNonRoot")
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if pod_context.get("runAsUser") == 0:
        found.add(("pod", "runAsUser: 0"))
    if pod_seccomp is not None and pod_seccomp not in ALLOWED_SECCOMP:
        found.add(("pod", f"seccomp: {pod_seccomp}"))
    for container in _containers(spec):
        name = str(container.get("name"))
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.add((name, "privileged"))
        if context.get("allowPrivilegeEscalation") is not False:
            found.add((name, "allowPrivilegeEscalation != false"))
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.add((name, "capabilities: drop does not hold ALL"))
        if not set(capabilities.get("add") or []) <= ALLOWED_ADDED_CAPABILITIES:
            found.add((name, "capabilities: adds more than NET_BIND_SERVICE"))
        non_root = context.get("runAsNonRoot", pod_non_root)
        if non_root is not True:
            found.add((name, "runAsNonRoot != true"))
        if context.get("runAsUser") == 0:
            found.add((name, "runAsUser: 0"))
        seccomp = (context.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ALLOWED_SECCOMP:
            found.add((name, f"seccomp: {seccomp}"))
        if any(port.get("hostPort") for port in container.get("ports") or []):
            found.add((name, "hostPort"))
    return found
