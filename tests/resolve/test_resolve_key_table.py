"""Exhaustive truth table of one provider config's key resolution (SPEC §3, §5).

The expectation below is written from the SPEC text per credential policy, independently of
the implementation's row order, and checked for every combination the DB CHECK allows.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from chatgate.resolve import (
    FamilyFacts,
    ModelFacts,
    ProviderFacts,
    central_key_missing,
    depends_on_pool,
    has_api_key,
    has_effective_api_key,
    provider_visible_to_users,
    resolve,
    resolve_key,
)

BOOLS = (False, True)


@dataclass(frozen=True)
class Combo:
    enabled: bool
    central: bool
    user: bool
    fallback: bool
    stored: bool
    deployment: bool
    default_url: bool
    user_key: bool

    @property
    def label(self) -> str:
        return "-".join(
            f"{name}={'1' if value else '0'}"
            for name, value in (
                ("en", self.enabled),
                ("cen", self.central),
                ("usr", self.user),
                ("fb", self.fallback),
                ("stored", self.stored),
                ("dep", self.deployment),
                ("dflt", self.default_url),
                ("ukey", self.user_key),
            )
        )

    def provider(self) -> ProviderFacts:
        return ProviderFacts(
            id=uuid.UUID(int=1),
            family="openai",
            name="openai",
            base_url="" if self.default_url else "https://proxy.example.com/v1",
            enabled=self.enabled,
            central_api_key_enabled=self.central,
            allow_user_api_key=self.user,
            allow_central_api_key_fallback=self.fallback,
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
            has_stored_key=self.stored,
        )


def db_check_allows(central: bool, user: bool, fallback: bool) -> bool:
    # provider_configs CHECK: (central OR user) AND (NOT fallback OR (central AND user))
    return (central or user) and (not fallback or (central and user))


ALL_COMBOS = [Combo(*values) for values in itertools.product(BOOLS, repeat=8)]
COMBOS = [c for c in ALL_COMBOS if db_check_allows(c.central, c.user, c.fallback)]

# The config's own central key, keyed by (stored key, deployment key, base_url empty).
# §5: an enabled stored key means the pool, whatever the deployment key; without one, the
# deployment key, but only towards the family's default base URL.
OWN_SHARED_KEY: dict[tuple[bool, bool, bool], str | None] = {
    (True, False, False): "central",
    (True, False, True): "central",
    (True, True, False): "central",
    (True, True, True): "central",
    (False, True, True): "deployment",
    (False, True, False): None,  # a deployment key is never sent to a custom base URL
    (False, False, True): None,
    (False, False, False): None,
}


def expected_from_spec(c: Combo) -> tuple[str | None, str | None]:
    """(key source, unavailable reason), reasoned per credential policy."""
    if not c.enabled:
        return (None, "provider_disabled")
    shared = OWN_SHARED_KEY[(c.stored, c.deployment, c.default_url)]
    policy = (c.central, c.user, c.fallback)
    if policy == (True, False, False):  # central keys only: a user's key is irrelevant
        return (shared, None) if shared else (None, "missing_api_key")
    if policy == (False, True, False):  # user keys only: stored/deployment keys ignored
        return ("user", None) if c.user_key else (None, "user_api_key_required")
    if policy == (True, True, False):  # both, no fallback: each user must bring a key
        return ("user", None) if c.user_key else (None, "user_api_key_required")
    if policy == (True, True, True):  # both, fallback: own key first, else the shared one
        if c.user_key:
            return ("user", None)
        return (shared, None) if shared else (None, "user_api_key_required")
    raise AssertionError(f"policy {policy} is not allowed by the DB CHECK")


def test_table_covers_all_128_combinations_the_db_check_allows() -> None:
    # 2^8 flag combinations; the CHECK admits 4 of the 8 (central, user, fallback) policies.
    assert len(ALL_COMBOS) == 256
    assert len(COMBOS) == 128
    assert len({(c.central, c.user, c.fallback) for c in COMBOS}) == 4
    assert len(set(COMBOS)) == len(COMBOS)


def test_table_reaches_every_key_source_and_reason() -> None:
    outcomes = {expected_from_spec(c) for c in COMBOS}
    assert {source for source, _ in outcomes} == {None, "user", "central", "deployment"}
    assert {reason for _, reason in outcomes} == {
        None,
        "provider_disabled",
        "user_api_key_required",
        "missing_api_key",
    }


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.label)
def test_resolve_key_matches_spec_table(combo: Combo) -> None:
    choice = resolve_key(
        combo.provider(), user_has_key=combo.user_key, has_deployment_key=combo.deployment
    )
    assert (choice.source, choice.reason) == expected_from_spec(combo)
    assert choice.available == (choice.source is not None)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.label)
def test_model_bound_to_the_config_resolves_as_the_table_says(combo: Combo) -> None:
    config = combo.provider()
    family = FamilyFacts("openai", combo.deployment, (config,))
    user_keys = frozenset({config.id}) if combo.user_key else frozenset()
    for binding in (config.id, None):  # bound, and unbound in a family of one config
        result = resolve(ModelFacts(uuid.UUID(int=99), "openai", binding, True), family, user_keys)
        source, reason = expected_from_spec(combo)
        assert result.unavailable_reason == reason
        if source is None:
            assert result.candidates == ()
        else:
            assert [(c.provider, c.key_source) for c in result.candidates] == [(config, source)]


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.label)
def test_api_key_flags_follow_section_3_formulas(combo: Combo) -> None:
    config = combo.provider()
    # has_api_key: at least one enabled stored key, regardless of the policy.
    assert has_api_key(config) is combo.stored
    # has_effective_api_key: central AND (has_api_key OR (base_url empty AND deployment key)).
    effective = combo.central and (combo.stored or (combo.default_url and combo.deployment))
    assert has_effective_api_key(config, combo.deployment) is effective
    # central_key_missing: enabled, central on, no effective central key.
    assert central_key_missing(config, combo.deployment) is (
        combo.enabled and combo.central and not effective
    )
    # §6 visibility: user keys allowed, or an effective central key (enabled or not).
    assert provider_visible_to_users(config, combo.deployment) is (combo.user or effective)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.label)
def test_a_config_depends_on_its_pool_when_emptying_it_leaves_no_central_key(
    combo: Combo,
) -> None:
    # §8 last_usable_key: enabled, central on, and no usable deployment key behind the pool.
    assert depends_on_pool(combo.provider(), combo.deployment) is (
        combo.enabled and combo.central and not (combo.default_url and combo.deployment)
    )
