"""Properties of candidate resolution over arbitrary families (SPEC §1, §3, §5)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chatgate.resolve import (
    FamilyFacts,
    ModelFacts,
    ProviderFacts,
    by_precedence,
    has_effective_api_key,
    precedence_key,
    resolve,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
# (central_api_key_enabled, allow_user_api_key, allow_central_api_key_fallback) the DB allows.
POLICIES = [(True, False, False), (False, True, False), (True, True, False), (True, True, True)]
# Families with the ordinary precedence rule are drawn most often; openai-compat and
# bedrock have their own rules and are exercised too.
FAMILIES = ["openai", "openai", "anthropic", "openai-compat", "bedrock"]
GONE_CONFIG_ID = uuid.UUID(int=2**64)  # never drawn as a config id

Scenario = tuple[ModelFacts, FamilyFacts, frozenset[uuid.UUID]]


@st.composite
def providers(draw: st.DrawFn, family: str, config_id: uuid.UUID) -> ProviderFacts:
    central, user, fallback = draw(st.sampled_from(POLICIES))
    return ProviderFacts(
        id=config_id,
        family=family,
        name=f"{family}-{config_id.int}",
        base_url=draw(st.sampled_from(["", "https://proxy.example.com/v1"])),
        enabled=draw(st.booleans()),
        central_api_key_enabled=central,
        allow_user_api_key=user,
        allow_central_api_key_fallback=fallback,
        # Few distinct timestamps, so created_at ties (broken by id) are common.
        created_at=T0 + timedelta(microseconds=draw(st.integers(0, 3))),
        has_stored_key=draw(st.booleans()),
    )


@st.composite
def families(draw: st.DrawFn, family: str | None = None) -> FamilyFacts:
    name = family if family is not None else draw(st.sampled_from(FAMILIES))
    ids = draw(st.lists(st.integers(1, 2**32), max_size=6, unique=True))
    configs = tuple(draw(providers(name, uuid.UUID(int=i))) for i in ids)
    return FamilyFacts(name, draw(st.booleans()), configs)


@st.composite
def scenarios(draw: st.DrawFn, family: str | None = None) -> Scenario:
    facts = draw(families(family))
    ids = [p.id for p in facts.providers]
    # Unbound half of the time; otherwise bound to a config or to one that is gone.
    binding = draw(st.one_of(st.none(), st.sampled_from([GONE_CONFIG_ID, *ids])))
    # A disabled model short-circuits everything; keep it rare so the rest gets explored.
    enabled = draw(st.sampled_from([True, True, True, False]))
    user_keys = frozenset(draw(st.lists(st.sampled_from([*ids, GONE_CONFIG_ID]), unique=True)))
    return ModelFacts(uuid.UUID(int=0), facts.family, binding, enabled), facts, user_keys


@settings(max_examples=600)
@given(scenarios())
def test_candidates_are_enabled_configs_of_the_family_in_precedence_order(s: Scenario) -> None:
    model, facts, user_keys = s
    configs = [c.provider for c in resolve(model, facts, user_keys).candidates if c.provider]
    assert all(p in facts.providers and p.enabled for p in configs)
    assert [precedence_key(p) for p in configs] == sorted(precedence_key(p) for p in configs)
    assert len({p.id for p in configs}) == len(configs)
    if model.provider_config_id is not None:
        assert all(p.id == model.provider_config_id for p in configs)


@settings(max_examples=600)
@given(scenarios())
def test_never_uses_a_key_the_candidate_config_does_not_own(s: Scenario) -> None:
    model, facts, user_keys = s
    for candidate in resolve(model, facts, user_keys).candidates:
        p = candidate.provider
        if p is None:
            # The bare deployment key: unbound, and openai-compat or a family without configs.
            assert candidate.key_source == "deployment"
            assert facts.has_deployment_key
            assert model.provider_config_id is None
            assert model.family == "openai-compat" or facts.providers == ()
        elif candidate.key_source == "central":
            assert p.central_api_key_enabled
            assert p.has_stored_key
        elif candidate.key_source == "deployment":
            assert p.central_api_key_enabled
            assert not p.has_stored_key  # a pool never yields to the deployment key
            assert p.base_url == ""
            assert facts.has_deployment_key
        else:
            assert p.allow_user_api_key
            assert p.id in user_keys


@settings(max_examples=600)
@given(scenarios())
def test_every_candidate_shares_the_first_ones_key_class_and_a_user_key_is_alone(
    s: Scenario,
) -> None:
    model, facts, user_keys = s
    result = resolve(model, facts, user_keys)
    assert result.available == bool(result.candidates) == (result.unavailable_reason is None)
    classes = {c.key_source == "user" for c in result.candidates}
    assert len(classes) <= 1
    if classes == {True}:
        assert len(result.candidates) == 1


@settings(max_examples=600)
@given(scenarios())
def test_unavailable_reason_follows_the_section_6_priority(s: Scenario) -> None:
    model, facts, user_keys = s
    result = resolve(model, facts, user_keys)
    bound = next((p for p in facts.providers if p.id == model.provider_config_id), None)
    unbound_served_by_configs = (
        model.provider_config_id is None
        and model.family != "openai-compat"
        and facts.providers != ()
    )
    if not model.enabled:
        assert result.unavailable_reason == "model_disabled"
    elif model.family == "bedrock":
        assert result.unavailable_reason == "family_not_supported"
    elif (bound is not None and not bound.enabled) or (
        unbound_served_by_configs and not any(p.enabled for p in facts.providers)
    ):
        assert result.unavailable_reason == "provider_disabled"
    else:
        assert result.unavailable_reason != "provider_disabled"
        if model.provider_config_id is None and not unbound_served_by_configs:
            # openai-compat or no configs: the bare deployment key, or nothing.
            assert result.available == facts.has_deployment_key
            assert all(c.provider is None for c in result.candidates)
        if result.unavailable_reason == "user_api_key_required":
            assert any(p.enabled and p.allow_user_api_key for p in facts.providers)


@settings(max_examples=300)
@given(scenarios(), st.data())
def test_result_ignores_input_order_and_leaves_inputs_unchanged(
    s: Scenario, data: st.DataObject
) -> None:
    model, facts, user_keys = s
    before = copy.deepcopy((model, facts, user_keys))
    result = resolve(model, facts, user_keys)
    assert (model, facts, user_keys) == before
    shuffled = data.draw(st.permutations(facts.providers))
    reordered = replace(facts, providers=tuple(shuffled))
    assert resolve(model, reordered, user_keys) == result
    assert by_precedence(shuffled) == by_precedence(facts.providers)


@settings(max_examples=300)
@given(families(), st.data())
def test_a_configs_own_key_facts_do_not_change_when_siblings_are_added(
    facts: FamilyFacts, data: st.DataObject
) -> None:
    alone_id = uuid.UUID(int=2**40)
    config = data.draw(providers(facts.family, alone_id))
    alone = FamilyFacts(facts.family, facts.has_deployment_key, (config,))
    crowded = replace(alone, providers=(*facts.providers, config))
    dep = facts.has_deployment_key
    expected = config.central_api_key_enabled and (
        config.has_stored_key or (config.base_url == "" and dep)
    )
    assert has_effective_api_key(config, dep) is expected
    user_keys = frozenset(
        data.draw(st.sets(st.sampled_from([alone_id, *[p.id for p in facts.providers]])))
    )
    bound = ModelFacts(uuid.UUID(int=0), facts.family, alone_id, True)
    assert resolve(bound, crowded, user_keys) == resolve(bound, alone, user_keys)


@settings(max_examples=300)
@given(scenarios(family="openai"), st.data())
def test_adding_a_newer_sibling_never_changes_who_serves_first(
    s: Scenario, data: st.DataObject
) -> None:
    model, facts, user_keys = s
    model = replace(model, provider_config_id=None, enabled=True)
    result = resolve(model, facts, user_keys)
    newest = data.draw(providers("openai", uuid.UUID(int=2**40)))
    newest = replace(newest, created_at=T0 + timedelta(days=1))
    grown = resolve(model, replace(facts, providers=(*facts.providers, newest)), user_keys)
    if result.available and result.candidates[0].provider is not None:
        assert grown.candidates[0] == result.candidates[0]
        assert grown.candidates[: len(result.candidates)] == result.candidates
