"""One reply at a time per chat, held by the database (SPEC §10)."""

from __future__ import annotations

import asyncio

from tests.support.chats import chat_model, new_chat, post_message, stored_messages
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env
from tests.support.providers import pg_only


@pg_only
async def test_two_concurrent_posts_to_one_chat_start_exactly_one_reply(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    hold = asyncio.Event()
    fake.script(text="Only one.", hold=hold)

    posts = [
        asyncio.create_task(post_message(env, alice, chat["id"], f"post {n}", stream=False))
        for n in range(2)
    ]
    done, pending = await asyncio.wait(posts, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1, "one post must be refused while the other waits for its reply"
    refused = done.pop().result()
    assert refused.status_code == 409
    assert refused.json()["code"] == "reply_in_progress"
    hold.set()
    answered = await pending.pop()
    assert answered.status_code == 201, answered.text
    assert answered.json()["content"] == "Only one."
    assert len(fake.requests) == 1
    rows = await stored_messages(env, chat["id"])
    assert [(r.role, r.status) for r in rows] == [("user", "complete"), ("assistant", "complete")]


async def test_a_post_while_a_reply_streams_is_refused_then_accepted(
    env: Env, fake: FakeUpstream
) -> None:
    await chat_model(env, fake.url)
    _, alice = await env.new_user("alice")
    chat = await new_chat(env, alice)
    hold = asyncio.Event()
    fake.script(text="First.", hold=hold)
    first = asyncio.create_task(post_message(env, alice, chat["id"], "one", stream=False))
    await fake.wait_for_requests(1)
    second = await post_message(env, alice, chat["id"], "two", stream=False)
    assert (second.status_code, second.json()["code"]) == (409, "reply_in_progress")
    hold.set()
    assert (await first).status_code == 201
    third = await post_message(env, alice, chat["id"], "three", stream=False)
    assert third.status_code == 201, third.text
    # The refused message was not stored.
    rows = await stored_messages(env, chat["id"])
    assert [r.content for r in rows if r.role == "user"] == ["one", "three"]
