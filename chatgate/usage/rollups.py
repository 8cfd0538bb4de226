"""Keeping usage rollups and reading a window from them (``chatgate.usage.rollup`` holds
the arithmetic).

Writing: the recorder adds each batch's tallies in the transaction that inserts the batch,
under a lock, so rollups always count exactly the stored rows. Reading a window: whole UTC
days from day rollups, the whole hours around them from hour rollups, and the partial
hours at the edges from the usage rows themselves. Periods before the setting
``usage_rollups_from`` (a database upgraded with usage already recorded) are read from
the usage rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.engine import Database
from chatgate.store import settings as settings_store
from chatgate.store import usage as usage_store
from chatgate.usage.rollup import (
    DAY,
    HOUR,
    RequestMemory,
    RollupKey,
    Tally,
    ceil_day,
    ceil_hour,
    floor_day,
    floor_hour,
    tally_rows,
)

ROLLUPS_FROM_SETTING = "usage_rollups_from"
REBUILD_BATCH = 50_000


async def add_to_rollups(session: AsyncSession, tallies: dict[RollupKey, Tally]) -> None:
    if not tallies:
        return
    await usage_store.lock_rollups(session)
    periods = sorted({(period, start) for period, start, _, _ in tallies})
    stored = {
        (row.period, row.period_start, row.group_by, row.group_value): row
        for row in await usage_store.rollups_of_periods(session, periods)
    }
    new_rows, changed_rows = [], []
    for (period, start, kind, key), tally in tallies.items():
        row = stored.get((period, start, kind, key))
        if row is None:
            new_rows.append(_values(period, start, kind, key, tally))
        else:
            merged = _tally_of(row)
            merged.merge(tally)
            changed_rows.append(_values(period, start, kind, key, merged))
    await usage_store.insert_rollups(session, new_rows)
    await usage_store.update_rollups(session, changed_rows)


def _values(period: str, start: datetime, kind: str, key: str, tally: Tally) -> dict[str, Any]:
    return {
        "group_by": kind,
        "period": period,
        "period_start": start,
        "group_value": key,
        "requests": tally.requests,
        "attempts": tally.attempts,
        "errors": tally.errors,
        "input_tokens": tally.input_tokens,
        "output_tokens": tally.output_tokens,
        "latency_histogram": tally.histogram,
    }


def _tally_of(row: Any, *, copy: bool = True) -> Tally:
    """The row's totals; without ``copy`` the histogram is the row's own (read only)."""
    return Tally(
        requests=row.requests,
        attempts=row.attempts,
        errors=row.errors,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        histogram=dict(row.latency_histogram) if copy else row.latency_histogram,
    )


async def rollups_from(session: AsyncSession) -> datetime | None:
    """Where rollups start to be complete; ``None``: they cover every stored row."""
    row = await settings_store.get_setting(session, ROLLUPS_FROM_SETTING)
    if row is None or not isinstance(row.value, str):
        return None
    return datetime.fromisoformat(row.value)


@dataclass(frozen=True, slots=True)
class Plan:
    """How a window ``[since, until)`` is read: rollup ranges and raw edges."""

    days: tuple[datetime | None, datetime] | None  # [from, before) of day rollups
    hours: tuple[tuple[datetime, datetime], ...]  # [from, before) ranges of hour rollups
    raw: tuple[tuple[datetime | None, datetime | None], ...]  # [since, until) of usage rows


def plan_window(
    since: datetime | None, until: datetime | None, now: datetime, complete_from: datetime | None
) -> Plan | None:
    """The reading plan, or ``None`` when the window holds no whole hour of rollups (the
    usage rows alone answer it then)."""
    start = ceil_hour(since) if since is not None else None
    if complete_from is not None:
        start = (
            max(start, ceil_hour(complete_from)) if start is not None else ceil_hour(complete_from)
        )
    end = floor_hour(until if until is not None else now)
    if start is not None and start >= end:
        return None
    raw: list[tuple[datetime | None, datetime | None]] = []
    if start is not None and (since is None or since < start):
        raw.append((since, start))
    raw.append((end, until))
    last_day = floor_day(end)
    if start is None:
        hours = ((last_day, end),) if last_day < end else ()
        return Plan(days=(None, last_day), hours=hours, raw=tuple(raw))
    first_day = ceil_day(start)
    if first_day >= last_day:
        return Plan(days=None, hours=((start, end),), raw=tuple(raw))
    edges = [(start, first_day)] if start < first_day else []
    if last_day < end:
        edges.append((last_day, end))
    return Plan(days=(first_day, last_day), hours=tuple(edges), raw=tuple(raw))


async def window_tallies(
    session: AsyncSession, kind: str, plan: Plan, *, by_day: bool = False
) -> dict[str, Tally]:
    """Totals per group key (per ``YYYY-MM-DD`` with ``by_day``) over the planned window.
    ``by_day`` reads the model rollups: every usage row has exactly one model group."""
    totals: dict[str, Tally] = {}

    def add(key: str, tally: Tally) -> None:
        totals.setdefault(key, Tally()).merge(tally)

    ranges: list[tuple[str, datetime | None, datetime]] = []
    if plan.days is not None:
        ranges.append((DAY, *plan.days))
    ranges += [(HOUR, start, before) for start, before in plan.hours]
    for period, start, before in ranges:
        for row in await usage_store.read_rollups(
            session, kind, period, start_from=start, start_before=before
        ):
            add(floor_day(row.period_start).date().isoformat() if by_day else row.group_value,
                _tally_of(row, copy=False))  # fmt: skip
    memory = RequestMemory()
    for since, until in plan.raw:
        rows = await usage_store.raw_usage_rows(session, since, until)
        for (_, start, _, key), tally in tally_rows(
            rows, memory, kinds=(kind,), hours=False
        ).items():
            add(start.date().isoformat() if by_day else key, tally)
    return totals


async def rebuild_rollups(db: Database) -> int:
    """Recompute every rollup from the stored usage rows (after rows were written around
    the recorder, e.g. imported or seeded); afterwards rollups cover every row. Returns the
    number of rows read."""

    async def work(session: AsyncSession) -> int:
        await usage_store.lock_rollups(session)
        await usage_store.delete_rollups(session)
        memory = RequestMemory()
        tallies: dict[RollupKey, Tally] = {}
        count = 0
        async for rows in usage_store.usage_row_batches(session, REBUILD_BATCH):
            for key, tally in tally_rows(rows, memory).items():
                tallies.setdefault(key, Tally()).merge(tally)
            count += len(rows)
        await add_to_rollups(session, tallies)
        await settings_store.delete_setting(session, ROLLUPS_FROM_SETTING)
        return count

    return await db.write(work, notify=False)
