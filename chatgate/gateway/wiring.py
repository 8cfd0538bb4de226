"""Building the gateway's parts for an app and running them for its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Route

from chatgate.db import config_version
from chatgate.encryption.registry import digest_states
from chatgate.gateway.asgi import ChatCompletionsEndpoint, ModelsEndpoint
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.keystate import KeyStateWriter
from chatgate.gateway.service import Gateway
from chatgate.gateway.snapshot import SnapshotHolder
from chatgate.runtime import Runtime
from chatgate.store import settings as settings_store
from chatgate.upstream.http import UpstreamClient
from chatgate.usage.last_used import LastUsedTracker
from chatgate.usage.recorder import UsageRecorder

log = logging.getLogger("chatgate.gateway")

INSTALLATION_ID_SETTING = "installation_id"
FULL_RELOAD_INTERVAL_S = 60.0
POLL_INTERVAL_S = 1.0


@dataclass
class GatewayParts:
    holder: SnapshotHolder
    gateway: Gateway
    usage: UsageRecorder
    last_used: LastUsedTracker
    client: UpstreamClient

    def routes(self) -> list[Route]:
        return [
            Route("/v1/models", ModelsEndpoint(self.holder, self.gateway), methods=["GET"]),
            Route(
                "/v1/chat/completions",
                ChatCompletionsEndpoint(self.holder, self.gateway),
                methods=["POST"],
            ),
        ]


def _cidrs(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_gateway(runtime: Runtime) -> GatewayParts:
    settings = runtime.settings
    holder = SnapshotHolder(runtime.db, runtime.deployment)
    runtime.db.write_listeners.append(holder.invalidate)
    usage = UsageRecorder(runtime.db, on_drop=runtime.metrics.usage_dropped.inc)
    client = UpstreamClient(
        allow_cidrs=_cidrs(settings.upstream_allow_cidrs),
        deny_cidrs=_cidrs(settings.upstream_deny_cidrs),
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
        holder=holder, gateway=gateway, usage=usage, last_used=last_used, client=client
    )


async def _installation_id(session: AsyncSession) -> str:
    """One id per installation (shared by replicas), created on first use."""
    row = await settings_store.get_setting(session, INSTALLATION_ID_SETTING)
    if row is None:
        row = settings_store.add_setting(session, INSTALLATION_ID_SETTING, secrets.token_hex(16))
    return str(row.value)


async def _follow_changes(holder: SnapshotHolder, runtime: Runtime) -> None:
    """Reload when another process changed configuration (the CLI, another replica, a key
    rotation) and every 60 s in any case (SPEC §11). Polls the configuration version once a
    second. A reload also refreshes which encryption keys are revoked, so a replica whose
    primary key was revoked stops sealing within seconds (§7)."""
    db = runtime.db
    loop = asyncio.get_running_loop()
    last_full = loop.time()
    seen = await db.read(config_version.current)
    while True:
        await asyncio.sleep(POLL_INTERVAL_S)
        try:
            version = await db.read(config_version.current)
        except Exception as error:  # the database is away: keep serving, try again
            log.warning("configuration poll failed: %s", type(error).__name__)
            continue
        if version != seen or loop.time() - last_full >= FULL_RELOAD_INTERVAL_S:
            seen = version
            await _reload_quietly(holder, runtime)
            last_full = loop.time()


async def _reload_quietly(holder: SnapshotHolder, runtime: Runtime) -> None:
    try:
        await holder.reload()
        states = await runtime.db.read(digest_states)
        runtime.keyring.revoked = frozenset(d for d, state in states.items() if state == "revoked")
    except Exception as error:  # keep serving the last good snapshot
        log.warning("snapshot reload failed: %s", type(error).__name__)


@contextlib.asynccontextmanager
async def running(parts: GatewayParts, runtime: Runtime) -> AsyncIterator[None]:
    if not parts.gateway.installation_id:
        parts.gateway.installation_id = await runtime.db.write(_installation_id, notify=False)
    await parts.client.start()
    parts.usage.start()
    parts.last_used.start()
    await parts.holder.get()  # warm: the first request should not pay for the load
    follower = asyncio.create_task(_follow_changes(parts.holder, runtime), name="snapshot-follower")
    try:
        yield
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await parts.gateway.key_states.drain()
        await parts.usage.stop()
        await parts.last_used.stop()
        await parts.client.close()
