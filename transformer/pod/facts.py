"""What the whole stream says about a pod that its own object does not (pure).

A pod's ServiceAccount can turn the token automount off (``automountServiceAccountToken:
false``); the pod spec alone does not show it, but the agent needs a token to log in, so
such a pod gets a projected one. Every front end gathers these facts over the whole
stream first (:mod:`transformer.pipeline`), then injects object by object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from transformer.problems import Resource

_AUTOMOUNT = "automountServiceAccountToken"


@dataclass(frozen=True)
class StreamFacts:
    """Facts of one stream. ``tokenless_service_accounts``: (namespace, name) of the
    ServiceAccounts that turn the token automount off."""

    tokenless_service_accounts: frozenset[tuple[str, str]] = frozenset()

    @staticmethod
    def may_state(text: str) -> bool:
        """Could this document's text state a fact? (Only those are loaded to find out.)"""
        return _AUTOMOUNT in text and "ServiceAccount" in text

    @classmethod
    def of(cls, documents: Iterable[object]) -> StreamFacts:
        """The facts the loaded ``documents`` (and the items of their Lists) state."""
        tokenless: set[tuple[str, str]] = set()
        for document in documents:
            items = document.get("items") if isinstance(document, Mapping) else None
            for obj in [document, *(items if isinstance(items, list) else [])]:
                resource = Resource.of(obj)
                if (
                    isinstance(obj, Mapping)
                    and resource is not None
                    and (resource.api_version, resource.kind) == ("v1", "ServiceAccount")
                    and obj.get(_AUTOMOUNT) is False
                ):
                    tokenless.add((resource.namespace, resource.name))
        return cls(frozenset(tokenless))

    def token_mounted(self, namespace: str, service_account: str) -> bool:
        """Does the kubelet mount this account's token into its pods (absent a pod's own word)?"""
        return (namespace, service_account) not in self.tokenless_service_accounts


#: A stream that states nothing: what an object injected on its own gets.
NO_FACTS = StreamFacts()
