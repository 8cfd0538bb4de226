"""Building the gateway's parts for an app and running them for its lifetime."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Route

from chatgate.gateway.asgi import ChatCompletionsEndpoint, ModelEndpoint, ModelsEndpoint
from chatgate.gateway.chat_replies import GatewayReplyEngine
from chatgate.gateway.following import SnapshotFollower
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.keystate import KeyStateWriter
from chatgate.gateway.service import Gateway
from chatgate.gateway.snapshot import SnapshotHolder
from chatgate.runtime import Runtime
from chatgate.settings import split_list
from chatgate.store import settings as settings_store
from chatgate.upstream.http import UpstreamClient
from chatgate.usage.last_used import LastUsedTracker
from chatgate.usage.recorder import UsageRecorder

log = logging.getLogger("chatgate.gateway")

INSTALLATION_ID_SETTING = "installation_id"


@dataclass
class GatewayParts:
    holder: SnapshotHolder
    gateway: Gateway
    usage: UsageRecorder
    last_used: LastUsedTracker
    client: UpstreamClient
    chat_replies: GatewayReplyEngine

    def routes(self) -> list[Route]:
        return [
            Route("/v1/models", ModelsEndpoint(self.holder, self.gateway), methods=["GET"]),
            Route(
                "/v1/models/{model:path}",
                ModelEndpoint(self.holder, self.gateway),
                methods=["GET"],
            ),
            Route(
                "/v1/chat/completions",
                ChatCompletionsEndpoint(self.holder, self.gateway),
                methods=["POST"],
            ),
        ]


def build_gateway(runtime: Runtime) -> GatewayParts:
    settings = runtime.settings
    holder = SnapshotHolder(runtime.db, runtime.deployment)
    runtime.db.write_listeners.append(holder.invalidate)
    usage = UsageRecorder(runtime.db, on_drop=runtime.metrics.usage_dropped.inc)
    client = UpstreamClient(
        allow_cidrs=split_list(settings.upstream_allow_cidrs),
        deny_cidrs=split_list(settings.upstream_deny_cidrs),
    )
    last_used = LastUsedTracker(runtime.db)
    health = KeyHealth()
    gateway = Gateway(
        settings=settings,
        deployment=runtime.deployment,
        keyring=runtime.keyring,
        metrics=runtime.metrics,
        client=client,
        usage=usage,
        last_used=last_used,
        health=health,
        key_states=KeyStateWriter(runtime.db, health),
        installation_id=settings.installation_id or "",
    )
    return GatewayParts(
        holder=holder,
        gateway=gateway,
        usage=usage,
        last_used=last_used,
        client=client,
        chat_replies=GatewayReplyEngine(holder, gateway),
    )


async def _installation_id(session: AsyncSession) -> str:
    """One id per installation (shared by replicas), created on first use."""
    stored = await settings_store.ensure_setting(
        session, INSTALLATION_ID_SETTING, secrets.token_hex(16)
    )
    return str(stored)


@contextlib.asynccontextmanager
async def running(parts: GatewayParts, runtime: Runtime) -> AsyncIterator[None]:
    if not parts.gateway.installation_id:
        parts.gateway.installation_id = await runtime.db.write(_installation_id, notify=False)
    await parts.client.start()
    parts.usage.start()
    parts.last_used.start()
    try:
        async with SnapshotFollower(parts.holder, parts.gateway.health, runtime).following():
            # Warm after the feed listens, so no change falls between the two; the first
            # request then does not pay for the load.
            await parts.holder.get()
            yield
    finally:
        await parts.gateway.key_states.drain()
        await parts.usage.stop()
        await parts.last_used.stop()
        await parts.client.close()
