"""Chat CRUD, ownership and pagination (SPEC §10, §13, §14)."""

from __future__ import annotations

import uuid

from tests.support.chats import chat_model, new_chat
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_model, add_provider


async def test_a_chat_without_a_model_uses_the_default_and_without_one_is_refused(
    env: Env, fake: FakeUpstream
) -> None:
    _, member = await env.new_user("alice")
    refused = await env.client.post("/api/v1/chats", json={}, headers=env.auth(member))
    assert refused.status_code == 400
    assert refused.json()["code"] == "no_default_model"

    model = await chat_model(env, fake.url)
    chat = await new_chat(env, member, title="  Plans  ")
    assert chat["model_config_id"] == model["id"]
    assert chat["title"] == "Plans"
    assert chat["archived"] is False
    assert set(chat) == {"id", "title", "model_config_id", "archived", "created_at", "updated_at"}


async def test_a_model_the_member_may_not_see_is_model_not_found(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    # A disabled model counts as unknown (as on /v1).
    hidden = await add_provider(
        env,
        family="openai-compat",
        name="hidden",
        base_url=fake.url + "/v1",
        api_key="sk-hidden-key-0123456789",
    )
    hidden_model = await add_model(env, provider_config_id=hidden["id"], model="h", name="h")
    owner = env.auth(env.owner_token)
    disabled = await env.client.patch(
        f"/api/v1/models/{hidden_model['id']}", json={"enabled": False}, headers=owner
    )
    assert disabled.status_code == 200, disabled.text
    _, member = await env.new_user("alice")
    for model_id in (hidden_model["id"], str(uuid.uuid4())):
        response = await env.client.post(
            "/api/v1/chats", json={"model_config_id": model_id}, headers=env.auth(member)
        )
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "model_not_found"


async def test_get_patch_delete_belong_to_the_owner_only(env: Env, fake: FakeUpstream) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    _, bob = await env.new_user("bob")
    _, admin = await env.new_user("boss", "admin")
    chat = await new_chat(env, alice, title="mine")
    path = f"/api/v1/chats/{chat['id']}"
    for token in (bob, admin, env.owner_token):
        headers = env.auth(token)
        calls = [
            await env.client.get(path, headers=headers),
            await env.client.patch(path, json={"title": "theirs"}, headers=headers),
            await env.client.get(f"{path}/messages", headers=headers),
            await env.client.post(f"{path}/messages", json={"content": "hi"}, headers=headers),
            await env.client.delete(path, headers=headers),
        ]
        assert [c.status_code for c in calls] == [404] * 5
        assert {c.json()["code"] for c in calls} == {"not_found"}
        listed = await env.client.get("/api/v1/chats", headers=headers)
        assert listed.json()["items"] == []
    mine = await env.client.get(path, headers=env.auth(alice))
    assert mine.status_code == 200
    assert mine.json()["title"] == "mine"

    patched = await env.client.patch(
        path, json={"title": "renamed", "archived": True}, headers=env.auth(alice)
    )
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["archived"]) == ("renamed", True)
    assert patched.json()["model_config_id"] == chat["model_config_id"]  # absent: unchanged
    bad_model = await env.client.patch(
        path, json={"model_config_id": str(uuid.uuid4())}, headers=env.auth(alice)
    )
    assert (bad_model.status_code, bad_model.json()["code"]) == (404, "model_not_found")

    deleted = await env.client.delete(path, headers=env.auth(alice))
    assert deleted.status_code == 204
    gone = await env.client.get(path, headers=env.auth(alice))
    assert gone.status_code == 404


async def test_the_list_is_newest_first_and_paginates_with_a_cursor(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    headers = env.auth(alice)
    created = [await new_chat(env, alice, title=f"chat {n}") for n in range(5)]
    # Touching the oldest makes it the newest.
    touched = await env.client.patch(
        f"/api/v1/chats/{created[0]['id']}", json={"title": "chat 0 again"}, headers=headers
    )
    assert touched.status_code == 200
    expected = [created[0]["id"]] + [c["id"] for c in reversed(created[1:])]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await env.client.get("/api/v1/chats", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3

    first = await env.client.get("/api/v1/chats", params={"limit": 2}, headers=headers)
    mismatch = await env.client.get(
        "/api/v1/chats",
        params={"limit": 2, "cursor": first.json()["next_cursor"], "archived": "true"},
        headers=headers,
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "cursor_mismatch")
    too_many = await env.client.get("/api/v1/chats", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422
    default = await env.client.get("/api/v1/chats", headers=headers)
    assert len(default.json()["items"]) == 5


async def test_the_archived_filter(env: Env, fake: FakeUpstream) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    headers = env.auth(alice)
    kept = await new_chat(env, alice, title="kept")
    old = await new_chat(env, alice, title="old")
    await env.client.patch(f"/api/v1/chats/{old['id']}", json={"archived": True}, headers=headers)
    archived = await env.client.get("/api/v1/chats", params={"archived": "true"}, headers=headers)
    live = await env.client.get("/api/v1/chats", params={"archived": "false"}, headers=headers)
    assert [c["id"] for c in archived.json()["items"]] == [old["id"]]
    assert [c["id"] for c in live.json()["items"]] == [kept["id"]]
