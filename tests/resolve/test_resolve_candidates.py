"""Candidate selection (SPEC §5), precedence (§1) and member visibility (§6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatgate.resolve import (
    Candidate,
    FamilyFacts,
    KeyChoice,
    ModelFacts,
    ProviderFacts,
    Resolution,
    by_precedence,
    model_visible_to_member,
    precedence_key,
    resolve,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NO_USER_KEYS: frozenset[uuid.UUID] = frozenset()


def provider(n: int, *, family: str = "openai", **overrides: Any) -> ProviderFacts:
    """Config number ``n`` (id = n, created n seconds after T0): central key in its pool."""
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=n),
        "family": family,
        "name": f"{family}-{n}",
        "base_url": "",
        "enabled": True,
        "central_api_key_enabled": True,
        "allow_user_api_key": False,
        "allow_central_api_key_fallback": False,
        "created_at": T0 + timedelta(seconds=n),
        "has_stored_key": True,
    }
    fields.update(overrides)
    return ProviderFacts(**fields)


def user_only(n: int, **overrides: Any) -> ProviderFacts:
    return provider(
        n, central_api_key_enabled=False, allow_user_api_key=True, has_stored_key=False, **overrides
    )


def keyless(n: int, **overrides: Any) -> ProviderFacts:
    """Central keys on, nothing in the pool, custom base URL: no key at all."""
    return provider(n, has_stored_key=False, base_url="https://proxy.example.com/v1", **overrides)


def model(
    binding: uuid.UUID | None = None, *, family: str = "openai", enabled: bool = True
) -> ModelFacts:
    return ModelFacts(uuid.UUID(int=1000), family, binding, enabled)


def family(
    *providers: ProviderFacts, name: str = "openai", deployment: bool = False
) -> FamilyFacts:
    return FamilyFacts(name, deployment, providers)


def served_by(result: Resolution) -> list[tuple[str | None, str]]:
    return [(c.provider.name if c.provider else None, c.key_source) for c in result.candidates]


# --- precedence -------------------------------------------------------------------------


def test_precedence_is_oldest_first_and_ties_on_created_at_break_by_id() -> None:
    old_high_id = provider(9, created_at=T0)
    old_low_id = provider(3, created_at=T0)
    newer = provider(1, created_at=T0 + timedelta(microseconds=1))
    ordered = by_precedence([newer, old_high_id, old_low_id])
    assert ordered == (old_low_id, old_high_id, newer)
    assert precedence_key(old_low_id) == (T0, uuid.UUID(int=3))


def test_by_precedence_returns_a_new_tuple_and_leaves_its_input_alone() -> None:
    configs = [provider(2), provider(1)]
    ordered = by_precedence(configs)
    assert isinstance(ordered, tuple)
    assert configs == [provider(2), provider(1)]


def test_naive_created_at_is_rejected_so_precedence_never_mixes_timezones() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        provider(1, created_at=datetime(2025, 1, 1))  # noqa: DTZ001


# --- bound models -----------------------------------------------------------------------


def test_bound_to_an_enabled_config_uses_that_config_only() -> None:
    bound = provider(2)
    result = resolve(model(bound.id), family(provider(1), bound, provider(3)), NO_USER_KEYS)
    assert served_by(result) == [("openai-2", "central")]
    assert result.available


def test_bound_to_a_disabled_config_is_provider_disabled_without_falling_back_to_a_keyed_sibling() -> (
    None
):
    bound = provider(1, enabled=False)
    result = resolve(model(bound.id), family(bound, provider(2)), NO_USER_KEYS)
    assert result == Resolution((), "provider_disabled")
    assert not result.available


def test_bound_to_a_keyless_config_does_not_borrow_a_siblings_key() -> None:
    bound = keyless(2)
    result = resolve(model(bound.id), family(provider(1), bound, deployment=True), NO_USER_KEYS)
    assert result == Resolution((), "missing_api_key")


def test_bound_to_a_config_that_no_longer_exists_is_missing_api_key_not_a_sibling() -> None:
    gone = uuid.UUID(int=77)
    result = resolve(model(gone), family(provider(1), deployment=True), NO_USER_KEYS)
    assert result == Resolution((), "missing_api_key")


def test_bound_config_with_user_keys_required_reports_it() -> None:
    bound = user_only(1)
    assert resolve(model(bound.id), family(bound), NO_USER_KEYS) == Resolution(
        (), "user_api_key_required"
    )
    assert served_by(resolve(model(bound.id), family(bound), frozenset({bound.id}))) == [
        ("openai-1", "user")
    ]


def test_user_key_for_another_config_does_not_serve_the_bound_one() -> None:
    bound, other = user_only(1), user_only(2)
    result = resolve(model(bound.id), family(bound, other), frozenset({other.id}))
    assert result == Resolution((), "user_api_key_required")


# --- unbound models ---------------------------------------------------------------------


def test_unbound_tries_enabled_configs_in_precedence_order_skipping_disabled_ones() -> None:
    a = provider(5, created_at=T0)
    b = provider(2, created_at=T0)  # same created_at as a, lower id → first
    c = provider(1, created_at=T0 + timedelta(seconds=1))
    off = provider(0, enabled=False, created_at=T0 - timedelta(days=1))
    result = resolve(model(), family(c, a, off, b), NO_USER_KEYS)
    assert served_by(result) == [
        ("openai-2", "central"),
        ("openai-5", "central"),
        ("openai-1", "central"),
    ]


def test_unbound_skips_configs_without_a_key_and_keeps_later_shared_ones() -> None:
    result = resolve(
        model(),
        family(keyless(1), provider(2), provider(3, has_stored_key=False), deployment=True),
        NO_USER_KEYS,
    )
    # config 3 has an empty base_url and no stored key: it uses the deployment key.
    assert served_by(result) == [("openai-2", "central"), ("openai-3", "deployment")]


def test_unbound_in_a_family_whose_configs_are_all_disabled_is_provider_disabled() -> None:
    configs = family(provider(1, enabled=False), user_only(2, enabled=False), deployment=True)
    assert resolve(model(), configs, frozenset({uuid.UUID(int=2)})) == Resolution(
        (), "provider_disabled"
    )


def test_unbound_with_a_disabled_config_and_keyless_enabled_ones_is_missing_api_key() -> None:
    # Disabled configs drop out; provider_disabled is only for a family disabled entirely.
    result = resolve(model(), family(provider(1, enabled=False), keyless(2)), NO_USER_KEYS)
    assert result == Resolution((), "missing_api_key")


def test_unbound_in_a_family_without_configs_uses_the_deployment_key() -> None:
    result = resolve(model(), family(deployment=True), NO_USER_KEYS)
    assert result.candidates == (Candidate(None, "deployment"),)


def test_unbound_in_a_family_without_configs_or_deployment_key_is_missing_api_key() -> None:
    assert resolve(model(), family(), NO_USER_KEYS) == Resolution((), "missing_api_key")


def test_unbound_with_configs_does_not_add_the_bare_deployment_key() -> None:
    # Case 4 applies only when the family has no config at all.
    result = resolve(model(), family(keyless(1), deployment=True), NO_USER_KEYS)
    assert result == Resolution((), "missing_api_key")


def test_without_candidates_user_api_key_required_wins_over_missing_api_key() -> None:
    result = resolve(model(), family(keyless(1), user_only(2), keyless(3)), NO_USER_KEYS)
    assert result == Resolution((), "user_api_key_required")


# --- key-source class rule ---------------------------------------------------------------


def test_central_first_skips_later_configs_where_the_user_has_a_key() -> None:
    mine = user_only(2)
    result = resolve(model(), family(provider(1), mine, provider(3)), frozenset({mine.id}))
    assert served_by(result) == [("openai-1", "central"), ("openai-3", "central")]


def test_user_key_first_makes_exactly_one_candidate() -> None:
    mine = user_only(1)
    fallback_mine = provider(2, allow_user_api_key=True, allow_central_api_key_fallback=True)
    result = resolve(
        model(), family(mine, fallback_mine, provider(3)), frozenset({mine.id, fallback_mine.id})
    )
    assert served_by(result) == [("openai-1", "user")]


def test_unavailable_first_config_does_not_fix_the_class() -> None:
    # Config 1 needs a user key the user lacks; config 2 serves with the user's key, alone.
    mine = user_only(2)
    result = resolve(model(), family(user_only(1), mine, provider(3)), frozenset({mine.id}))
    assert served_by(result) == [("openai-2", "user")]


def test_user_key_beats_central_fallback_on_the_same_config() -> None:
    both = provider(1, allow_user_api_key=True, allow_central_api_key_fallback=True)
    assert served_by(resolve(model(), family(both), frozenset({both.id}))) == [("openai-1", "user")]
    assert served_by(resolve(model(), family(both), NO_USER_KEYS)) == [("openai-1", "central")]


def test_user_key_ignored_where_user_keys_are_not_allowed() -> None:
    central_only = provider(1)
    assert served_by(resolve(model(), family(central_only), frozenset({central_only.id}))) == [
        ("openai-1", "central")
    ]


# --- openai-compat, bedrock, disabled models --------------------------------------------


def test_openai_compat_unbound_uses_only_the_deployment_key_even_with_configs() -> None:
    configs = family(
        provider(1, family="openai-compat", base_url="https://a.example/v1"),
        provider(2, family="openai-compat"),
        name="openai-compat",
        deployment=True,
    )
    result = resolve(model(family="openai-compat"), configs, NO_USER_KEYS)
    assert result.candidates == (Candidate(None, "deployment"),)


def test_openai_compat_unbound_without_deployment_key_is_missing_even_with_keyed_configs() -> None:
    configs = family(
        provider(1, family="openai-compat", base_url="https://a.example/v1"),
        name="openai-compat",
    )
    assert resolve(model(family="openai-compat"), configs, NO_USER_KEYS) == Resolution(
        (), "missing_api_key"
    )


def test_openai_compat_unbound_with_all_configs_disabled_still_uses_the_deployment_key() -> None:
    configs = family(
        provider(1, family="openai-compat", enabled=False),
        name="openai-compat",
        deployment=True,
    )
    result = resolve(model(family="openai-compat"), configs, NO_USER_KEYS)
    assert result.candidates == (Candidate(None, "deployment"),)


def test_openai_compat_bound_uses_its_config() -> None:
    bound = provider(2, family="openai-compat", base_url="https://b.example/v1")
    configs = family(
        provider(1, family="openai-compat"), bound, name="openai-compat", deployment=True
    )
    result = resolve(model(bound.id, family="openai-compat"), configs, NO_USER_KEYS)
    assert served_by(result) == [("openai-compat-2", "central")]


def test_bedrock_models_are_family_not_supported() -> None:
    bedrock = provider(1, family="bedrock")
    configs = family(bedrock, name="bedrock", deployment=True)
    for binding in (bedrock.id, None):
        assert resolve(model(binding, family="bedrock"), configs, NO_USER_KEYS) == Resolution(
            (), "family_not_supported"
        )


def test_disabled_model_is_model_disabled_before_anything_else() -> None:
    configs = family(provider(1, family="bedrock"), name="bedrock")
    assert resolve(model(family="bedrock", enabled=False), configs, NO_USER_KEYS) == Resolution(
        (), "model_disabled"
    )
    off = provider(1, enabled=False)
    assert resolve(model(off.id, enabled=False), family(off), NO_USER_KEYS) == Resolution(
        (), "model_disabled"
    )


# --- value invariants ---------------------------------------------------------------------


def test_facts_and_results_reject_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="unknown provider family"):
        provider(1, family="OpenAI")
    with pytest.raises(ValueError, match="not 'openai'"):
        family(provider(1, family="anthropic"))
    with pytest.raises(ValueError, match="duplicate"):
        family(provider(1), provider(1))
    with pytest.raises(ValueError, match="family facts"):
        resolve(model(family="anthropic"), family(), NO_USER_KEYS)
    with pytest.raises(ValueError, match="deployment key"):
        Candidate(None, "central")
    with pytest.raises(ValueError, match="default base URL"):
        Candidate(keyless(1), "deployment")
    with pytest.raises(ValueError, match="not both"):
        Resolution((Candidate(None, "deployment"),), "missing_api_key")
    with pytest.raises(ValueError, match="not both"):
        Resolution((), None)
    with pytest.raises(ValueError, match="exactly one"):
        KeyChoice(None, None)
    with pytest.raises(ValueError, match="exactly one"):
        KeyChoice("user", "missing_api_key")


# --- §6 visibility ------------------------------------------------------------------------


def test_visible_a_bound_to_a_visible_config_even_when_it_is_disabled() -> None:
    off = provider(1, enabled=False)
    assert model_visible_to_member(model(off.id), family(off))
    # ...and it is then listed as provider_disabled.
    assert resolve(model(off.id), family(off), NO_USER_KEYS).unavailable_reason == (
        "provider_disabled"
    )


def test_visible_a_bound_to_a_user_key_config_without_any_central_key() -> None:
    bound = user_only(1)
    assert model_visible_to_member(model(bound.id), family(bound))


def test_invisible_a_bound_to_a_config_without_any_key_source_despite_a_keyed_sibling() -> None:
    bound = keyless(2)
    assert not model_visible_to_member(model(bound.id), family(provider(1), bound, deployment=True))


def test_invisible_a_bound_to_a_config_that_no_longer_exists() -> None:
    assert not model_visible_to_member(model(uuid.UUID(int=77)), family(provider(1)))


def test_visible_a_bound_config_with_empty_base_url_through_the_deployment_key() -> None:
    bound = provider(1, has_stored_key=False)
    assert model_visible_to_member(model(bound.id), family(bound, deployment=True))
    assert not model_visible_to_member(model(bound.id), family(bound))


def test_visible_b_unbound_when_some_enabled_config_is_visible() -> None:
    assert model_visible_to_member(model(), family(keyless(1), user_only(2)))


def test_invisible_b_unbound_when_only_disabled_configs_are_visible() -> None:
    assert not model_visible_to_member(
        model(), family(keyless(1), provider(2, enabled=False), deployment=True)
    )


def test_visible_c_unbound_family_without_configs_needs_a_deployment_key() -> None:
    assert model_visible_to_member(model(), family(deployment=True))
    assert not model_visible_to_member(model(), family())


def test_visible_c_openai_compat_unbound_follows_the_deployment_key_whatever_configs_exist() -> (
    None
):
    keyed = provider(1, family="openai-compat", base_url="https://a.example/v1")
    assert model_visible_to_member(
        model(family="openai-compat"), family(keyed, name="openai-compat", deployment=True)
    )
    assert not model_visible_to_member(
        model(family="openai-compat"), family(keyed, name="openai-compat")
    )


def test_disabled_models_are_never_visible_to_members() -> None:
    assert not model_visible_to_member(model(enabled=False), family(provider(1), deployment=True))
