"""GET /api/v1/audit-log (SPEC §14): filters, newest first, cursor pages that carry their
filters, the limit, who may read it, and no secret in what it shows."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from chatgate.ids import utcnow
from tests.support.helpers import Env, add_provider

SECRET = "sk-audit-canary-0123456789abcdef"


async def read(env: Env, token: str, **params: Any) -> dict[str, Any]:
    response = await env.client.get("/api/v1/audit-log", params=params, headers=env.auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def read_all(env: Env, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry, following next_cursor page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await read(env, token, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_changes_are_listed_newest_first_with_actor_and_redacted_values(env: Env) -> None:
    _, auditor = await env.new_user("auditor", "auditor")
    provider = await add_provider(env, family="openai", name="acme", api_key=SECRET)
    patched = await env.client.patch(
        f"/api/v1/providers/{provider['id']}",
        json={"display_name": "Acme"},
        headers=env.auth(env.owner_token),
    )
    assert patched.status_code == 200, patched.text

    page = await read(env, auditor)
    actions = [item["action"] for item in page["items"]]
    assert actions[:3] == [
        "provider_config.update",
        "provider_key.create",
        "provider_config.create",
    ]
    stamps = [(item["created_at"], item["id"]) for item in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    update = page["items"][0]
    assert update["actor_username"] == "admin"
    assert update["source"] == "api"
    assert (update["target_type"], update["target_id"]) == ("provider_config", provider["id"])
    assert update["before"]["display_name"] == ""
    assert update["after"]["display_name"] == "Acme"
    assert page["next_cursor"] is None
    assert SECRET not in str(page)
    assert SECRET[-4:] in str(page["items"][1]["after"])  # the key's hint, nothing more


async def test_key_policy_switches_are_shown_while_keys_are_redacted(env: Env) -> None:
    await add_provider(env, family="openai", name="acme", api_key=SECRET, allow_user_api_key=True)
    page = await read(env, env.owner_token, target_type="provider_config")
    after = page["items"][0]["after"]
    assert after["allow_user_api_key"] is True  # a switch about keys, not a key
    assert after["allow_central_api_key_fallback"] is False
    assert SECRET not in str(page)


async def test_filters_by_target_actor_and_time_combine(env: Env) -> None:
    owner = env.auth(env.owner_token)
    admin_id, admin = await env.new_user("second-admin", "admin")
    first = await add_provider(env, family="openai", name="first", api_key="sk-first")
    start = utcnow()
    created = await env.client.post(
        "/api/v1/providers",
        json={"family": "anthropic", "name": "second", "api_key": "sk-second"},
        headers=env.auth(admin),
    )
    assert created.status_code == 201, created.text
    second = created.json()
    for provider, headers in ((first, owner), (second, env.auth(admin))):
        patched = await env.client.patch(
            f"/api/v1/providers/{provider['id']}", json={"enabled": False}, headers=headers
        )
        assert patched.status_code == 200, patched.text
    end = utcnow()

    about_first = await read_all(env, env.owner_token, target_id=first["id"])
    assert [i["action"] for i in about_first] == [
        "provider_config.update",
        "provider_config.create",
    ]
    by_admin = await read_all(env, env.owner_token, actor_id=admin_id)
    assert [i["action"] for i in by_admin] == [
        "provider_config.update",
        "provider_key.create",
        "provider_config.create",
    ]
    assert {i["actor_username"] for i in by_admin} == {"second-admin"}
    admin_configs = await read_all(
        env, env.owner_token, actor_id=admin_id, target_type="provider_config"
    )
    assert {i["target_id"] for i in admin_configs} == {second["id"]}
    window = await read_all(
        env,
        env.owner_token,
        target_type="provider_config",
        since=start.isoformat(),
        until=end.isoformat(),
    )
    assert [(i["action"], i["target_id"]) for i in window] == [
        ("provider_config.update", second["id"]),
        ("provider_config.update", first["id"]),
        ("provider_config.create", second["id"]),
    ]
    # A time without a zone is UTC; `since` is inclusive, `until` exclusive.
    naive = await read_all(
        env,
        env.owner_token,
        target_type="provider_config",
        since=start.astimezone(UTC).replace(tzinfo=None).isoformat(),
        until=window[-1]["created_at"],
    )
    assert naive == []
    exact = await read_all(
        env, env.owner_token, target_type="provider_config", since=window[-1]["created_at"]
    )
    assert exact[-1]["id"] == window[-1]["id"]
    later = (utcnow() + timedelta(days=1)).isoformat()
    assert await read_all(env, env.owner_token, since=later) == []
    nothing = await read_all(env, env.owner_token, target_type="model_config")
    assert nothing == []


async def test_cursor_pages_cover_everything_once_and_refuse_other_filters(env: Env) -> None:
    for n in range(7):
        await add_provider(env, family="openai", name=f"p{n}", api_key=f"sk-{n}")
    everything = await read_all(env, env.owner_token, target_type="provider_config")
    assert len(everything) == 7

    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"target_type": "provider_config", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await read(env, env.owner_token, **params)
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == [item["id"] for item in everything]

    first = await read(env, env.owner_token, target_type="provider_config", limit=3)
    cursor = first["next_cursor"]
    for other in (
        {},
        {"target_type": "user"},
        {"target_type": "provider_config", "since": "2020-01-01"},
    ):
        mismatch = await env.client.get(
            "/api/v1/audit-log",
            params={**other, "cursor": cursor},
            headers=env.auth(env.owner_token),
        )
        assert mismatch.status_code == 400, mismatch.text
        assert mismatch.json()["code"] == "cursor_mismatch"
    # A different page size is no different list.
    resized = await read(
        env, env.owner_token, target_type="provider_config", limit=2, cursor=cursor
    )
    assert [i["id"] for i in resized["items"]] == pages[1][:2]
    garbage = await env.client.get(
        "/api/v1/audit-log", params={"cursor": "not-a-cursor"}, headers=env.auth(env.owner_token)
    )
    assert garbage.status_code == 400
    assert garbage.json()["code"] == "cursor_invalid"


@pytest.mark.parametrize(("limit", "status"), [(500, 200), (501, 422), (0, 422)])
async def test_limit_is_at_most_500(env: Env, limit: int, status: int) -> None:
    response = await env.client.get(
        "/api/v1/audit-log", params={"limit": limit}, headers=env.auth(env.owner_token)
    )
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["code"] == "invalid_request"
        assert response.json()["detail"][0]["field"] == "limit"


async def test_default_page_is_50_entries(env: Env) -> None:
    for n in range(26):  # two entries each: user.create, token.create
        await env.new_user(f"user-{n}")
    page = await read(env, env.owner_token)
    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None
    total = len((await read(env, env.owner_token, limit=500))["items"])
    assert total > 52  # the owner's own creation is in the log too
    rest = await read(env, env.owner_token, cursor=page["next_cursor"])
    assert len(rest["items"]) == total - 50
    assert rest["next_cursor"] is None


async def test_members_may_not_read_it(env: Env) -> None:
    _, member = await env.new_user("member")
    response = await env.client.get("/api/v1/audit-log", headers=env.auth(member))
    assert response.status_code == 403
    assert (await env.client.get("/api/v1/audit-log")).status_code == 401


async def test_bad_filter_values_are_422_naming_the_parameter(env: Env) -> None:
    for params in ({"actor_id": "nobody"}, {"since": "yesterday"}):
        response = await env.client.get(
            "/api/v1/audit-log", params=params, headers=env.auth(env.owner_token)
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == next(iter(params))


async def test_a_control_character_in_a_target_filter_is_400_naming_it(env: Env) -> None:
    for field in ("target_type", "target_id"):
        response = await env.client.get(
            "/api/v1/audit-log", params={field: "provider\x00"}, headers=env.auth(env.owner_token)
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == f"{field}_invalid"
