"""Keeping this process's snapshot current with changes committed anywhere (SPEC §11).

The change feed (``chatgate.db.changes``) says which kinds changed:

- a kind the snapshot holds reloads the snapshot (requests keep the current one meanwhile,
  and if the load fails; the holder's generation counter keeps a load that raced a newer
  in-process change from counting as fresh). Those kinds are reloaded together: one load
  is one read transaction of a few queries, and a partial one would have to re-derive
  every model's candidates anyway;
- stored key cooldowns, which change with traffic, are read again on their own;
- a change of encryption keys refreshes which digests are revoked, so a replica whose
  primary key was revoked stops sealing at once (§7).

Everything is reloaded every 60 s in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from chatgate.db.changes import FULL, change_feed
from chatgate.encryption.registry import digest_states
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.snapshot import SnapshotHolder
from chatgate.ids import utcnow
from chatgate.runtime import Runtime
from chatgate.store.cooldowns import active_cooldowns

log = logging.getLogger("chatgate.gateway")

FULL_RELOAD_INTERVAL_S = 60.0
FIRST_CONNECT_WAIT_S = 5.0
SNAPSHOT_KINDS = frozenset({"user", "token", "provider", "provider_key", "model", "user_key"})
KEY_KINDS = frozenset({"encryption_key"})
COOLDOWN_KINDS = frozenset({"cooldown"})


class SnapshotFollower:
    def __init__(self, holder: SnapshotHolder, health: KeyHealth, runtime: Runtime) -> None:
        self._holder = holder
        self._health = health
        self._runtime = runtime

    async def on_change(self, kinds: frozenset[str]) -> None:
        full = FULL in kinds
        try:
            if full or kinds & SNAPSHOT_KINDS:
                # Not invalidated first: requests keep the current snapshot until the new one
                # is in, and keep it if the load fails (the database may be away).
                await self._holder.reload()
                # Which snapshot this process serves: one more with every load.
                self._runtime.changes.snapshot_generation = self._holder.loads
            if full or kinds & COOLDOWN_KINDS:
                # Cooldowns come and go with traffic: only they are read again.
                await self.refresh_cooldowns()
            if full or kinds & KEY_KINDS:
                states = await self._runtime.db.read(digest_states)
                self._runtime.keyring.revoked = frozenset(
                    digest for digest, state in states.items() if state == "revoked"
                )
        except Exception as error:  # keep serving the last good snapshot
            log.warning("snapshot reload failed: %s", type(error).__name__)

    async def refresh_cooldowns(self) -> None:
        now = utcnow()
        rows = await self._runtime.db.read(lambda session: active_cooldowns(session, now))
        self._health.replace_stored({(row.key_id, row.model): row.cooldown_until for row in rows})

    @contextlib.asynccontextmanager
    async def following(self) -> AsyncIterator[None]:
        """Follow the change feed, and reload everything every minute, while inside. Waits
        (a bounded time) for the feed's first connection, so a process that reports ready
        is already listening."""
        status = self._runtime.changes
        feed = change_feed(self._runtime.db, status)
        tasks = [
            asyncio.create_task(feed.follow(self.on_change), name="change-feed"),
            asyncio.create_task(self._reload_periodically(), name="snapshot-full-reload"),
        ]
        try:
            try:
                await asyncio.wait_for(status.first_connect.wait(), FIRST_CONNECT_WAIT_S)
            except TimeoutError:
                log.warning("the change feed is not connected yet; serving meanwhile")
            await self.refresh_cooldowns()
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _reload_periodically(self) -> None:
        while True:
            await asyncio.sleep(FULL_RELOAD_INTERVAL_S)
            await self.on_change(frozenset({FULL}))
