"""The ``settings`` table: named installation-wide values."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import Setting
from chatgate.ids import utcnow


async def get_setting(session: AsyncSession, name: str) -> Setting | None:
    return (await session.execute(select(Setting).where(Setting.name == name))).scalar_one_or_none()


def add_setting(
    session: AsyncSession, name: str, value: str, updated_by: uuid.UUID | None = None
) -> Setting:
    row = Setting(name=name, value=value, updated_at=utcnow(), updated_by=updated_by)
    session.add(row)
    return row


async def ensure_setting(session: AsyncSession, name: str, value: str) -> object:
    """The setting's value, storing ``value`` first when there is none. Safe when several
    processes race to create it: one insert wins, every one reads the winner's value."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(Setting)
        .values(name=name, value=value, updated_at=utcnow(), updated_by=None)
        .on_conflict_do_nothing(index_elements=[Setting.name])
    )
    return await session.scalar(select(Setting.value).where(Setting.name == name))


async def delete_setting(session: AsyncSession, name: str) -> None:
    await session.execute(delete(Setting).where(Setting.name == name))
