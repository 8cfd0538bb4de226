"""Facts for ``chatgate.resolve`` built from database rows (SPEC §5, §6).

The one place rows become ``ProviderFacts``/``ModelFacts``/``FamilyFacts``, so every caller
(the HTTP API's catalog and key lists; the gateway snapshot may use it too) feeds the pure
resolver the same facts:
- ``has_stored_key`` is "at least one *enabled* pool key", whatever its state (§5);
- a deployment key counts only when the family has a default base URL, the one place it may
  be sent (§1).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Set
from types import MappingProxyType

from chatgate.db.tables import ModelConfig, ProviderConfig
from chatgate.families import FAMILIES
from chatgate.resolve import FamilyFacts, ModelFacts, ProviderFacts
from chatgate.settings import Deployment


def usable_deployment_key(deployment: Deployment, family: str) -> bool:
    """The family's deployment key is set and it has a default base URL to send it to."""
    return deployment.has_key(family) and deployment.default_base_url(family) is not None


def provider_facts(row: ProviderConfig, *, has_stored_key: bool) -> ProviderFacts:
    return ProviderFacts(
        id=row.id,
        family=row.family,
        name=row.name,
        base_url=row.base_url,
        enabled=row.enabled,
        central_api_key_enabled=row.central_api_key_enabled,
        allow_user_api_key=row.allow_user_api_key,
        allow_central_api_key_fallback=row.allow_central_api_key_fallback,
        created_at=row.created_at,
        has_stored_key=has_stored_key,
    )


def model_facts(row: ModelConfig) -> ModelFacts:
    return ModelFacts(
        id=row.id,
        family=row.family,
        provider_config_id=row.provider_config_id,
        enabled=row.enabled,
    )


def family_facts(
    providers: Iterable[ProviderConfig],
    configs_with_enabled_key: Set[uuid.UUID],
    deployment: Deployment,
) -> Mapping[str, FamilyFacts]:
    """``FamilyFacts`` for every family (families without configs included), from all
    provider-config rows and the ids of the configs holding at least one enabled pool key."""
    by_family: dict[str, list[ProviderFacts]] = {family: [] for family in FAMILIES}
    for row in providers:
        by_family[row.family].append(
            provider_facts(row, has_stored_key=row.id in configs_with_enabled_key)
        )
    return MappingProxyType(
        {
            family: FamilyFacts(
                family=family,
                has_deployment_key=usable_deployment_key(deployment, family),
                providers=tuple(configs),
            )
            for family, configs in by_family.items()
        }
    )
