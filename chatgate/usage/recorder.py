"""A bounded in-memory queue of usage rows flushed by one background task.

Requests never wait on it: ``record`` is a non-blocking append; when the queue is full the
row is dropped and counted (``chatgate_usage_dropped_total``). The flusher writes every
second or as soon as 500 rows wait; ``stop`` drains everything still queued. A batch's
rollups (``chatgate.usage.rollups``) are written in the same transaction as its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.engine import Database
from chatgate.errors import DatabaseUnavailableError
from chatgate.ids import new_id
from chatgate.store.usage import insert_usage_rows
from chatgate.usage.rollup import RequestMemory, RollupKey, Tally, tally_rows
from chatgate.usage.rollups import add_to_rollups

log = logging.getLogger("chatgate.usage")

FLUSH_INTERVAL_S = 1.0
FLUSH_BATCH = 500
QUEUE_LIMIT = 50_000
TALLY_SLICE = 50  # rows tallied between two yields to the event loop (well under 1 ms)


class UsageRow(NamedTuple):
    request_id: str
    user_id: uuid.UUID | None
    model_config_id: uuid.UUID | None
    provider_config_id: uuid.UUID | None
    key_id: uuid.UUID | None
    key_source: str | None
    status: int
    error_class: str | None
    attempt: int
    latency_ms: float
    ttfb_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    created_at: datetime


class UsageRecorder:
    def __init__(
        self, db: Database, *, on_drop: Callable[[], None] | None = None, limit: int = QUEUE_LIMIT
    ) -> None:
        self._db = db
        self._queue: deque[UsageRow] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One flush at a time: a caller that flushes while the background task is writing
        # waits for that write, so "flushed" means every row recorded so far is stored.
        self._flushing = asyncio.Lock()
        self.dropped = 0
        self.written = 0
        self._on_drop = on_drop
        # A request's attempts all pass through this recorder (one process serves it).
        self._requests = RequestMemory()
        # Tallied batches the database has not taken yet (an outage), oldest first.
        self._unwritten: deque[tuple[list[UsageRow], dict[RollupKey, Tally]]] = deque()
        self._unwritten_rows = 0

    def record(self, row: UsageRow) -> None:
        if len(self._queue) + self._unwritten_rows >= self._limit:
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop()
            return
        self._queue.append(row)
        if len(self._queue) >= FLUSH_BATCH:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-flusher")

    async def stop(self) -> None:
        """Drain the queue and stop the flusher (graceful shutdown loses nothing)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        async with self._flushing:
            await self._write_queued()

    async def _write_queued(self) -> None:
        # Rows are tallied once, when they leave the queue, in the order they were recorded
        # (a request counts once per group: ``RequestMemory``). A batch the database could
        # not take keeps its rows and tallies, and is written first by the next flush.
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(FLUSH_BATCH, len(self._queue)))]
            self._unwritten.append((batch, await self._tally(batch)))
            self._unwritten_rows += len(batch)
        while self._unwritten:
            batch, tallies = self._unwritten[0]
            rows = [{"id": new_id(), **row._asdict()} for row in batch]

            async def write(
                session: AsyncSession, rows: list[dict[str, object]] = rows, tallies: Any = tallies
            ) -> None:
                await insert_usage_rows(session, rows)
                await add_to_rollups(session, tallies)

            try:
                await self._db.write(write, notify=False)
                self.written += len(rows)
            except DatabaseUnavailableError:
                # An outage loses no usage while the queue has room: the batch stays.
                log.warning("usage flush: the database cannot be reached; %d rows kept", len(batch))
                return
            except Exception as error:  # keep serving; the rows are lost, say so
                log.error("usage flush failed (%s); %d rows lost", type(error).__name__, len(rows))
            self._unwritten.popleft()
            self._unwritten_rows -= len(batch)

    async def _tally(self, batch: list[UsageRow]) -> dict[RollupKey, Tally]:
        """The batch's rollup deltas, a slice at a time: the event loop also serves the
        gateway, and a whole batch would hold it for several milliseconds (SPEC §15)."""
        tallies: dict[RollupKey, Tally] = {}
        for start in range(0, len(batch), TALLY_SLICE):
            tally_rows(batch[start : start + TALLY_SLICE], self._requests, into=tallies)
            await asyncio.sleep(0)
        return tallies

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=FLUSH_INTERVAL_S)
            self._wake.clear()
            await self.flush()
