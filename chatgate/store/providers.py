"""Provider configs, their central key pools and the user keys bound to them.

Locks (SPEC §2): ``lock="update"`` is ``SELECT … FOR UPDATE``, ``lock="share"`` is
``FOR SHARE`` (SQLite ignores both; its write transactions are ``BEGIN IMMEDIATE``).
Queries that lock several rows order them by id, so two lockers never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.sealed import SealedSecret
from chatgate.db.tables import KeyState, ProviderConfig, ProviderKey, UserProviderKey
from chatgate.store.savepoint import unique_or

# The unique name: its constraint (PostgreSQL) or column (SQLite) in violation messages.
_NAME = ("uq_provider_configs_name", "provider_configs.name")

Lock = Literal["update", "share"] | None


class ProviderNameTaken(Exception):
    pass


_Query = TypeVar("_Query", bound=Select[Any])


def _locked(query: _Query, lock: Lock) -> _Query:
    if lock == "update":
        return query.with_for_update()
    if lock == "share":
        return query.with_for_update(read=True)
    return query


async def insert_provider(session: AsyncSession, row: ProviderConfig) -> ProviderConfig:
    """Insert under a savepoint so a taken name leaves the transaction usable."""
    async with unique_or(session, _NAME, ProviderNameTaken(row.name)):
        session.add(row)
    return row


async def rename_provider(session: AsyncSession, row: ProviderConfig, name: str) -> None:
    async with unique_or(session, _NAME, ProviderNameTaken(name)):
        row.name = name


async def get_provider(
    session: AsyncSession, provider_id: uuid.UUID, *, lock: Lock = None
) -> ProviderConfig | None:
    query = _locked(select(ProviderConfig).where(ProviderConfig.id == provider_id), lock)
    if lock is not None:
        # A row locked after waiting must be re-read, not served from the identity map.
        query = query.execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_providers(session: AsyncSession) -> Sequence[ProviderConfig]:
    query = select(ProviderConfig).order_by(
        ProviderConfig.family, ProviderConfig.created_at, ProviderConfig.id
    )
    return (await session.execute(query)).scalars().all()


async def list_family_providers(
    session: AsyncSession, family: str, *, lock: Lock = None, enabled_only: bool = False
) -> Sequence[ProviderConfig]:
    """The family's configs; ordered by id when locking (a fixed lock order), else by
    ``(created_at, id)``. Callers needing precedence apply ``resolve.by_precedence``."""
    query = select(ProviderConfig).where(ProviderConfig.family == family)
    if enabled_only:
        query = query.where(ProviderConfig.enabled.is_(True))
    if lock is not None:
        query = _locked(query.order_by(ProviderConfig.id), lock).execution_options(
            populate_existing=True
        )
    else:
        query = query.order_by(ProviderConfig.created_at, ProviderConfig.id)
    return (await session.execute(query)).scalars().all()


async def count_family_providers(session: AsyncSession, family: str) -> int:
    query = select(func.count()).select_from(ProviderConfig).where(ProviderConfig.family == family)
    return int(await session.scalar(query) or 0)


async def names_starting_with(session: AsyncSession, prefix: str) -> set[str]:
    query = (
        select(ProviderConfig.name)
        .where(ProviderConfig.name.startswith(prefix, autoescape=True))
        .order_by(ProviderConfig.name)
    )
    return set((await session.execute(query)).scalars().all())


async def delete_provider(session: AsyncSession, row: ProviderConfig) -> None:
    """Delete the row; its pool keys and user keys go with it (ON DELETE CASCADE)."""
    await session.delete(row)
    await session.flush()


# -- central key pools -------------------------------------------------------------------


async def list_keys(session: AsyncSession, provider_id: uuid.UUID) -> Sequence[ProviderKey]:
    query = (
        select(ProviderKey)
        .where(ProviderKey.provider_config_id == provider_id)
        .order_by(ProviderKey.created_at, ProviderKey.id)
    )
    return (await session.execute(query)).scalars().all()


async def get_key(
    session: AsyncSession, provider_id: uuid.UUID, key_id: uuid.UUID
) -> ProviderKey | None:
    """A key of this provider config's pool; a key of another config is ``None``."""
    query = select(ProviderKey).where(
        ProviderKey.id == key_id, ProviderKey.provider_config_id == provider_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def key_counts(session: AsyncSession) -> dict[uuid.UUID, tuple[int, int]]:
    """Per provider config: (pool size, enabled keys)."""
    query = (
        select(ProviderKey.provider_config_id, ProviderKey.enabled, func.count())
        .group_by(ProviderKey.provider_config_id, ProviderKey.enabled)
        .order_by(ProviderKey.provider_config_id, ProviderKey.enabled)
    )
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    for provider_id, is_enabled, n in (await session.execute(query)).all():
        total, on = counts.get(provider_id, (0, 0))
        counts[provider_id] = (total + int(n), on + (int(n) if is_enabled else 0))
    return counts


async def add_key(session: AsyncSession, key: ProviderKey) -> ProviderKey:
    session.add(key)
    await session.flush()
    return key


async def delete_key(session: AsyncSession, key: ProviderKey) -> None:
    await session.delete(key)
    await session.flush()


# -- user keys -----------------------------------------------------------------------------


async def list_user_key_owners(session: AsyncSession, provider_id: uuid.UUID) -> list[uuid.UUID]:
    query = (
        select(UserProviderKey.user_id)
        .where(UserProviderKey.provider_config_id == provider_id)
        .order_by(UserProviderKey.user_id)
    )
    return list((await session.execute(query)).scalars().all())


async def delete_user_keys(session: AsyncSession, provider_id: uuid.UUID) -> None:
    await session.execute(
        delete(UserProviderKey).where(UserProviderKey.provider_config_id == provider_id)
    )


async def mark_key_invalid(
    session: AsyncSession, key_id: uuid.UUID, secret: SealedSecret, message: str
) -> bool:
    """Mark a pool key invalid after an upstream rejected it — only while it still holds the
    rejected secret (an admin may have replaced it meanwhile). True when a row changed."""
    result = await session.execute(
        update(ProviderKey)
        .where(ProviderKey.id == key_id)
        .where(ProviderKey.secret == secret)
        .where(ProviderKey.state != KeyState.INVALID)
        .values(state=KeyState.INVALID, last_error=message[:1024], cooldown_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
