"""Everything the gateway's in-memory snapshot holds, read in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import (
    ApiToken,
    ModelConfig,
    ProviderConfig,
    ProviderKey,
    User,
    UserProviderKey,
)


@dataclass(frozen=True)
class SnapshotRows:
    users: Sequence[User]
    tokens: Sequence[ApiToken]
    providers: Sequence[ProviderConfig]
    keys: Sequence[ProviderKey]
    models: Sequence[ModelConfig]
    user_keys: Sequence[UserProviderKey]


async def load_snapshot_rows(session: AsyncSession, now: datetime) -> SnapshotRows:
    users = (await session.execute(select(User).order_by(User.id))).scalars().all()
    tokens = (
        (
            await session.execute(
                select(ApiToken)
                .where(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
                .order_by(ApiToken.id)
            )
        )
        .scalars()
        .all()
    )
    providers = (
        (
            await session.execute(
                select(ProviderConfig).order_by(ProviderConfig.created_at, ProviderConfig.id)
            )
        )
        .scalars()
        .all()
    )
    keys = (
        (
            await session.execute(
                select(ProviderKey)
                .where(ProviderKey.enabled.is_(True))
                .order_by(ProviderKey.created_at, ProviderKey.id)
            )
        )
        .scalars()
        .all()
    )
    models = (
        (
            await session.execute(
                select(ModelConfig)
                .where(ModelConfig.deleted.is_(False))
                .order_by(ModelConfig.name, ModelConfig.id)
            )
        )
        .scalars()
        .all()
    )
    user_keys = (
        (
            await session.execute(
                select(UserProviderKey).order_by(
                    UserProviderKey.user_id, UserProviderKey.provider_config_id
                )
            )
        )
        .scalars()
        .all()
    )
    return SnapshotRows(users, tokens, providers, keys, models, user_keys)
