"""Storing what the upstream said about a pool key (SPEC §8), for every process.

A 401 makes the key invalid: the mark applies in memory at once (``KeyHealth``) and is
written in the background with one audit row (source ``system``). Once stored, the snapshot
carries the state and the in-memory mark is dropped, so an admin who re-enables the key or
replaces its secret brings it back everywhere.

A 429/402 cools the (key, upstream model) pair down: in memory at once, and stored — at
most once a second per pair, and only when it lengthens what was stored — so the other
processes skip the key too (they hear it through the change feed). Cooldowns are not
audited: they come and go with traffic.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.db.engine import Database
from chatgate.db.tables import KeyState
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.snapshot import PoolKey
from chatgate.ids import utcnow
from chatgate.store import cooldowns as cooldown_store
from chatgate.store import providers as store

log = logging.getLogger("chatgate.gateway")

COOLDOWN_WRITE_INTERVAL_S = 1.0


class KeyStateWriter:
    def __init__(self, db: Database, health: KeyHealth) -> None:
        self._db = db
        self._health = health
        self._pending: set[asyncio.Task[None]] = set()
        # (key, model) -> (when last written, the cooldown end written then)
        self._cooldowns_written: dict[tuple[uuid.UUID, str], tuple[float, datetime]] = {}

    def cooled(self, key: PoolKey, upstream_model: str, until: datetime) -> None:
        """The pair cools down until ``until`` (already applied in memory)."""
        slot = (key.id, upstream_model)
        now = time.monotonic()
        written = self._cooldowns_written.get(slot)
        if written is not None and (
            now - written[0] < COOLDOWN_WRITE_INTERVAL_S or until <= written[1]
        ):
            return
        self._cooldowns_written[slot] = (now, until)
        self._spawn(self._store_cooldown(key.id, upstream_model, until))

    async def _store_cooldown(
        self, key_id: uuid.UUID, upstream_model: str, until: datetime
    ) -> None:
        async def work(session: AsyncSession) -> None:
            await cooldown_store.extend_cooldown(session, key_id, upstream_model, until, utcnow())

        try:
            # This process applied it already: no reload here, only the announcement.
            await self._db.write(work, invalidate_here=False)
        except Exception as error:  # the cooldown still holds in this process
            log.warning("storing a key cooldown failed: %s", type(error).__name__)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="key-state-writer")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def rejected(self, key: PoolKey, message: str) -> None:
        """The upstream answered 401 for this key (``message`` is already redacted)."""
        self._health.invalid(key)
        self._spawn(self._store(key, message))

    async def _store(self, key: PoolKey, message: str) -> None:
        async def work(session: AsyncSession) -> None:
            if await store.mark_key_invalid(session, key.id, key.sealed, message):
                await record(
                    session,
                    Actor.system(),
                    "provider_key.invalidate",
                    "provider_key",
                    key.id,
                    after={"state": KeyState.INVALID, "last_error": message},
                )

        try:
            await self._db.write(work)
            # The stored state now speaks for the key (after the snapshot reload this
            # write triggered); the in-memory mark would outlive an admin's reset.
            self._health.forget_invalid(key)
        except Exception as error:  # keep the in-memory mark; the key stays skipped here
            log.warning("storing an invalid key state failed: %s", type(error).__name__)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
