"""Usage rows and ``last_used_at`` timestamps: bulk writes off the request path."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ApiToken, ProviderKey, UsageEvent

USAGE_TABLE: Table = UsageEvent.__table__  # type: ignore[assignment]


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
