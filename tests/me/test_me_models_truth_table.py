"""GET /api/v1/me/models follows the key-resolution table of SPEC §5 for the caller, and
the reasons of §6 (no deployment keys here; see test_me_models_deployment_keys.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.helpers import Env
from tests.support.userkeys import (
    add_model,
    add_provider,
    availability,
    catalog,
    disable_pool_keys,
    patch_provider,
    put_key,
)

CENTRAL_ONLY: dict[str, Any] = {}
USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}
CENTRAL_AND_USER = {"allow_user_api_key": True}
WITH_FALLBACK = {"allow_user_api_key": True, "allow_central_api_key_fallback": True}


@pytest.mark.parametrize(
    ("policy", "member_has_key", "expected"),
    [
        pytest.param(USER_KEYS_ONLY, True, (True, None), id="user-keys-allowed-and-has-key"),
        pytest.param(CENTRAL_AND_USER, True, (True, None), id="central-and-user-has-key"),
        pytest.param(WITH_FALLBACK, True, (True, None), id="fallback-and-has-key"),
        pytest.param(CENTRAL_ONLY, False, (True, None), id="central-no-user-keys"),
        pytest.param(WITH_FALLBACK, False, (True, None), id="central-with-fallback-no-key"),
        pytest.param(
            CENTRAL_AND_USER, False, (False, "user_api_key_required"), id="central-no-fallback"
        ),
        pytest.param(
            USER_KEYS_ONLY, False, (False, "user_api_key_required"), id="user-keys-only-no-key"
        ),
    ],
)
async def test_a_member_sees_the_availability_of_the_key_table_row(
    env: Env, policy: dict[str, Any], member_has_key: bool, expected: tuple[bool, str | None]
) -> None:
    provider = await add_provider(env, **policy)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    if member_has_key:
        assert (await put_key(env, member, provider["id"])).status_code == 200
    entry = (await catalog(env, member))["chat"]
    assert availability(entry) == expected
    assert entry["provider_config_id"] == provider["id"]


async def test_no_central_key_and_no_user_keys_is_missing_api_key_and_hidden_from_members(
    env: Env,
) -> None:
    # The §5 "otherwise" row: central keys on but none left (every pool key disabled, as a
    # forced removal of the last key leaves it), user keys not allowed.
    provider = await add_provider(env, name="drained")
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    await disable_pool_keys(env, provider["id"])
    _, member = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    # Such a config is visible to no user (§6), so members do not see its models at all.
    assert await catalog(env, member) == {}
    assert availability((await catalog(env, admin))["chat"]) == (False, "missing_api_key")


async def test_an_unbound_model_in_a_family_with_no_config_and_no_deployment_key_is_missing_api_key(
    env: Env,
) -> None:
    await add_model(env, family="anthropic", model="claude-up", name="claude")
    _, member = await env.new_user("mia")
    _, auditor = await env.new_user("aud", "auditor")
    assert await catalog(env, member) == {}
    assert availability((await catalog(env, auditor))["claude"]) == (False, "missing_api_key")


async def test_a_model_bound_to_a_disabled_config_is_provider_disabled_for_members(
    env: Env,
) -> None:
    bound = await add_provider(env, name="bound")
    await add_provider(env, name="sibling")  # never used in its place
    await add_model(env, provider_config_id=bound["id"], model="gpt-up", name="chat")
    await patch_provider(env, bound["id"], enabled=False)
    _, member = await env.new_user("mia")
    assert availability((await catalog(env, member))["chat"]) == (False, "provider_disabled")


async def test_a_user_key_does_not_make_a_disabled_config_available(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    assert (await put_key(env, member, provider["id"])).status_code == 200
    await patch_provider(env, provider["id"], enabled=False)
    assert availability((await catalog(env, member))["chat"]) == (False, "provider_disabled")


async def test_an_unbound_model_in_a_family_whose_configs_are_all_disabled_is_provider_disabled(
    env: Env,
) -> None:
    first = await add_provider(env, name="first")
    second = await add_provider(env, name="second", **USER_KEYS_ONLY)
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")
    for provider in (first, second):
        await patch_provider(env, provider["id"], enabled=False)
    _, member = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert availability((await catalog(env, admin))["chat"]) == (False, "provider_disabled")
    # §6 (b): a member sees an unbound model only while an enabled config of its family is
    # visible, so with every config disabled it is not listed for them at all.
    assert "chat" not in await catalog(env, member)
    await patch_provider(env, second["id"], enabled=True)
    assert availability((await catalog(env, member))["chat"]) == (False, "user_api_key_required")


async def test_an_unbound_model_is_available_when_any_enabled_config_serves_the_member(
    env: Env,
) -> None:
    # Precedence: the oldest config wants the member's own key, the next has a central key.
    await add_provider(env, name="oldest", **USER_KEYS_ONLY)
    await add_provider(env, name="central")
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    entry = (await catalog(env, member))["chat"]
    assert availability(entry) == (True, None)
    assert entry["provider_config_id"] is None


async def test_an_unbound_model_says_user_api_key_required_when_no_config_serves_without_one(
    env: Env,
) -> None:
    await add_provider(env, name="byok", **USER_KEYS_ONLY)
    await add_provider(env, name="strict", **CENTRAL_AND_USER)
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    assert availability((await catalog(env, member))["chat"]) == (False, "user_api_key_required")


async def test_a_key_kept_on_a_config_that_stopped_allowing_user_keys_is_not_used(
    env: Env,
) -> None:
    provider = await add_provider(env, **CENTRAL_AND_USER)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    assert (await put_key(env, member, provider["id"])).status_code == 200
    # Now central keys only: served by the central key; the stored user key is ignored.
    await patch_provider(env, provider["id"], allow_user_api_key=False)
    assert availability((await catalog(env, member))["chat"]) == (True, None)
    # Back to user keys without a central key: the kept key serves again.
    await patch_provider(
        env, provider["id"], allow_user_api_key=True, central_api_key_enabled=False
    )
    assert availability((await catalog(env, member))["chat"]) == (True, None)
