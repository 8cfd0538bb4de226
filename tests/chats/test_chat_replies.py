"""Posting messages: replies through the gateway's path, stored as they stream (SPEC §10)."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.chats import (
    chat_model,
    new_chat,
    post_message,
    sse_events,
    stored_messages,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import usage_rows
from tests.support.helpers import Env, add_model, add_provider, eventually


async def test_a_streamed_round_trip_is_stored_with_who_answered(
    env: Env, fake: FakeUpstream
) -> None:
    model = await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    fake.script(text="Hello there, Alice.", usage=(12, 5))

    response = await post_message(env, alice, chat["id"], "Say hello")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    deltas = [data["content"] for name, data in events if name == "delta"]
    assert "".join(deltas) == "Hello there, Alice."
    assert len(deltas) > 1
    name, done = events[-1]
    assert name == "done"
    assert done["content"] == "Hello there, Alice."
    assert done["status"] == "complete"
    assert done["usage"] == {"input_tokens": 12, "output_tokens": 5}

    # The upstream got the conversation in OpenAI's shape, with the upstream model id.
    sent = fake.requests[-1].json
    assert sent["model"] == "gpt-up"
    assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    assert fake.requests[-1].api_key == "sk-chat-upstream-key-0123456789"

    listed = await env.client.get(f"/api/v1/chats/{chat['id']}/messages", headers=env.auth(alice))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(m["role"], m["content"], m["status"]) for m in items] == [
        ("user", "Say hello", "complete"),
        ("assistant", "Hello there, Alice.", "complete"),
    ]
    reply = items[1]
    assert reply["id"] == done["id"]
    assert reply["model_config_id"] == model["id"]
    assert reply["provider_config_id"] == model["provider_config_id"]
    assert reply["key_source"] == "central"
    assert reply["usage"] == {"input_tokens": 12, "output_tokens": 5}
    assert set(reply) == {
        "id",
        "role",
        "content",
        "status",
        "model_config_id",
        "provider_config_id",
        "key_source",
        "usage",
        "created_at",
    }

    # Usage is recorded exactly as for /v1/chat/completions: one row per attempt.
    rows = await usage_rows(env)
    assert [(r.attempt, r.status, r.key_source, r.input_tokens, r.output_tokens) for r in rows] == [
        (1, 200, "central", 12, 5)
    ]
    assert (
        str(rows[0].user_id)
        == (await env.client.get("/api/v1/users/me", headers=env.auth(alice))).json()["id"]
    )

    # The chat moved to the top of the list.
    other = await new_chat(env, alice)
    await post_message(env, alice, chat["id"], "Again")
    listed_chats = await env.client.get("/api/v1/chats", headers=env.auth(alice))
    assert [c["id"] for c in listed_chats.json()["items"]] == [chat["id"], other["id"]]


async def test_a_non_streamed_reply_is_one_201_body(env: Env, fake: FakeUpstream) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    fake.script(text="Plain answer.")
    response = await post_message(env, alice, chat["id"], "Hi", stream=False)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["role"], body["content"], body["status"]) == (
        "assistant",
        "Plain answer.",
        "complete",
    )
    stored = await stored_messages(env, chat["id"])
    assert [(m.role, m.content) for m in stored] == [("user", "Hi"), ("assistant", "Plain answer.")]


async def test_history_is_sent_and_a_reply_failing_before_text_is_an_error(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    fake.script(text="First answer.")
    assert (await post_message(env, alice, chat["id"], "One", stream=False)).status_code == 201

    fake.script(status=500, error_message="boom")
    response = await post_message(env, alice, chat["id"], "Two")
    assert response.status_code == 200  # the stream itself answers 200
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["error"]
    assert events[0][1]["code"] == "upstream_error"
    assert set(events[0][1]) == {"code", "message"}
    assert fake.requests[-1].json["messages"] == [
        {"role": "user", "content": "One"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "Two"},
    ]
    stored = await stored_messages(env, chat["id"])
    assert [(m.role, m.content, m.status) for m in stored][2:] == [
        ("user", "Two", "complete"),
        ("assistant", "", "error"),
    ]

    # Non-streaming: the gateway's status and code, the reply stored as error.
    fake.script(status=500, error_message="boom")
    failed = await post_message(env, alice, chat["id"], "Three", stream=False)
    assert failed.status_code == 502
    assert failed.json()["code"] == "upstream_error"
    stored = await stored_messages(env, chat["id"])
    assert [(m.role, m.status) for m in stored][-1] == ("assistant", "error")
    # The slot is free again: the next message is answered.
    fake.script(text="Back.")
    again = await post_message(env, alice, chat["id"], "Four", stream=False)
    assert (again.status_code, again.json()["content"]) == (201, "Back.")
    # An errored reply (no text) is not sent upstream as history.
    assert {"role": "assistant", "content": ""} not in fake.requests[-1].json["messages"]


async def test_an_upstream_failure_after_text_stores_partial(env: Env, fake: FakeUpstream) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    # Chunks: role+first word, then words; the connection drops after two chunks.
    fake.script(text="alpha beta gamma delta epsilon", drop_after=2)
    response = await post_message(env, alice, chat["id"], "Go")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "error"
    assert names[:-1]
    assert set(names[:-1]) == {"delta"}
    text_so_far = "".join(data["content"] for name, data in events if name == "delta")
    assert text_so_far
    assert "epsilon" not in text_so_far
    stored = await stored_messages(env, chat["id"])
    assert (stored[-1].role, stored[-1].status, stored[-1].content) == (
        "assistant",
        "partial",
        text_so_far,
    )


async def test_a_client_leaving_mid_stream_cancels_upstream_and_stores_partial(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    script = fake.script(text="one two three four five six", stall_after=2)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live}/api/v1/chats/{chat['id']}/messages",
            json={"content": "Count"},
            headers=env.auth(alice),
        ) as response,
    ):
        assert response.status == 200
        received = b""
        while b"event: delta" not in received:
            piece = await response.content.readany()
            assert piece, f"the stream ended before any text: {received!r}"
            received += piece
        response.close()
    await asyncio.wait_for(fake.disconnected.wait(), timeout=10)
    script.release.set()

    async def partial_stored() -> bool:
        rows = await stored_messages(env, chat["id"])
        return len(rows) == 2 and rows[1].status == "partial"

    await eventually(partial_stored, what="the partial reply")
    rows = await stored_messages(env, chat["id"])
    # The upstream sent the role chunk and one word before stalling: that word is kept.
    assert rows[1].content == "one "
    # The chat takes the next message.
    fake.script(text="Done.")
    nxt = await post_message(env, alice, chat["id"], "Next", stream=False)
    assert nxt.status_code == 201, nxt.text


async def test_an_unavailable_model_answers_the_gateways_code_and_stores_nothing(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="byok",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    response = await post_message(env, alice, chat["id"], "Hi")
    assert response.status_code == 403
    assert response.json()["code"] == "user_api_key_required"
    assert set(response.json()) == {"code", "message", "detail"}
    assert await stored_messages(env, chat["id"]) == []
    assert fake.requests == []


async def test_a_deleted_model_is_409_naming_the_default(env: Env, fake: FakeUpstream) -> None:
    first = await chat_model(env, fake.url)
    second = await add_model(
        env, provider_config_id=first["provider_config_id"], model="gpt-two", name="two"
    )
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice, model_config_id=second["id"])
    owner = env.auth(env.owner_token)
    assert (
        await env.client.delete(f"/api/v1/models/{second['id']}", headers=owner)
    ).status_code == 204
    response = await post_message(env, alice, chat["id"], "Hi")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "model_deleted"
    assert "'chat'" in body["message"]
    assert body["detail"]["default_model"] == "chat"
    assert fake.requests == []
    # Switching the chat's model continues it.
    patched = await env.client.patch(
        f"/api/v1/chats/{chat['id']}",
        json={"model_config_id": first["id"]},
        headers=env.auth(alice),
    )
    assert patched.status_code == 200
    ok = await post_message(env, alice, chat["id"], "Hi", stream=False)
    assert ok.status_code == 201, ok.text


async def test_compression_leaves_out_the_oldest_but_never_the_newest_user_message(
    env: Env, fake: FakeUpstream
) -> None:
    # 50 % of 100 tokens = 200 characters of history.
    await chat_model(env, fake.url, context_limit=100, compression_threshold=50)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    long = ["a" * 120, "b" * 120, "c" * 120]
    fake.default.text = "Short reply."
    for content in long:
        response = await post_message(env, alice, chat["id"], content, stream=False)
        assert response.status_code == 201, response.text
    assert fake.requests[-1].json["messages"] == [
        {"role": "assistant", "content": "Short reply."},
        {"role": "user", "content": "c" * 120},
    ]
    # Storage keeps everything.
    assert len(await stored_messages(env, chat["id"])) == 6
    # A newest message that alone is over the budget is still sent.
    huge = "d" * 1000
    await post_message(env, alice, chat["id"], huge, stream=False)
    assert fake.requests[-1].json["messages"] == [{"role": "user", "content": huge}]


async def test_messages_paginate_oldest_first(env: Env, fake: FakeUpstream) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    for n in range(3):
        await post_message(env, alice, chat["id"], f"m{n}", stream=False)
    path = f"/api/v1/chats/{chat['id']}/messages"
    first = await env.client.get(path, params={"limit": 4}, headers=env.auth(alice))
    body = first.json()
    assert [m["content"] for m in body["items"] if m["role"] == "user"] == ["m0", "m1"]
    second = await env.client.get(
        path, params={"limit": 4, "cursor": body["next_cursor"]}, headers=env.auth(alice)
    )
    assert [m["content"] for m in second.json()["items"] if m["role"] == "user"] == ["m2"]
    assert second.json()["next_cursor"] is None
    other = await new_chat(env, alice)
    mismatch = await env.client.get(
        f"/api/v1/chats/{other['id']}/messages",
        params={"cursor": body["next_cursor"]},
        headers=env.auth(alice),
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "cursor_mismatch")


async def test_metrics_count_chats_replies_by_status_and_time_to_first_token(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    await new_chat(env, alice)
    fake.script(text="Fine.")
    await post_message(env, alice, chat["id"], "ok", stream=False)
    fake.script(status=500)
    await post_message(env, alice, chat["id"], "fails", stream=False)
    fake.script(text="alpha beta gamma", drop_after=2)
    await post_message(env, alice, chat["id"], "cut", stream=False)
    metrics = await env.client.get("/metrics", headers=env.auth(env.owner_token))
    assert metrics.status_code == 200
    lines = set(metrics.text.splitlines())
    assert "chatgate_chats_created_total 2.0" in lines
    assert 'chatgate_chat_replies_total{status="complete"} 1.0' in lines
    assert 'chatgate_chat_replies_total{status="error"} 1.0' in lines
    assert 'chatgate_chat_replies_total{status="partial"} 1.0' in lines
    # Two replies produced text: two first tokens were timed.
    assert "chatgate_chat_reply_first_token_seconds_count 2.0" in lines


async def test_the_reply_row_exists_from_the_first_text_while_streaming(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    script = fake.script(text="one two three", stall_after=3)
    posting = asyncio.create_task(post_message(env, alice, chat["id"], "Count"))

    async def row_while_streaming() -> bool:
        rows = await stored_messages(env, chat["id"])
        return len(rows) == 2 and rows[1].content.startswith("one ")

    await eventually(row_while_streaming, what="the reply row mid-stream")
    rows = await stored_messages(env, chat["id"])
    # What a crash now would leave: the text so far, marked partial.
    assert (rows[1].role, rows[1].status) == ("assistant", "partial")
    script.release.set()
    response = await posting
    assert sse_events(response.text)[-1][0] == "done"
    rows = await stored_messages(env, chat["id"])
    assert (rows[1].status, rows[1].content) == ("complete", "one two three")
