"""Can each workload log in and read what it asks for? Asked of a live Vault.

Per workload, in order (a failed step skips the steps that depend on it):

1. the auth mount exists and is of the method the agent logs in with;
2. the role exists there;
3. it admits the pod: kubernetes roles by bound service-account names and
   namespaces (and ``audience`` for a projected token), JWT roles by
   ``role_type``, ``bound_subject`` and ``bound_audiences``; a ``token_num_uses``
   too small for the agent's calls;
4. its policies grant ``read`` on every path the agent reads (``update`` for a
   ``secret`` call with write data): Vault itself answers, for a short-lived
   probe token that carries exactly the role's policies (see :mod:`.vault`);
5. each KV path holds a secret, read with the probe token, and every field a
   template uses (``.Data.data.KEY``) is in it. Other engines are not read: a
   read of ``database/creds/...`` would issue a credential.

What cannot be known from here (the kubelet's default token's audience, a
namespace selector, JWT ``bound_claims``, a path built at run time) is a
"not checked" warning, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from transformer.doctor.templates import SecretCall, Where
from transformer.doctor.vault import Mount, Probe, Shape, Vault
from transformer.doctor.workloads import TemplateNeed, Workload, template_where
from transformer.pod import annotations as ann
from transformer.problems import WARNING, Problem

READ = "read"
WRITE = "update"
#: Capabilities that allow a read, or what Vault does for a write with data.
_ALLOWS = {READ: {"read", "root"}, WRITE: {"update", "create", "root"}}
#: The fields of a secret response as the template sees it (the agent's _secret_view).
_RESPONSE_FIELDS = ("Data", "LeaseDuration", "LeaseID", "Renewable", "RequestID", "Warnings")
_KV_TYPES = ("kv", "generic")
_LISTED_KEYS = 12


@dataclass
class Gaps:
    """What a setup would have to add so that one workload passes."""

    workload: Workload
    mount_ok: bool = False
    role: dict[str, Any] | None = None  # as Vault holds it; None: missing
    #: (path, capability) pairs the role's policies do not grant.
    ungranted: list[tuple[str, str]] = field(default_factory=list)
    service_account_missing: bool = False
    namespace_missing: bool = False
    audience_missing: bool = False

    @property
    def complete(self) -> bool:
        return (
            self.mount_ok
            and self.role is not None
            and not (
                self.ungranted
                or self.service_account_missing
                or self.namespace_missing
                or self.audience_missing
            )
        )


@dataclass(frozen=True)
class _Use:
    """One call the agent makes, with the annotation (and template place) it comes from."""

    path: str
    capability: str
    need: TemplateNeed
    where: Where | None  # None: the default template of the secret annotation

    def place(self) -> str:
        return "" if self.where is None else f"{template_where(self.need, self.where)}: "


def diagnose(vault: Vault, workloads: Iterable[Workload]) -> tuple[list[Problem], list[Gaps]]:
    """Every problem of every workload, and what each one lacks."""
    problems: list[Problem] = []
    all_gaps: list[Gaps] = []
    mounts: dict[str | None, dict[str, str]] = {}
    for workload in workloads:
        here = vault.in_namespace(workload.vault_namespace)
        if workload.vault_namespace not in mounts:
            mounts[workload.vault_namespace] = here.auth_mounts()
        gaps = Gaps(workload)
        problems += _diagnose(here, mounts[workload.vault_namespace], workload, gaps)
        all_gaps.append(gaps)
    return problems, all_gaps


def _diagnose(
    vault: Vault, mounts: Mapping[str, str], workload: Workload, gaps: Gaps
) -> list[Problem]:
    w = workload
    if w.auth_method == "token":
        return [
            w.problem("not checked: the agent uses a given token, not a role", severity=WARNING)
        ]
    mount_key = ann.PREFIX + "auth-path"
    mount = w.auth_mount.removeprefix("auth/")
    if mount not in mounts:
        listed = ", ".join(f"auth/{name}" for name in sorted(mounts)) or "none"
        return [
            w.problem(
                f"Vault at {vault.address} has no auth mount {w.auth_mount} "
                f"(auth mounts: {listed})",
                mount_key,
            )
        ]
    if mounts[mount] != w.auth_method:
        return [
            w.problem(
                f"{w.auth_mount} is a {mounts[mount]} auth mount, but the agent logs in there "
                f"with {w.auth_method} (set {ann.PREFIX}auth-type or {ann.PREFIX}auth-path)",
                mount_key,
            )
        ]
    gaps.mount_ok = True
    uses = _uses(w)
    role = vault.read(f"{w.auth_mount}/role/{w.role}")
    if role is None:
        gaps.ungranted = list(dict.fromkeys((use.path, use.capability) for use in uses))
        return [w.problem(f"role {w.role!r} does not exist at {w.auth_mount}")]
    gaps.role = role
    problems = _admission_problems(w, role, gaps)
    problems += _token_problems(w, role, uses)
    policies = tuple(
        dict.fromkeys([*(role.get("token_policies") or ()), *(role.get("policies") or ())])
    )
    with vault.as_policies(policies, default=not role.get("token_no_default_policy")) as probe:
        capabilities = probe.capabilities(list(dict.fromkeys(use.path for use in uses)))
        readable: list[_Use] = []
        for use in uses:
            granted = capabilities.get(use.path, ["deny"])
            if _ALLOWS[use.capability] & set(granted):
                if use.capability == READ:
                    readable.append(use)
                continue
            if (use.path, use.capability) not in gaps.ungranted:
                gaps.ungranted.append((use.path, use.capability))
                names = ", ".join(policies) or "none"
                problems.append(
                    w.problem(
                        f"{use.place()}role {w.role!r} at {w.auth_mount} cannot {use.capability} "
                        f"{use.path}: its policies ({names}) grant {', '.join(granted)}",
                        use.need.annotation,
                    )
                )
        problems += _content_problems(probe, w, readable)
    return problems


def _uses(w: Workload) -> list[_Use]:
    """Every ``secret`` call of the templates, in order. A secret annotation without a
    template gets the default one, which reads the annotation's path."""
    uses = []
    for need in w.templates:
        own_template = need.annotation.startswith(ann.TEMPLATE_PREFIX)
        for call in need.use.calls if need.use is not None else ():
            capability = WRITE if call.write else READ
            uses.append(_Use(call.path, capability, need, call.where if own_template else None))
    return uses


def _admits(patterns: Iterable[str], value: str) -> bool:
    """Vault's bound-list match: ``*`` alone, or a leading and/or trailing ``*`` glob
    (go-secure-stdlib strutil.StrListContainsGlob, which the auth plugins use)."""
    for pattern in patterns:
        if pattern == "*" or pattern == value:
            return True
        if "*" in pattern:
            core = pattern.strip("*")
            if pattern.startswith("*") and pattern.endswith("*"):
                matched = core in value
            elif pattern.startswith("*"):
                matched = value.endswith(core)
            elif pattern.endswith("*"):
                matched = value.startswith(core)
            else:
                matched = False
            if matched:
                return True
    return False


def _admission_problems(w: Workload, role: Mapping[str, Any], gaps: Gaps) -> list[Problem]:
    if w.auth_method == "kubernetes":
        return _kubernetes_admission(w, role, gaps)
    return _jwt_admission(w, role, gaps)


def _not_checked(w: Workload, what: str) -> Problem:
    return w.problem(f"not checked: {what}", severity=WARNING)


def _kubernetes_admission(w: Workload, role: Mapping[str, Any], gaps: Gaps) -> list[Problem]:
    problems = []
    name = f"role {w.role!r} at {w.auth_mount}"
    names = [str(n) for n in role.get("bound_service_account_names") or ()]
    if not _admits(names, w.service_account):
        gaps.service_account_missing = True
        problems.append(
            w.problem(
                f"{name} does not admit service account {w.service_account!r} "
                f"(bound_service_account_names: {', '.join(names) or 'none'})"
            )
        )
    namespaces = [str(n) for n in role.get("bound_service_account_namespaces") or ()]
    selector = role.get("bound_service_account_namespace_selector")
    if not w.namespace:
        if not _admits(namespaces, "\0"):  # admits every namespace only through "*"
            problems.append(
                _not_checked(w, f"whether {name} admits the pod's namespace: the manifest names "
                             "none (pass --namespace)")
            )  # fmt: skip
    elif not _admits(namespaces, w.namespace):
        if selector:
            problems.append(
                _not_checked(w, f"whether {name} admits namespace {w.namespace!r} through its "
                             f"namespace selector {selector!r} (the selector matches labels "
                             "only the cluster knows)")
            )  # fmt: skip
        else:
            gaps.namespace_missing = True
            problems.append(
                w.problem(
                    f"{name} does not admit namespace {w.namespace!r} "
                    f"(bound_service_account_namespaces: {', '.join(namespaces) or 'none'})"
                )
            )
    audience = role.get("audience")
    if audience:
        if w.audience is None:
            problems.append(_default_token_audience(w, name, str(audience)))
        elif w.audience != audience:
            gaps.audience_missing = True
            problems.append(
                w.problem(
                    f"{name} wants tokens for audience {audience!r}, but the pod's projected "
                    f"token is for {w.audience!r} (platform setting tokenAudience)"
                )
            )
    return problems


def _default_token_audience(w: Workload, name: str, wanted: str) -> Problem:
    return _not_checked(
        w,
        f"whether the pod's token has an audience {name} accepts ({wanted}): the pod uses "
        "the kubelet's default token, whose audience is the cluster's API server's",
    )


def _jwt_admission(w: Workload, role: Mapping[str, Any], gaps: Gaps) -> list[Problem]:
    problems = []
    name = f"role {w.role!r} at {w.auth_mount}"
    role_type = role.get("role_type") or "oidc"
    if role_type != "jwt":
        problems.append(
            w.problem(f"{name} is an {role_type} role: a service-account login needs role_type=jwt")
        )
    subject = role.get("bound_subject")
    if subject:
        if not w.namespace:
            problems.append(
                _not_checked(w, f"whether {name}'s bound_subject {subject!r} is the pod's: the "
                             "manifest names no namespace (pass --namespace)")
            )  # fmt: skip
        elif subject != w.subject:
            gaps.service_account_missing = True
            problems.append(
                w.problem(f"{name} admits only {subject!r} (bound_subject), not {w.subject!r}")
            )
    if role.get("bound_claims"):
        problems.append(
            _not_checked(w, f"{name}'s bound_claims (claims only the cluster's token issuer sets)")
        )
    audiences = [str(a) for a in role.get("bound_audiences") or ()]
    if not audiences:
        gaps.audience_missing = True
        problems.append(
            w.problem(
                f"{name} has no bound_audiences: Vault refuses every service-account token "
                "(they carry an aud claim)"
            )
        )
    elif w.audience is None:
        problems.append(_default_token_audience(w, name, ", ".join(audiences)))
    elif w.audience not in audiences:
        gaps.audience_missing = True
        problems.append(
            w.problem(
                f"{name} accepts audiences {', '.join(audiences)}, but the pod's projected "
                f"token is for {w.audience!r} (platform setting tokenAudience)"
            )
        )
    return problems


def _token_problems(w: Workload, role: Mapping[str, Any], uses: list[_Use]) -> list[Problem]:
    """The auth mode: what the token the role issues must allow the agent to do.

    Batch tokens are fine (the agent's revoke of one fails with a warning only; it
    ends with its TTL)."""
    uses_allowed = int(role.get("token_num_uses") or 0)
    # The agent also prefetches each annotation's path, used or not.
    calls = len({(use.path, use.capability) for use in uses} | {(p, READ) for p in w.read_paths()})
    problems = []
    if 0 < uses_allowed < calls:
        problems.append(
            w.problem(
                f"role {w.role!r} at {w.auth_mount} issues tokens good for {uses_allowed} "
                f"use(s) (token_num_uses), but the agent makes {calls} Vault call(s)"
            )
        )
    cidrs = [str(c) for c in role.get("token_bound_cidrs") or ()]
    if cidrs:
        problems.append(
            _not_checked(
                w,
                f"whether the pod's address is in role {w.role!r}'s token_bound_cidrs "
                f"({', '.join(cidrs)}): only the cluster knows pod addresses",
            )
        )
    return problems


def _content_problems(probe: Probe, w: Workload, readable: list[_Use]) -> list[Problem]:
    """Does each readable KV path hold a secret with the fields the templates use?"""
    problems: list[Problem] = []
    shapes: dict[str, Shape | None] = {}
    for use in readable:
        if use.path in shapes:
            continue
        mount = probe.mount_of(use.path)
        if mount is None:
            shapes[use.path] = None
            problems.append(
                w.problem(
                    f"{use.place()}no secrets engine is mounted at {use.path}", use.need.annotation
                )
            )
            continue
        if mount.type not in _KV_TYPES:
            shapes[use.path] = None
            problems.append(
                w.problem(
                    f"{use.place()}not checked: whether {use.path} exists ({mount.type} engine at "
                    f"{mount.path}: a read could issue a credential)",
                    use.need.annotation,
                    severity=WARNING,
                )
            )
            continue
        wrong = _kv2_path_problem(mount, use.path)
        shape = None if wrong else probe.shape(use.path)
        shapes[use.path] = shape
        if wrong or shape is None:
            message = wrong or f"no secret at {use.path}"
            problems.append(w.problem(f"{use.place()}{message}", use.need.annotation))
    for need in w.templates:
        for call in need.use.reads() if need.use is not None else ():
            shape = shapes.get(call.path)
            if shape is not None:
                problems += _field_problems(w, need, call, shape)
    return problems


def _kv2_path_problem(mount: Mount, path: str) -> str:
    if mount.version != "2":
        return ""
    rest = path.removeprefix(mount.path)
    if rest.startswith("data/"):
        return ""
    return (
        f"{path} is on a KV version 2 mount ({mount.path}): the agent must read "
        f"{mount.path}data/{rest} (and its keys are under .Data.data)"
    )


def _field_problems(
    w: Workload, need: TemplateNeed, call: SecretCall, shape: Shape
) -> list[Problem]:
    problems = []
    view: Shape = dict.fromkeys(_RESPONSE_FIELDS)
    view["Data"] = shape
    for chain, where in call.fields.items():
        node: Any = view
        for depth, name in enumerate(chain):
            if not isinstance(node, dict):
                break  # a value, not a mapping: nothing more to know without it
            if name not in node:
                reached = "." + ".".join(chain[:depth]) if depth else "the response"
                keys = sorted(node)
                listed = ", ".join(keys[:_LISTED_KEYS]) + (
                    ", ..." if len(keys) > _LISTED_KEYS else ""
                )
                problems.append(
                    w.problem(
                        f"{template_where(need, where)}: .{'.'.join(chain)}: {reached} of "
                        f"{call.path} has no key {name!r} (keys: {listed or 'none'})",
                        need.annotation,
                    )
                )
                break
            node = node[name]
    return problems
