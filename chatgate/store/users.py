"""Users and API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ApiToken, User
from chatgate.store.savepoint import unique_or


class UsernameTaken(Exception):
    pass


# pg_advisory_xact_lock key serialising "is this the first user?" decisions ("users").
USER_CREATION_LOCK_ID = 0x75_73_65_72_73


async def lock_user_creation(session: AsyncSession) -> None:
    """Serialise user creation until the transaction ends, so two creators (replicas
    bootstrapping together, the CLI next to a server) never both see an empty table.
    SQLite needs nothing: every write transaction there is ``BEGIN IMMEDIATE``."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": USER_CREATION_LOCK_ID}
        )


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def insert_user(session: AsyncSession, user: User) -> User:
    """Insert under a savepoint so a duplicate name leaves the transaction usable."""
    async with unique_or(
        session, ("uq_users_username", "users.username"), UsernameTaken(user.username)
    ):
        session.add(user)
    return user


async def get_user(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    query = select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.execute(select(User).order_by(User.created_at, User.id))).scalars().all()


async def find_token_owner(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[ApiToken, User] | None:
    """The live token with this hash and its user (disabled users included; callers decide)."""
    query = (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash)
        .where(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def list_tokens(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiToken]:
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at, ApiToken.id)
    )
    return (await session.execute(query)).scalars().all()


async def has_live_token(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> bool:
    query = (
        select(ApiToken.id)
        .where(ApiToken.user_id == user_id)
        .where(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
        .limit(1)
    )
    return (await session.scalar(query)) is not None


async def get_token(session: AsyncSession, token_id: uuid.UUID) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def insert_token(session: AsyncSession, token: ApiToken) -> None:
    session.add(token)
    await session.flush()


async def delete_token(session: AsyncSession, token: ApiToken) -> None:
    await session.delete(token)
    await session.flush()
