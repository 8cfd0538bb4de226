"""Chat retention (SPEC §10): the setting, and the purge of archived chats past it.

A purge pass deletes archived chats whose ``updated_at`` is older than the window, oldest
first, in batches of 1,000 (one transaction each, so the tables are never locked for
long). On PostgreSQL every batch first takes a transaction-scoped advisory lock: when
another process holds it, that process is purging and this pass stops — one purger at a
time however many replicas and workers run. SQLite serves one machine and serialises its
writes. Every pass writes one audit row with what it deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.db.engine import Database
from chatgate.errors import ApiError
from chatgate.ids import utcnow
from chatgate.metrics import Metrics
from chatgate.store import chats as chat_store
from chatgate.store import settings as settings_store

log = logging.getLogger("chatgate.chats")

RETENTION_SETTING = "chat_retention_days"
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
PURGE_BATCH = 1000


async def get_retention_days(session: AsyncSession) -> int:
    row = await settings_store.get_setting(session, RETENTION_SETTING)
    if row is None or not isinstance(row.value, int) or isinstance(row.value, bool):
        return DEFAULT_RETENTION_DAYS
    return row.value


async def set_retention_days(session: AsyncSession, actor: Actor, days: int) -> None:
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise ApiError(
            400,
            "retention_days_invalid",
            f"retention_days: must be between 0 and {MAX_RETENTION_DAYS} (0 = never purge)",
            {"field": "retention_days"},
        )
    row = await settings_store.get_setting(session, RETENTION_SETTING)
    before = await get_retention_days(session)
    if row is None:
        settings_store.add_setting(session, RETENTION_SETTING, days, actor.user_id)  # type: ignore[arg-type]
    else:
        row.value = days
        row.updated_at = utcnow()
        row.updated_by = actor.user_id
    await record(
        session,
        actor,
        "setting.update",
        "setting",
        RETENTION_SETTING,
        before={"retention_days": before},
        after={"retention_days": days},
    )


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    retention_days: int
    cutoff: datetime | None  # None when purging is off (0 days)
    skipped_busy: bool  # another process held the purge lock


async def purgeable(db: Database, now: datetime) -> int:
    """How many chats a pass would delete now (for a progress bar)."""

    async def work(session: AsyncSession) -> int:
        days = await get_retention_days(session)
        if days == 0:
            return 0
        return await chat_store.count_purgeable(session, now - timedelta(days=days))

    return await db.read(work)


async def purge(
    db: Database,
    actor: Actor,
    *,
    now: datetime | None = None,
    batch: int = PURGE_BATCH,
    progress: Callable[[int], None] | None = None,
    metrics: Metrics | None = None,
) -> PurgeResult:
    now = now or utcnow()
    days = await db.read(get_retention_days)
    cutoff = None if days == 0 else now - timedelta(days=days)
    deleted = 0
    busy = False

    async def one_batch(session: AsyncSession, before: datetime) -> int | None:
        if not await chat_store.try_purge_lock(session):
            return None
        return await chat_store.purge_archived_batch(session, before, batch)

    while cutoff is not None:
        count = await db.write(functools.partial(one_batch, before=cutoff), notify=False)
        if count is None:
            busy = True
            break
        deleted += count
        if metrics is not None and count:
            metrics.chats_purged.inc(count)
        if progress is not None and count:
            progress(count)
        if count < batch:
            break

    async def audit(session: AsyncSession) -> None:
        await record(
            session,
            actor,
            "chats.purge",
            "chats",
            None,
            after={
                "deleted": deleted,
                "retention_days": days,
                "cutoff": cutoff,
                "skipped_busy": busy,
            },
        )

    await db.write(audit, notify=False)
    return PurgeResult(deleted=deleted, retention_days=days, cutoff=cutoff, skipped_busy=busy)


@contextlib.asynccontextmanager
async def purging(db: Database, metrics: Metrics, interval_s: float) -> AsyncIterator[None]:
    """The server's purge task: one pass every ``interval_s`` seconds (0: off)."""
    if interval_s <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                result = await purge(db, Actor.system(), metrics=metrics)
            except Exception as error:  # a failed pass is retried at the next interval
                log.warning("chat purge failed: %s", type(error).__name__)
                continue
            if result.deleted:
                log.info("chat purge deleted %d archived chat(s)", result.deleted)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
