"""The ``settings`` table: named installation-wide values."""

from __future__ import annotations

import uuid

from sqlalchemy import select
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
