"""Which models a member may see (SPEC §6)."""

from __future__ import annotations

from chatgate.resolve.facts import (
    DEPLOYMENT_ONLY_UNBOUND_FAMILIES,
    FamilyFacts,
    ModelFacts,
    ProviderFacts,
)
from chatgate.resolve.keys import has_effective_api_key


def provider_visible_to_users(config: ProviderFacts, has_deployment_key: bool) -> bool:
    """§6: a config is visible when it allows user keys or has an effective central key.

    Deliberately independent of ``enabled``: a model bound to a visible but disabled config
    is still listed, as ``provider_disabled``.
    """
    return config.allow_user_api_key or has_effective_api_key(config, has_deployment_key)


def model_visible_to_member(model: ModelFacts, family_facts: FamilyFacts) -> bool:
    """§6: whether a member sees this model in their lists (availability aside).

    Disabled models are never shown to members (§6 lists enabled models; §9 treats them as
    unknown). (a) bound: the bound config exists and is visible; (b) unbound: some enabled
    config of the family is visible; (c) unbound, the family has no config at all and a
    deployment key exists. In openai-compat unbound models are served only by the
    deployment key (§5), so there (c) ignores whatever configs exist and (b) does not apply.
    """
    if model.family != family_facts.family:
        raise ValueError(f"model is {model.family!r}, family facts are {family_facts.family!r}")
    if not model.enabled:
        return False
    deployment = family_facts.has_deployment_key
    if model.provider_config_id is not None:
        return any(
            p.id == model.provider_config_id and provider_visible_to_users(p, deployment)
            for p in family_facts.providers
        )
    if model.family in DEPLOYMENT_ONLY_UNBOUND_FAMILIES or not family_facts.providers:
        return deployment
    return any(
        p.enabled and provider_visible_to_users(p, deployment) for p in family_facts.providers
    )
