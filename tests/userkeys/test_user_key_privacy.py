"""No one but its owner learns anything of a user key, admins included (SPEC §6, §13)."""

from __future__ import annotations

from tests.support.helpers import Env
from tests.support.userkeys import USER_KEY, add_provider, delete_key, my_keys, put_key

USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}


async def test_another_member_sees_nothing_of_a_members_key(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, mia = await env.new_user("mia")
    _, noah = await env.new_user("noah")
    before = await my_keys(env, noah)
    assert (await put_key(env, mia, provider["id"])).status_code == 200
    after = await my_keys(env, noah)
    assert after == before
    assert after[0]["has_user_api_key"] is False
    assert after[0]["api_key_hint"] is None


async def test_an_admin_cannot_read_a_members_key_not_even_in_their_own_list(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    mia_id, mia = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert (await put_key(env, mia, provider["id"])).status_code == 200
    for token in (admin, env.owner_token):
        [entry] = await my_keys(env, token)
        assert entry["has_user_api_key"] is False
        assert entry["api_key_hint"] is None
    # No path reaches another user's keys: ``/me`` is always the caller.
    for path in (
        f"/api/v1/users/{mia_id}/provider-keys",
        f"/api/v1/users/{mia_id}/provider-keys/{provider['id']}",
        f"/api/v1/me/provider-keys/{provider['id']}",
    ):
        response = await env.client.get(path, headers=env.auth(admin))
        assert response.status_code in (404, 405), path
        assert USER_KEY[-4:] not in response.text


async def test_an_admin_deleting_through_me_does_not_touch_a_members_key(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, mia = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert (await put_key(env, mia, provider["id"])).status_code == 200
    assert (await delete_key(env, admin, provider["id"])).status_code == 204
    assert (await my_keys(env, mia))[0]["has_user_api_key"] is True


async def test_the_key_list_needs_a_token(env: Env) -> None:
    for method in ("GET", "DELETE"):
        path = "/api/v1/me/provider-keys" + ("" if method == "GET" else "/x")
        response = await env.client.request(method, path)
        assert response.status_code == 401
