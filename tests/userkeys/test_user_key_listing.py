"""GET /api/v1/me/provider-keys: which configs are listed, in which order, and ``usable``
(SPEC §6): a key on a config that was disabled or stopped accepting user keys stays listed
with ``usable: false`` so it can be removed."""

from __future__ import annotations

from tests.support.helpers import Env
from tests.support.userkeys import (
    add_provider,
    delete_key,
    my_keys,
    patch_provider,
    put_key,
    stored_user_keys,
)

USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}
WITH_FALLBACK = {"allow_user_api_key": True, "allow_central_api_key_fallback": True}


async def test_only_enabled_configs_that_allow_user_keys_are_listed_in_family_then_precedence_order(
    env: Env,
) -> None:
    # Created out of family order on purpose.
    openai_b = await add_provider(env, family="openai", name="openai-b", **USER_KEYS_ONLY)
    anthropic = await add_provider(env, family="anthropic", name="claude", **WITH_FALLBACK)
    openai_a = await add_provider(env, family="openai", name="openai-a", **USER_KEYS_ONLY)
    await add_provider(env, family="openai", name="central-only")
    off = await add_provider(env, family="google", name="gemini-off", **USER_KEYS_ONLY)
    await patch_provider(env, off["id"], enabled=False)
    _, token = await env.new_user("mia")
    entries = await my_keys(env, token)
    assert [e["name"] for e in entries] == ["claude", "openai-b", "openai-a"]
    assert [e["provider_config_id"] for e in entries] == [
        anthropic["id"],
        openai_b["id"],
        openai_a["id"],
    ]
    assert all(e["usable"] and not e["has_user_api_key"] for e in entries)
    # The display name falls back to the family's when the config has none.
    assert entries[0]["display_name"] == "Anthropic"


async def test_the_fallback_flag_needs_an_effective_central_key(env: Env) -> None:
    with_fallback = await add_provider(env, name="fallback", **WITH_FALLBACK)
    no_fallback = await add_provider(env, name="no-fallback", allow_user_api_key=True)
    _, token = await env.new_user("mia")
    flags = {e["name"]: e["has_central_api_key_fallback"] for e in await my_keys(env, token)}
    assert flags == {"fallback": True, "no-fallback": False}
    assert with_fallback["has_effective_api_key"]
    assert no_fallback["has_effective_api_key"]


async def test_a_key_on_a_config_that_was_disabled_is_listed_unusable_and_can_be_deleted(
    env: Env,
) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    _, other = await env.new_user("noah")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    await patch_provider(env, provider["id"], enabled=False)
    [entry] = await my_keys(env, token)
    assert (entry["provider_config_id"], entry["has_user_api_key"], entry["usable"]) == (
        provider["id"],
        True,
        False,
    )
    # Someone without a key there no longer sees the disabled config at all.
    assert await my_keys(env, other) == []
    assert (await delete_key(env, token, provider["id"])).status_code == 204
    assert await stored_user_keys(env) == []
    assert await my_keys(env, token) == []


async def test_a_key_on_a_config_that_stopped_allowing_user_keys_is_listed_unusable_and_can_be_deleted(
    env: Env,
) -> None:
    provider = await add_provider(env, allow_user_api_key=True)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    await patch_provider(env, provider["id"], allow_user_api_key=False)
    [entry] = await my_keys(env, token)
    assert (entry["has_user_api_key"], entry["usable"]) == (True, False)
    # Storing a new one is refused, removing the old one is not.
    assert (await put_key(env, token, provider["id"])).json()["code"] == "user_api_key_not_allowed"
    assert (await delete_key(env, token, provider["id"])).status_code == 204
    assert await my_keys(env, token) == []


async def test_a_key_becomes_usable_again_when_the_config_is_re_enabled(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    await patch_provider(env, provider["id"], enabled=False)
    await patch_provider(env, provider["id"], enabled=True)
    [entry] = await my_keys(env, token)
    assert (entry["has_user_api_key"], entry["usable"]) == (True, True)


async def test_a_deleted_config_takes_its_user_keys_with_it(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    response = await env.client.delete(
        f"/api/v1/providers/{provider['id']}", headers=env.auth(env.owner_token)
    )
    assert response.status_code == 204
    assert await my_keys(env, token) == []
    assert await stored_user_keys(env) == []
