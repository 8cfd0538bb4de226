"""Asking the gateway and reading what it recorded."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from chatgate.db.tables import UsageEvent
from tests.support.helpers import Env

USER_MESSAGE = [{"role": "user", "content": "Say hello"}]


async def ask_chat(env: Env, **body: Any) -> httpx.Response:
    """``POST /v1/chat/completions`` as the owner, for the model ``chat`` unless ``body``
    says otherwise."""
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE} | body,
        headers=env.auth(env.owner_token),
    )


async def usage_rows(env: Env) -> list[UsageEvent]:
    """Every usage row, oldest first, after flushing what the recorder still holds."""
    await env.app.state.gateway.usage.flush()

    async def read(session: Any) -> list[UsageEvent]:
        query = select(UsageEvent).order_by(UsageEvent.created_at, UsageEvent.id)
        return list((await session.execute(query)).scalars().all())

    return await env.runtime.db.read(read)
