"""``last_used_at`` of tokens and pool keys, kept in memory and written at most once per
minute per row (SPEC §15), unaudited and off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.engine import Database
from chatgate.store.usage import write_last_used

log = logging.getLogger("chatgate.usage")

WRITE_INTERVAL_S = 60.0


class LastUsedTracker:
    def __init__(self, db: Database, interval_s: float = WRITE_INTERVAL_S) -> None:
        self._db = db
        self._interval_s = interval_s
        self._tokens: dict[uuid.UUID, datetime] = {}
        self._keys: dict[uuid.UUID, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def token_used(self, token_id: uuid.UUID, at: datetime) -> None:
        self._tokens[token_id] = at

    def key_used(self, key_id: uuid.UUID, at: datetime) -> None:
        self._keys[key_id] = at

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="last-used-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        tokens, self._tokens = self._tokens, {}
        keys, self._keys = self._keys, {}
        if not tokens and not keys:
            return

        async def write(session: AsyncSession) -> None:
            await write_last_used(session, tokens, keys)

        try:
            await self._db.write(write, notify=False)
        except Exception as error:  # keep serving; a timestamp is not worth failing for
            log.warning("last_used_at write failed: %s", type(error).__name__)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()
