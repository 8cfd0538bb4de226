"""What deleting a provider config removes (SPEC §3), pure.

Used both by ``GET …/delete-impact`` and by the delete itself, so the preview always lists
exactly what the delete does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chatgate.cascade.defaults import DefaultCandidate, choose_default
from chatgate.resolve import ProviderFacts, provider_visible_to_users


class ModelLike(DefaultCandidate, Protocol):
    @property
    def provider_config_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class DeletePlan:
    bound: tuple[uuid.UUID, ...]  # live models bound to the deleted config
    unbound: tuple[uuid.UUID, ...]  # live unbound models of a family left with nothing usable
    new_default: uuid.UUID | None  # the model promoted to default, None when unchanged

    @property
    def removed(self) -> tuple[uuid.UUID, ...]:
        return self.bound + self.unbound


def family_usable_without(
    target: ProviderFacts, family_providers: Sequence[ProviderFacts], has_deployment_key: bool
) -> bool:
    """Whether the family still has something usable once ``target`` is gone: an enabled
    config with an effective central key or allowing user keys, or a deployment key."""
    if has_deployment_key:
        return True
    return any(
        p.id != target.id
        and p.family == target.family
        and p.enabled
        and provider_visible_to_users(p, has_deployment_key)
        for p in family_providers
    )


def plan_provider_delete(
    target: ProviderFacts,
    family_providers: Sequence[ProviderFacts],
    live_models: Sequence[ModelLike],
    has_deployment_key: bool,
) -> DeletePlan:
    bound = tuple(m.id for m in live_models if m.provider_config_id == target.id)
    unbound: tuple[uuid.UUID, ...] = ()
    if not family_usable_without(target, family_providers, has_deployment_key):
        unbound = tuple(
            m.id for m in live_models if m.provider_config_id is None and m.family == target.family
        )
    removed = set(bound) | set(unbound)
    current = next((m.id for m in live_models if m.is_default), None)
    remaining = [m for m in live_models if m.id not in removed]
    chosen = choose_default(remaining)
    return DeletePlan(bound, unbound, None if chosen == current else chosen)
