"""Writes that may hit a uniqueness constraint, under a savepoint.

The database holds uniqueness (never a count-then-insert); a violation must leave the
transaction usable (PostgreSQL aborts it otherwise) and become the caller's own error —
but only a violation of *that* constraint: a CHECK or foreign-key failure stays an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


def violates(error: IntegrityError, *markers: str) -> bool:
    """Whether the violation names one of ``markers``: the constraint or index name
    (PostgreSQL) or ``table.column`` (SQLite's "UNIQUE constraint failed: …")."""
    message = str(error.orig)
    return any(marker in message for marker in markers)


@asynccontextmanager
async def unique_or(
    session: AsyncSession, markers: tuple[str, ...], error: Exception
) -> AsyncIterator[None]:
    """Run the block under a savepoint; a unique violation naming ``markers`` raises ``error``."""
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as violation:
        if violates(violation, *markers):
            raise error from None
        raise
