"""Storing what the upstream said about a pool key (SPEC §8): a 401 makes the key invalid.

The mark applies in memory at once (``KeyHealth``) and is written to the database in the
background, with one audit row (source ``system``). Once stored, the snapshot carries the
state — for this process after its reload, for other processes through the configuration
version — and the in-memory mark is dropped, so an admin who re-enables the key or
replaces its secret brings it back everywhere. Cooldowns stay in memory per replica.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.db.engine import Database
from chatgate.db.tables import KeyState
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.snapshot import PoolKey
from chatgate.store import providers as store

log = logging.getLogger("chatgate.gateway")


class KeyStateWriter:
    def __init__(self, db: Database, health: KeyHealth) -> None:
        self._db = db
        self._health = health
        self._pending: set[asyncio.Task[None]] = set()

    def rejected(self, key: PoolKey, message: str) -> None:
        """The upstream answered 401 for this key (``message`` is already redacted)."""
        self._health.invalid(key)
        task = asyncio.create_task(self._store(key, message), name="key-state-writer")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

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
