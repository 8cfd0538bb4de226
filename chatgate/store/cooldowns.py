"""Cooldowns of (pool key, upstream model) pairs, shared by every process (SPEC §8).

A row means nothing once ``cooldown_until`` has passed, so recovery needs no write.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ProviderKey, ProviderKeyCooldown


async def extend_cooldown(
    session: AsyncSession, key_id: uuid.UUID, model: str, until: datetime, now: datetime
) -> None:
    """Store the cooldown, or lengthen a shorter one; never shortens it. A key deleted
    meanwhile makes this a no-op."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ProviderKeyCooldown).values(
        key_id=key_id, model=model, cooldown_until=until, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ProviderKeyCooldown.key_id, ProviderKeyCooldown.model],
        set_={"cooldown_until": statement.excluded.cooldown_until, "updated_at": now},
        where=ProviderKeyCooldown.cooldown_until < statement.excluded.cooldown_until,
    )
    if await session.scalar(select(ProviderKey.id).where(ProviderKey.id == key_id)) is not None:
        await session.execute(statement)


async def active_cooldowns(session: AsyncSession, now: datetime) -> Sequence[ProviderKeyCooldown]:
    """Cooldowns not yet over, ordered by key then model."""
    query = (
        select(ProviderKeyCooldown)
        .where(ProviderKeyCooldown.cooldown_until > now)
        .order_by(ProviderKeyCooldown.key_id, ProviderKeyCooldown.model)
    )
    return (await session.execute(query)).scalars().all()


async def active_cooldowns_of(
    session: AsyncSession, key_ids: Sequence[uuid.UUID], now: datetime
) -> Sequence[ProviderKeyCooldown]:
    if not key_ids:
        return []
    query = (
        select(ProviderKeyCooldown)
        .where(ProviderKeyCooldown.key_id.in_(key_ids))
        .where(ProviderKeyCooldown.cooldown_until > now)
        .order_by(ProviderKeyCooldown.key_id, ProviderKeyCooldown.model)
    )
    return (await session.execute(query)).scalars().all()


async def clear_cooldowns(session: AsyncSession, key_id: uuid.UUID) -> None:
    """A key with a new secret starts fresh."""
    await session.execute(delete(ProviderKeyCooldown).where(ProviderKeyCooldown.key_id == key_id))
