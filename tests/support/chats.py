"""Chats through the API: a model served by a fake upstream, posting, reading SSE."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from chatgate.db.tables import ChatMessage
from tests.support.helpers import Env, add_model, add_provider

KEY = "sk-chat-upstream-key-0123456789"


async def chat_model(env: Env, upstream_url: str, **model_fields: Any) -> dict[str, Any]:
    """An openai provider config at the fake upstream and a model ``chat`` (the default)."""
    provider = await add_provider(
        env, family="openai", name="acme", base_url=upstream_url + "/v1", api_key=KEY
    )
    return await add_model(
        env, provider_config_id=provider["id"], model="gpt-up", name="chat", **model_fields
    )


async def new_chat(env: Env, token: str, **body: Any) -> dict[str, Any]:
    response = await env.client.post("/api/v1/chats", json=body, headers=env.auth(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


def sse_events(text: str) -> list[tuple[str, Any]]:
    """``(event, data)`` pairs of a chat reply stream."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        events.append((name, json.loads(data)))
    return events


async def post_message(
    env: Env, token: str, chat_id: str, content: str, *, stream: bool = True
) -> httpx.Response:
    return await env.client.post(
        f"/api/v1/chats/{chat_id}/messages",
        params={} if stream else {"stream": "false"},
        json={"content": content},
        headers=env.auth(token),
    )


async def stored_messages(env: Env, chat_id: str) -> list[ChatMessage]:
    """The chat's rows as stored, oldest first."""
    chat_uuid = uuid.UUID(chat_id)

    async def read(session: Any) -> list[ChatMessage]:
        query = (
            select(ChatMessage)
            .where(ChatMessage.chat_id == chat_uuid)
            .order_by(ChatMessage.created_at, ChatMessage.id)
        )
        return list((await session.execute(query)).scalars().all())

    return await env.runtime.db.read(read)
