"""Web sessions: looked up by the hash of the cookie's secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ApiToken, User, WebSession


def add_session(session: AsyncSession, row: WebSession) -> WebSession:
    session.add(row)
    return row


async def find_session_owner(
    session: AsyncSession, secret_hash: str, now: datetime, seen_after: datetime
) -> tuple[WebSession, ApiToken, User] | None:
    """The session with this hash, seen after ``seen_after``, whose token is live, with
    the token and its user (disabled users included; callers decide)."""
    query = (
        select(WebSession, ApiToken, User)
        .join(ApiToken, ApiToken.id == WebSession.token_id)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.secret_hash == secret_hash)
        .where(WebSession.last_seen_at > seen_after)
        .where(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1], row[2])


async def touch_session(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .where(WebSession.last_seen_at < at)
        .values(last_seen_at=at)
        .execution_options(synchronize_session=False)
    )


async def delete_session(session: AsyncSession, secret_hash: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.secret_hash == secret_hash))


async def delete_idle_sessions(session: AsyncSession, seen_before: datetime) -> None:
    await session.execute(delete(WebSession).where(WebSession.last_seen_at <= seen_before))
