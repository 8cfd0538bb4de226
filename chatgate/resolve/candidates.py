"""Candidate provider configs of a model config for one user (SPEC §5, §6, §9)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from uuid import UUID

from chatgate.families import UNSUPPORTED_FAMILIES
from chatgate.resolve.facts import (
    DEPLOYMENT_ONLY_UNBOUND_FAMILIES,
    FamilyFacts,
    KeySource,
    KeySourceClass,
    KeyUnavailableReason,
    ModelFacts,
    ProviderFacts,
    UnavailableReason,
    by_precedence,
)
from chatgate.resolve.keys import KeyChoice, key_source_class, resolve_key


@dataclass(frozen=True, slots=True)
class Candidate:
    """One way to serve a request: a config with the key source it would use.

    ``provider`` is ``None`` for the family's deployment key on the family's default base
    URL (§5 case 4, and unbound models in openai-compat).
    """

    provider: ProviderFacts | None
    key_source: KeySource

    def __post_init__(self) -> None:
        if self.provider is None and self.key_source != "deployment":
            raise ValueError("a candidate without a provider config uses the deployment key")
        if (
            self.provider is not None
            and self.key_source == "deployment"
            and self.provider.base_url != ""
        ):
            raise ValueError("a deployment key is only sent to the family's default base URL")

    @property
    def key_source_class(self) -> KeySourceClass:
        return key_source_class(self.key_source)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Candidates in attempt order, or why there are none (exactly one of the two)."""

    candidates: tuple[Candidate, ...]
    unavailable_reason: UnavailableReason | None

    def __post_init__(self) -> None:
        if bool(self.candidates) == (self.unavailable_reason is not None):
            raise ValueError("a Resolution has candidates or an unavailable_reason, not both")

    @property
    def available(self) -> bool:
        return bool(self.candidates)


def _unavailable(reason: UnavailableReason) -> Resolution:
    return Resolution((), reason)


def _deployment_only(family_facts: FamilyFacts) -> Resolution:
    if family_facts.has_deployment_key:
        return Resolution((Candidate(None, "deployment"),), None)
    return _unavailable("missing_api_key")


def _reason_without_candidates(reasons: list[KeyUnavailableReason]) -> UnavailableReason:
    # §6 priority. provider_disabled reaches here only from a disabled bound config:
    # unbound resolution drops disabled configs before resolving keys.
    if "provider_disabled" in reasons:
        return "provider_disabled"
    if "user_api_key_required" in reasons:
        return "user_api_key_required"
    return "missing_api_key"


def _from_key_choices(choices: list[tuple[ProviderFacts, KeyChoice]]) -> Resolution:
    """Apply the key-source class rule to per-config choices already in precedence order.

    The first available choice fixes the class; a user key makes exactly one attempt, a
    shared key may fail over to later shared-key configs only (never onto a user's key).
    """
    candidates: list[Candidate] = []
    for provider, choice in choices:
        if choice.source is None:
            continue
        candidate = Candidate(provider, choice.source)
        if not candidates:
            candidates.append(candidate)
            if candidate.key_source_class == "user":
                break
        elif candidate.key_source_class == candidates[0].key_source_class:
            candidates.append(candidate)
    if candidates:
        return Resolution(tuple(candidates), None)
    return _unavailable(
        _reason_without_candidates([c.reason for _, c in choices if c.reason is not None])
    )


def resolve(
    model: ModelFacts, family_facts: FamilyFacts, user_key_config_ids: Set[UUID]
) -> Resolution:
    """Candidates for one model config and one user (the ids of configs they hold a key for).

    A binding to a config that no longer exists (model configs carry no foreign key, §2) is
    reported as ``missing_api_key``: a binding means that config only, so siblings are never
    used in its place (as with a disabled binding), and the config that held its keys is gone.
    Live models bound to a deleted config are soft-deleted with it, so this is seen only
    transiently, e.g. by a snapshot built between the two.
    """
    if model.family != family_facts.family:
        raise ValueError(f"model is {model.family!r}, family facts are {family_facts.family!r}")
    if not model.enabled:
        return _unavailable("model_disabled")
    if model.family in UNSUPPORTED_FAMILIES:
        return _unavailable("family_not_supported")

    deployment = family_facts.has_deployment_key
    if model.provider_config_id is not None:
        bound = next((p for p in family_facts.providers if p.id == model.provider_config_id), None)
        if bound is None:
            return _unavailable("missing_api_key")
        choice = resolve_key(
            bound, user_has_key=bound.id in user_key_config_ids, has_deployment_key=deployment
        )
        return _from_key_choices([(bound, choice)])

    if model.family in DEPLOYMENT_ONLY_UNBOUND_FAMILIES or not family_facts.providers:
        return _deployment_only(family_facts)
    enabled = [p for p in by_precedence(family_facts.providers) if p.enabled]
    if not enabled:
        return _unavailable("provider_disabled")
    return _from_key_choices(
        [
            (
                p,
                resolve_key(
                    p, user_has_key=p.id in user_key_config_ids, has_deployment_key=deployment
                ),
            )
            for p in enabled
        ]
    )
