"""Usage rows and ``last_used_at`` timestamps: bulk writes off the request path, and the
totals ``GET /api/v1/usage`` reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    delete,
    distinct,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.sqlite_functions import MEDIAN
from chatgate.db.tables import (
    ApiToken,
    ModelConfig,
    ProviderConfig,
    ProviderKey,
    UsageEvent,
    UsageRollup,
    User,
)

USAGE_TABLE: Table = UsageEvent.__table__  # type: ignore[assignment]
ROLLUP_TABLE: Table = UsageRollup.__table__  # type: ignore[assignment]


async def insert_usage_rows(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> None:
    # Core insert on the table: no ORM unit-of-work for rows nobody reads back.
    await session.execute(insert(USAGE_TABLE), rows)


async def write_last_used(
    session: AsyncSession,
    tokens: Mapping[uuid.UUID, datetime],
    keys: Mapping[uuid.UUID, datetime],
) -> None:
    """Move ``last_used_at`` of API tokens and pool keys forward; rows deleted meanwhile
    match nothing, and a later time another process wrote is never moved back."""
    for table, seen in ((ApiToken, tokens), (ProviderKey, keys)):
        if seen:
            statement = (
                update(table)
                .where(table.id == bindparam("row_id"))
                .where(or_(table.last_used_at.is_(None), table.last_used_at < bindparam("at")))
                .values(last_used_at=bindparam("at"))
                .execution_options(synchronize_session=False)
            )
            connection = await session.connection()
            await connection.execute(
                statement, [{"row_id": row_id, "at": at} for row_id, at in seen.items()]
            )


# GET /api/v1/usage groups: the usage_events columns that identify a group.
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("user_id",),
    "model": ("model_config_id",),
    "provider_config": ("provider_config_id",),
    "key": ("key_source", "key_id"),
}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    group: tuple[Any, ...]  # the values of GROUP_COLUMNS[group_by], in that order
    requests: int
    attempts: int
    errors: int
    input_tokens: int
    output_tokens: int
    p50_latency_ms: float | None


def _window(
    query: Select[Any], since: datetime | None, until: datetime | None, user_id: uuid.UUID | None
) -> Select[Any]:
    table = USAGE_TABLE.c
    if since is not None:
        query = query.where(table.created_at >= since)
    if until is not None:
        query = query.where(table.created_at < until)
    if user_id is not None:
        query = query.where(table.user_id == user_id)
    return query


async def usage_totals(
    session: AsyncSession,
    group_by: str,
    *,
    since: datetime | None,
    until: datetime | None,
    user_id: uuid.UUID | None,
) -> list[UsageTotals]:
    """Totals per group over ``[since, until)``, only ``user_id``'s rows when given.

    ``requests`` counts distinct client request ids, ``attempts`` the rows of upstream
    attempts (``attempt >= 1``; attempt 0 is a request refused before any), ``errors`` the
    rows with an error class (failed attempts and refusals). ``p50_latency_ms`` is the
    median latency of the attempts, interpolated between the two middle values for an even
    count: PostgreSQL's ``percentile_cont(0.5)``, and on SQLite the equivalent aggregate
    ``chatgate_median`` (``db.sqlite_functions``). One scan of the window, one statement."""
    table = USAGE_TABLE.c
    dialect = session.bind.dialect.name if session.bind is not None else ""
    keys: list[Any]
    if group_by == "day":
        # The UTC day: PostgreSQL's timestamptz in UTC truncated; SQLite's stored UTC text.
        keys = [
            func.date_trunc("day", func.timezone("UTC", table.created_at))
            if dialect == "postgresql"
            else func.substr(table.created_at, 1, 10)
        ]
    else:
        keys = [table[name] for name in GROUP_COLUMNS[group_by]]
    is_attempt = table.attempt >= 1
    if dialect == "postgresql":
        # (Raising work_mem to sort in memory measured no faster: bench/usage_reads.py.)
        median: Any = func.percentile_cont(0.5).within_group(table.latency_ms.asc())
    else:
        median = getattr(func, MEDIAN)(table.latency_ms)
    totals = _window(
        select(
            *keys,
            func.count(distinct(table.request_id)),
            func.coalesce(func.sum(case((is_attempt, 1), else_=0)), 0),
            func.coalesce(func.sum(case((table.error_class.is_not(None), 1), else_=0)), 0),
            func.coalesce(func.sum(table.input_tokens), 0),
            func.coalesce(func.sum(table.output_tokens), 0),
            median.filter(is_attempt),
        ),
        since,
        until,
        user_id,
    ).group_by(*keys)
    rows = (await session.execute(totals)).all()
    width = len(keys)
    return [
        UsageTotals(
            group=tuple(row[:width]),
            requests=int(row[width]),
            attempts=int(row[width + 1]),
            errors=int(row[width + 2]),
            input_tokens=int(row[width + 3]),
            output_tokens=int(row[width + 4]),
            p50_latency_ms=None if row[width + 5] is None else float(row[width + 5]),
        )
        for row in rows
    ]


async def group_names(
    session: AsyncSession, group_by: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The name shown next to each group id: a username, a model config's ``name`` (soft-
    deleted ones keep theirs) or a provider config's ``name``. Ids whose row is gone are
    absent."""
    named: dict[str, tuple[Any, Any]] = {
        "user": (User.id, User.username),
        "model": (ModelConfig.id, ModelConfig.name),
        "provider_config": (ProviderConfig.id, ProviderConfig.name),
    }
    if group_by not in named or not ids:
        return {}
    id_column, name_column = named[group_by]
    rows = await session.execute(select(id_column, name_column).where(id_column.in_(ids)))
    return {row[0]: row[1] for row in rows}


# -- rollups (chatgate.usage.rollup) ------------------------------------------------------

# pg_advisory_xact_lock key: "cg-rollu" in ASCII, a constant no other lock uses. Flushes of
# several processes read-modify-write the same rollup rows: one at a time.
ROLLUP_LOCK_ID = 0x63_67_2D_72_6F_6C_6C_75
RAW_COLUMNS = (
    "request_id",
    "user_id",
    "model_config_id",
    "provider_config_id",
    "key_id",
    "key_source",
    "error_class",
    "attempt",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "created_at",
)


async def lock_rollups(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ROLLUP_LOCK_ID})


async def rollups_of_periods(
    session: AsyncSession, periods: Sequence[tuple[str, datetime]]
) -> list[Any]:
    """Every stored rollup row of these (period, start) pairs, all groupings (plain rows:
    the flusher updates them in bulk, the ORM's bookkeeping would only cost time)."""
    if not periods:
        return []
    starts = sorted({start for _, start in periods})
    query = select(ROLLUP_TABLE).where(ROLLUP_TABLE.c.period_start.in_(starts))
    wanted = set(periods)
    rows = (await session.execute(query)).all()
    return [row for row in rows if (row.period, row.period_start) in wanted]


async def insert_rollups(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> None:
    if rows:
        await session.execute(insert(ROLLUP_TABLE), rows)


_ROLLUP_TOTALS = (
    "requests",
    "attempts",
    "errors",
    "input_tokens",
    "output_tokens",
    "latency_histogram",
)


async def update_rollups(session: AsyncSession, rows: Sequence[Mapping[str, object]]) -> None:
    """Overwrite the totals of existing rollup rows: each mapping has the key columns and
    the totals (``_ROLLUP_TOTALS``)."""
    if not rows:
        return
    table = ROLLUP_TABLE.c
    statement = (
        update(ROLLUP_TABLE)
        .where(
            table.group_by == bindparam("key_group_by"),
            table.period == bindparam("key_period"),
            table.period_start == bindparam("key_period_start"),
            table.group_value == bindparam("key_group_value"),
        )
        .values({name: bindparam(f"new_{name}") for name in _ROLLUP_TOTALS})
    )
    connection = await session.connection()
    await connection.execute(
        statement,
        [
            {
                **{
                    f"key_{name}": row[name]
                    for name in ("group_by", "period", "period_start", "group_value")
                },
                **{f"new_{name}": row[name] for name in _ROLLUP_TOTALS},
            }
            for row in rows
        ],
    )


async def read_rollups(
    session: AsyncSession,
    group_by: str,
    period: str,
    *,
    start_from: datetime | None,
    start_before: datetime,
) -> Sequence[Any]:
    """The rollups of one grouping and period size starting in ``[start_from, start_before)``."""
    table = ROLLUP_TABLE.c
    query = select(ROLLUP_TABLE).where(
        table.group_by == group_by, table.period == period, table.period_start < start_before
    )
    if start_from is not None:
        query = query.where(table.period_start >= start_from)
    rows: Sequence[Any] = (await session.execute(query)).all()
    return rows


async def raw_usage_rows(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> Sequence[Any]:
    """The usage rows of ``[since, until)`` in recorded order (for a window's edges)."""
    table = USAGE_TABLE.c
    query = _window(select(*(table[name] for name in RAW_COLUMNS)), since, until, None)
    query = query.order_by(table.created_at, table.id)
    rows: Sequence[Any] = (await session.execute(query)).all()
    return rows


async def delete_rollups(session: AsyncSession) -> None:
    await session.execute(delete(UsageRollup))


async def usage_row_batches(session: AsyncSession, batch: int) -> AsyncIterator[Sequence[Any]]:
    """Every usage row in recorded order, ``batch`` at a time (keyset pages)."""
    table = USAGE_TABLE.c
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(*(table[name] for name in RAW_COLUMNS), table.id)
        if after is not None:
            query = query.where(tuple_(table.created_at, table.id) > tuple_(*after))
        rows = (
            await session.execute(query.order_by(table.created_at, table.id).limit(batch))
        ).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)
