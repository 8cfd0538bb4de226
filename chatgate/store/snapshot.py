"""Everything the gateway's in-memory snapshot holds, read in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import (
    ApiToken,
    ModelConfig,
    ProviderConfig,
    ProviderKey,
    ProviderKeyCooldown,
    User,
    UserProviderKey,
)
from chatgate.store.cooldowns import active_cooldowns

T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotRows:
    users: Sequence[User]
    tokens: Sequence[ApiToken]
    providers: Sequence[ProviderConfig]
    keys: Sequence[ProviderKey]
    models: Sequence[ModelConfig]
    user_keys: Sequence[UserProviderKey]
    cooldowns: Sequence[ProviderKeyCooldown]


async def load_snapshot_rows(session: AsyncSession, now: datetime) -> SnapshotRows:
    """Every row the gateway serves from, each list fully ordered (ending in the key)."""
    live_token = or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now)
    return SnapshotRows(
        users=await _all(session, select(User).order_by(User.id)),
        tokens=await _all(session, select(ApiToken).where(live_token).order_by(ApiToken.id)),
        providers=await _all(
            session, select(ProviderConfig).order_by(ProviderConfig.created_at, ProviderConfig.id)
        ),
        keys=await _all(
            session,
            select(ProviderKey)
            .where(ProviderKey.enabled.is_(True))
            .order_by(ProviderKey.created_at, ProviderKey.id),
        ),
        models=await _all(
            session,
            select(ModelConfig)
            .where(ModelConfig.deleted.is_(False))
            .order_by(ModelConfig.name, ModelConfig.id),
        ),
        user_keys=await _all(
            session,
            select(UserProviderKey).order_by(
                UserProviderKey.user_id, UserProviderKey.provider_config_id
            ),
        ),
        cooldowns=await active_cooldowns(session, now),
    )


async def _all(session: AsyncSession, query: Select[T]) -> Sequence[T]:
    return (await session.execute(query)).scalars().all()
