"""Replicas starting together on an empty database both start, with one owner (SPEC §12)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import User
from chatgate.users.service import bootstrap_owner
from tests.support.helpers import Env


async def _ungranted_locks(env: Env) -> int:
    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    return int(await env.runtime.db.read(lambda s: s.scalar(query)) or 0)


async def test_a_replica_bootstrapping_while_another_has_not_committed_starts_without_an_error(
    env: Env,
) -> None:
    db = env.runtime.db

    async def empty_users(session: AsyncSession) -> None:
        await session.execute(delete(User))

    await db.write(empty_users)
    # Replica A has created the owner but not committed yet when replica B starts.
    async with AsyncSession(db.engine, expire_on_commit=False) as first, first.begin():
        token_a = await bootstrap_owner(first, None)
        second = asyncio.create_task(db.write(lambda s: bootstrap_owner(s, None)))
        if env.is_postgres:
            # Wait (by polling the server, not by sleeping) until B is blocked behind A.
            # SQLite needs no wait: B's BEGIN IMMEDIATE waits for A's commit either way.
            for _ in range(2000):
                if await _ungranted_locks(env) > 0 or second.done():
                    break
    token_b = await second  # before the fix: 409 username_taken on PostgreSQL
    assert token_a is not None
    assert token_b is None
    owners = await db.read(
        lambda s: s.scalar(select(func.count()).select_from(User).where(User.role == "owner"))
    )
    assert owners == 1
