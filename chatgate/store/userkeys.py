"""User keys (``user_provider_keys``): one sealed key per (user, provider config).

Only SQL lives here; the rules (who may store what, when) are in ``chatgate.userkeys``.
Locking the provider config a key is stored for is ``store.providers.get_provider(...,
lock="share")``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ProviderKey, UserProviderKey
from chatgate.store.savepoint import unique_or


class UserKeyExists(Exception):
    """Another transaction stored this user's key for this config first."""


async def get_user_key(
    session: AsyncSession,
    user_id: uuid.UUID,
    provider_config_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> UserProviderKey | None:
    query = select(UserProviderKey).where(
        UserProviderKey.user_id == user_id,
        UserProviderKey.provider_config_id == provider_config_id,
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def user_key_config_ids(session: AsyncSession, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Ids of the provider configs the user holds a key for (secrets are not loaded)."""
    query = (
        select(UserProviderKey.provider_config_id)
        .where(UserProviderKey.user_id == user_id)
        .order_by(UserProviderKey.provider_config_id)
    )
    return frozenset((await session.execute(query)).scalars().all())


async def insert_user_key(session: AsyncSession, row: UserProviderKey) -> UserProviderKey:
    """Insert under a savepoint, so losing a race to a concurrent insert of the same
    (user, config) leaves the transaction usable."""
    async with unique_or(
        session, ("pk_user_provider_keys", "user_provider_keys.user_id"), UserKeyExists()
    ):
        session.add(row)
    return row


async def delete_user_key(
    session: AsyncSession, user_id: uuid.UUID, provider_config_id: uuid.UUID
) -> bool:
    """Delete the key if there is one; whether a row was deleted."""
    result = await session.execute(
        delete(UserProviderKey)
        .where(
            UserProviderKey.user_id == user_id,
            UserProviderKey.provider_config_id == provider_config_id,
        )
        .returning(UserProviderKey.provider_config_id)
    )
    return result.first() is not None


async def configs_with_enabled_key(session: AsyncSession) -> frozenset[uuid.UUID]:
    """Ids of the provider configs whose central pool holds at least one enabled key."""
    query = (
        select(ProviderKey.provider_config_id)
        .where(ProviderKey.enabled.is_(True))
        .distinct()
        .order_by(ProviderKey.provider_config_id)
    )
    return frozenset((await session.execute(query)).scalars().all())


async def provider_has_enabled_key(session: AsyncSession, provider_config_id: uuid.UUID) -> bool:
    query = (
        select(ProviderKey.id)
        .where(
            ProviderKey.provider_config_id == provider_config_id,
            ProviderKey.enabled.is_(True),
        )
        .order_by(ProviderKey.id)
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


async def list_user_keys(session: AsyncSession, user_id: uuid.UUID) -> Sequence[UserProviderKey]:
    query = (
        select(UserProviderKey)
        .where(UserProviderKey.user_id == user_id)
        .order_by(UserProviderKey.provider_config_id)
    )
    return (await session.execute(query)).scalars().all()
