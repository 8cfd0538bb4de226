"""Keeping this process's snapshot current with changes committed anywhere (SPEC §11).

The change feed (``chatgate.db.changes``) says which kinds changed; a kind the snapshot
holds makes it reload (requests keep the old snapshot meanwhile; the holder's generation
counter keeps a load that raced a newer change from counting as fresh). A change of
encryption keys refreshes which digests are revoked, so a replica whose primary key was
revoked stops sealing at once (§7). Everything is reloaded every 60 s in any case.

Every snapshot kind is reloaded together: one load of the whole snapshot is one read
transaction of a few queries (a few milliseconds for thousands of rows), and a partial
load would have to re-derive every model's candidates anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from chatgate.db.changes import FULL, change_feed
from chatgate.encryption.registry import digest_states
from chatgate.gateway.snapshot import SnapshotHolder
from chatgate.runtime import Runtime

log = logging.getLogger("chatgate.gateway")

FULL_RELOAD_INTERVAL_S = 60.0
FIRST_CONNECT_WAIT_S = 5.0
SNAPSHOT_KINDS = frozenset(
    {"user", "token", "provider", "provider_key", "cooldown", "model", "user_key"}
)
KEY_KINDS = frozenset({"encryption_key"})


class SnapshotFollower:
    def __init__(self, holder: SnapshotHolder, runtime: Runtime) -> None:
        self._holder = holder
        self._runtime = runtime

    async def on_change(self, kinds: frozenset[str]) -> None:
        full = FULL in kinds
        try:
            if full or kinds & SNAPSHOT_KINDS:
                self._holder.invalidate()
                await self._holder.reload()
                self._runtime.changes.snapshot_generation = self._holder.generation
            if full or kinds & KEY_KINDS:
                states = await self._runtime.db.read(digest_states)
                self._runtime.keyring.revoked = frozenset(
                    digest for digest, state in states.items() if state == "revoked"
                )
        except Exception as error:  # keep serving the last good snapshot
            log.warning("snapshot reload failed: %s", type(error).__name__)

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
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _reload_periodically(self) -> None:
        while True:
            await asyncio.sleep(FULL_RELOAD_INTERVAL_S)
            await self.on_change(frozenset({FULL}))
