"""``--print-setup`` / ``--apply``: exactly the missing roles and policies, least privilege.

One plan serves both: it is printed as Vault CLI commands, and ``--apply`` writes
the same steps (and nothing else) through :mod:`.vault`. Per role (auth mount +
role name), the plan adds:

* a policy ``vault-exec-<mount>-<role>`` with one ``path`` block per secret path
  the role cannot use, ``read`` only (``update`` for a ``secret`` call with write
  data); an existing policy of that name keeps its text and gets the new blocks;
* a missing role, bound to exactly the workloads' service accounts, namespaces
  and token audience, with that policy; or, for an existing role, the policy, the
  service accounts, namespaces or JWT audiences it lacks added to its lists (a
  role write updates only the fields it names).

What a setup must not decide (an auth mount to enable and configure, a secret's
values, an audience only the cluster knows) is a comment in the output instead.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transformer.doctor.checks import READ, Gaps
from transformer.doctor.vault import Vault

POLICY_PREFIX = "vault-exec-"
_HEREDOC = "VAULT_EXEC_POLICY"


@dataclass(frozen=True)
class PolicyWrite:
    name: str
    rules: str
    namespace: str | None = None


@dataclass(frozen=True)
class RoleWrite:
    path: str  # auth/kubernetes/role/api
    fields: tuple[tuple[str, str], ...]  # Vault parses comma-separated lists
    namespace: str | None = None


@dataclass(frozen=True)
class Note:
    text: str


Step = PolicyWrite | RoleWrite | Note


@dataclass
class _Role:
    """Everything the workloads of one (Vault namespace, mount, role) need."""

    namespace: str | None
    mount: str
    name: str
    method: str
    existing: dict[str, Any] | None
    workloads: list[str] = field(default_factory=list)
    service_accounts: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    audiences: list[str | None] = field(default_factory=list)
    ungranted: list[tuple[str, str]] = field(default_factory=list)
    add_accounts: bool = False
    add_namespaces: bool = False
    add_audience: bool = False
    unknown_namespace: bool = False


def policy_name(mount: str, role: str) -> str:
    return POLICY_PREFIX + "-".join(part for part in (*mount.split("/")[1:], role) if part)


def plan_setup(vault: Vault, all_gaps: Iterable[Gaps]) -> list[Step]:
    """The steps that would make every workload of ``all_gaps`` pass (nothing is written)."""
    steps: list[Step] = []
    roles: dict[tuple[str | None, str, str], _Role] = {}
    for gaps in all_gaps:
        w = gaps.workload
        label = w.resource.signature() if w.resource is not None else w.filename
        if w.auth_method == "token" or gaps.complete:
            continue
        if not gaps.mount_ok:
            steps.append(
                Note(
                    f"{label}: auth mount {w.auth_mount} ({w.auth_method}) is missing or of "
                    "another type: enabling and configuring it is the platform's setup, not "
                    "done here"
                )
            )
            continue
        key = (w.vault_namespace, w.auth_mount, w.role)
        role = roles.get(key)
        if role is None:
            role = roles[key] = _Role(
                w.vault_namespace, w.auth_mount, w.role, w.auth_method, gaps.role
            )
        role.workloads.append(label)
        role.service_accounts.append(w.service_account)
        if w.namespace:
            role.namespaces.append(w.namespace)
        else:
            role.unknown_namespace = True
        role.audiences.append(w.audience)
        role.ungranted += [gap for gap in gaps.ungranted if gap not in role.ungranted]
        role.add_accounts |= gaps.service_account_missing
        role.add_namespaces |= gaps.namespace_missing
        role.add_audience |= gaps.audience_missing
    for role in roles.values():
        steps += _role_steps(vault.in_namespace(role.namespace), role)
    return steps


def _role_steps(vault: Vault, role: _Role) -> list[Step]:
    title = Note(f"role {role.name!r} at {role.mount}, for {', '.join(role.workloads)}")
    steps: list[Step] = [title]
    policies: list[str] = []
    if role.ungranted:
        name = policy_name(role.mount, role.name)
        existing = vault.policy(name)
        blocks = [_block(path, capability) for path, capability in role.ungranted]
        rules = (existing.rstrip("\n") + "\n\n" if existing else "") + "\n".join(blocks)
        steps.append(PolicyWrite(name, rules, role.namespace))
        policies.append(name)
    path = f"{role.mount}/role/{role.name}"
    audiences = list(dict.fromkeys(a for a in role.audiences if a is not None))
    if role.existing is None:
        if role.unknown_namespace:
            return [
                *steps,
                Note(
                    f"not creating role {role.name!r}: a workload names no namespace "
                    "(pass --namespace)"
                ),
            ]
        if role.method == "jwt" and (None in role.audiences or not audiences):
            return [
                *steps,
                Note(
                    f"not creating role {role.name!r}: a pod uses the kubelet's default token, "
                    "whose audience (bound_audiences) only the cluster knows"
                ),
            ]
        subjects = {(ns, sa) for ns, sa in zip(role.namespaces, role.service_accounts, strict=True)}
        if role.method == "kubernetes" and len(audiences) > 1:
            return [*steps, Note(f"not creating role {role.name!r}: pods want {audiences}")]
        if role.method == "jwt" and len(subjects) > 1:
            return [
                *steps,
                Note(
                    f"not creating role {role.name!r}: one JWT role binds one subject "
                    f"(bound_subject), and {len(subjects)} service accounts use it"
                ),
            ]
        steps.append(RoleWrite(path, _new_role(role, policies, audiences), role.namespace))
        return steps
    changes = _role_changes(role, policies, audiences)
    steps += changes
    return steps


def _block(path: str, capability: str) -> str:
    capabilities = '["read"]' if capability == READ else '["update"]'
    return f"path {json.dumps(path)} {{\n  capabilities = {capabilities}\n}}\n"


def _joined(items: Iterable[str]) -> str:
    return ",".join(dict.fromkeys(items))


def _new_role(
    role: _Role, policies: Sequence[str], audiences: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    if role.method == "kubernetes":
        fields = [
            ("bound_service_account_names", _joined(role.service_accounts)),
            ("bound_service_account_namespaces", _joined(role.namespaces)),
        ]
        if audiences:
            fields.append(("audience", audiences[0]))
    else:
        namespace, account = role.namespaces[0], role.service_accounts[0]
        fields = [
            ("role_type", "jwt"),
            ("user_claim", "sub"),
            ("bound_subject", f"system:serviceaccount:{namespace}:{account}"),
        ]
        fields.append(("bound_audiences", _joined(audiences)))
    fields.append(("token_policies", _joined(policies)))
    return tuple(fields)


def _role_changes(role: _Role, policies: Sequence[str], audiences: Sequence[str]) -> list[Step]:
    existing = role.existing or {}
    fields: list[tuple[str, str]] = []
    notes: list[Step] = []

    def extended(key: str, new: Iterable[str]) -> str:
        return _joined([*(str(v) for v in existing.get(key) or ()), *new])

    if policies:
        fields.append(("token_policies", extended("token_policies", policies)))
    if role.method == "kubernetes":
        if role.add_accounts:
            fields.append(
                ("bound_service_account_names", extended("bound_service_account_names",
                                                         role.service_accounts))
            )  # fmt: skip
        if role.add_namespaces:
            fields.append(
                ("bound_service_account_namespaces", extended("bound_service_account_namespaces",
                                                              role.namespaces))
            )  # fmt: skip
        if role.add_audience:
            notes.append(
                Note(
                    f"role {role.name!r} wants audience {existing.get('audience')!r}; pods use "
                    f"{', '.join(audiences)}: change one of them (not done here)"
                )
            )
    else:
        if role.add_accounts:
            notes.append(
                Note(
                    f"role {role.name!r} is bound to subject {existing.get('bound_subject')!r}; "
                    "rebinding it would lock that one out (not done here)"
                )
            )
        if role.add_audience and audiences:
            fields.append(("bound_audiences", extended("bound_audiences", audiences)))
    steps: list[Step] = list(notes)
    if fields:
        steps.append(RoleWrite(f"{role.mount}/role/{role.name}", tuple(fields), role.namespace))
    return steps


# ---- output and application --------------------------------------------------


def setup_script(steps: Sequence[Step], cli: str = "vault") -> str:
    """The steps as shell commands for the ``vault`` (or ``bao``) CLI."""
    if not any(isinstance(step, PolicyWrite | RoleWrite) for step in steps):
        notes = "".join(f"# {step.text}\n" for step in steps if isinstance(step, Note))
        return notes + "# nothing to set up\n"
    lines = [
        "#!/bin/sh",
        "# vault-exec doctor --print-setup: the missing roles and policies",
        "set -e",
    ]
    for step in steps:
        if isinstance(step, Note):
            lines += ["", f"# {step.text}"]
        elif isinstance(step, PolicyWrite):
            words = [cli, "policy", "write", *_namespace_flag(step.namespace), step.name, "-"]
            lines += [
                f"{shlex.join(words)} <<'{_HEREDOC}'",
                step.rules.rstrip("\n"),
                _HEREDOC,
            ]
        else:
            words = [cli, "write", *_namespace_flag(step.namespace), step.path]
            words += [f"{key}={value}" for key, value in step.fields]
            lines.append(shlex.join(words))
    return "\n".join(lines) + "\n"


def _namespace_flag(namespace: str | None) -> list[str]:
    return [f"-namespace={namespace}"] if namespace else []


def apply_setup(vault: Vault, steps: Sequence[Step]) -> None:
    """Write exactly the steps (those :func:`setup_script` printed), in order."""
    for step in steps:
        if isinstance(step, PolicyWrite):
            vault.in_namespace(step.namespace).write_policy(step.name, step.rules)
        elif isinstance(step, RoleWrite):
            vault.in_namespace(step.namespace).write(step.path, dict(step.fields))
