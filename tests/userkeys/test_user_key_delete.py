"""DELETE /api/v1/me/provider-keys/{id}: 204 whether or not there was a key (SPEC §6)."""

from __future__ import annotations

from chatgate.ids import new_id
from tests.support.helpers import Env
from tests.support.userkeys import (
    add_provider,
    audit_entries,
    delete_key,
    my_keys,
    put_key,
    stored_user_keys,
)

USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}


async def test_deleting_a_key_removes_it_and_the_entry_stays_listed_without_it(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    response = await delete_key(env, token, provider["id"])
    assert response.status_code == 204
    assert response.content == b""
    assert await stored_user_keys(env) == []
    [entry] = await my_keys(env, token)
    assert (entry["has_user_api_key"], entry["api_key_hint"], entry["usable"]) == (
        False,
        None,
        True,
    )


async def test_deleting_a_key_that_does_not_exist_is_204_and_audits_nothing(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    for config_id in (provider["id"], str(new_id()), "not-a-uuid"):
        response = await delete_key(env, token, config_id)
        assert response.status_code == 204, (config_id, response.text)
    assert await audit_entries(env, "user_provider_key") == []


async def test_deleting_twice_is_204_both_times(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"])).status_code == 200
    assert (await delete_key(env, token, provider["id"])).status_code == 204
    assert (await delete_key(env, token, provider["id"])).status_code == 204
    assert [e.action for e in await audit_entries(env, "user_provider_key")] == [
        "user_provider_key.create",
        "user_provider_key.delete",
    ]


async def test_a_member_deleting_their_key_leaves_other_members_keys_alone(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, mia = await env.new_user("mia")
    noah_id, noah = await env.new_user("noah")
    assert (await put_key(env, mia, provider["id"])).status_code == 200
    assert (await put_key(env, noah, provider["id"])).status_code == 200
    assert (await delete_key(env, mia, provider["id"])).status_code == 204
    assert [str(k.user_id) for k in await stored_user_keys(env)] == [noah_id]
    assert (await my_keys(env, noah))[0]["has_user_api_key"] is True
