"""GET /api/v1/me/models: what each role sees, the fields, the order (SPEC §6, §14)."""

from __future__ import annotations

from tests.support.helpers import Env
from tests.support.userkeys import (
    add_model,
    add_provider,
    availability,
    catalog,
    delete_key,
    disable_pool_keys,
    my_models,
    put_key,
)

CENTRAL_AND_USER = {"allow_user_api_key": True}
USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}
MEMBER_FIELDS = {
    "id",
    "name",
    "display_name",
    "family",
    "model",
    "provider_config_id",
    "is_default",
    "available",
    "unavailable_reason",
}


async def test_a_member_gets_exactly_the_documented_fields_and_no_provider_row(env: Env) -> None:
    provider = await add_provider(env, name="acme", display_name="Acme Corp")
    model = await add_model(
        env, provider_config_id=provider["id"], model="gpt-up", name="chat", display_name="Chat"
    )
    _, member = await env.new_user("mia")
    [entry] = await my_models(env, member)
    assert entry == {
        "id": model["id"],
        "name": "chat",
        "display_name": "Chat",
        "family": "openai",
        "model": "gpt-up",
        "provider_config_id": provider["id"],
        "is_default": True,
        "available": True,
        "unavailable_reason": None,
    }
    assert set(entry) == MEMBER_FIELDS


async def test_the_catalog_shows_user_api_key_required_until_the_member_stores_a_key(
    env: Env,
) -> None:
    provider = await add_provider(env, **CENTRAL_AND_USER)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, mia = await env.new_user("mia")
    _, noah = await env.new_user("noah")
    required = (False, "user_api_key_required")
    assert availability((await catalog(env, mia))["chat"]) == required
    assert (await put_key(env, mia, provider["id"])).status_code == 200
    assert availability((await catalog(env, mia))["chat"]) == (True, None)
    # Availability is per caller: another member's key changes nothing for noah.
    assert availability((await catalog(env, noah))["chat"]) == required
    assert (await delete_key(env, mia, provider["id"])).status_code == 204
    assert availability((await catalog(env, mia))["chat"]) == required


async def test_a_members_catalog_omits_models_whose_configs_no_user_can_be_served_by(
    env: Env,
) -> None:
    served = await add_provider(env, name="served")
    drained = await add_provider(env, name="drained")
    await add_model(env, provider_config_id=served["id"], model="gpt-a", name="visible")
    await add_model(env, provider_config_id=drained["id"], model="gpt-b", name="invisible")
    # No enabled central key and no user keys: the config is visible to no user (§6).
    await disable_pool_keys(env, drained["id"])
    _, member = await env.new_user("mia")
    assert list(await catalog(env, member)) == ["visible"]


async def test_a_member_never_sees_disabled_models_but_admins_and_auditors_do(env: Env) -> None:
    provider = await add_provider(env)
    await add_model(env, provider_config_id=provider["id"], model="gpt-a", name="on")
    await add_model(
        env, provider_config_id=provider["id"], model="gpt-b", name="off", enabled=False
    )
    _, member = await env.new_user("mia")
    _, auditor = await env.new_user("aud", "auditor")
    _, admin = await env.new_user("ada", "admin")
    assert list(await catalog(env, member)) == ["on"]
    assert "enabled" not in (await catalog(env, member))["on"]
    for token in (auditor, admin, env.owner_token):
        entries = await catalog(env, token)
        assert list(entries) == ["off", "on"]
        assert availability(entries["off"]) == (False, "model_disabled")
        assert (entries["off"]["enabled"], entries["on"]["enabled"]) == (False, True)
        assert set(entries["off"]) == MEMBER_FIELDS | {"enabled"}


async def test_the_admin_view_lists_every_live_model_with_availability_for_the_admin(
    env: Env,
) -> None:
    byok = await add_provider(env, name="byok", **USER_KEYS_ONLY)
    await add_model(env, provider_config_id=byok["id"], model="gpt-a", name="mine")
    _, admin = await env.new_user("ada", "admin")
    _, member = await env.new_user("mia")
    assert availability((await catalog(env, admin))["mine"]) == (False, "user_api_key_required")
    assert (await put_key(env, member, byok["id"])).status_code == 200
    assert availability((await catalog(env, admin))["mine"]) == (False, "user_api_key_required")
    assert (await put_key(env, admin, byok["id"])).status_code == 200
    assert availability((await catalog(env, admin))["mine"]) == (True, None)


async def test_deleted_models_appear_to_no_one(env: Env) -> None:
    provider = await add_provider(env)
    await add_model(env, provider_config_id=provider["id"], model="gpt-a", name="kept")
    gone = await add_model(env, provider_config_id=provider["id"], model="gpt-b", name="gone")
    response = await env.client.delete(
        f"/api/v1/models/{gone['id']}", headers=env.auth(env.owner_token)
    )
    assert response.status_code == 204
    _, member = await env.new_user("mia")
    for token in (member, env.owner_token):
        assert list(await catalog(env, token)) == ["kept"]


async def test_models_are_ordered_by_name_then_id_and_the_default_is_flagged(env: Env) -> None:
    openai = await add_provider(env, family="openai")
    anthropic = await add_provider(env, family="anthropic")
    for name, provider in (("m-zeta", openai), ("b-alpha", anthropic), ("Z-upper", openai)):
        await add_model(env, provider_config_id=provider["id"], model=name, name=name)
    await add_model(
        env, provider_config_id=anthropic["id"], model="c", name="c-gamma", is_default=True
    )
    _, member = await env.new_user("mia")
    entries = await my_models(env, member)
    # Code-point order of names (the order of /v1/models), whatever the family.
    assert [e["name"] for e in entries] == ["Z-upper", "b-alpha", "c-gamma", "m-zeta"]
    assert [e["name"] for e in entries if e["is_default"]] == ["c-gamma"]


async def test_the_catalog_needs_a_token(env: Env) -> None:
    response = await env.client.get("/api/v1/me/models")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
