"""Opening and closing web sessions (finding one is authentication: ``api.deps``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz.sessions import IDLE_TIMEOUT, hash_session_secret, new_session_secret
from chatgate.authz.tokens import hash_token
from chatgate.db.tables import WebSession
from chatgate.errors import ApiError
from chatgate.ids import new_id, utcnow
from chatgate.store import sessions as session_store
from chatgate.store import users as user_store


async def open_session(session: AsyncSession, token: str) -> str:
    """A new session for the user of ``token``; returns the cookie's secret."""
    now = utcnow()
    found = await user_store.find_token_owner(session, hash_token(token), now)
    if found is None or found[1].disabled:
        raise ApiError(401, "unauthenticated", "the token is not valid")
    row, user = found
    secret = new_session_secret()
    session_store.add_session(
        session,
        WebSession(
            id=new_id(),
            secret_hash=hash_session_secret(secret),
            user_id=user.id,
            token_id=row.id,
            created_at=now,
            last_seen_at=now,
        ),
    )
    return secret


async def close_session(session: AsyncSession, secret: str) -> None:
    await session_store.delete_session(session, hash_session_secret(secret))
    # Sessions idle past the window are useless: clear them out while here.
    await session_store.delete_idle_sessions(session, utcnow() - IDLE_TIMEOUT)
