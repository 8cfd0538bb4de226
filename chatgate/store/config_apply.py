"""The lock that serialises configuration applies (SPEC §12).

Taken first by every apply or plan, before any other lock (so the lock order of
``store.models`` still holds inside): two applies never compute their diffs from the same
state. PostgreSQL: a transaction-scoped advisory lock; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# pg_advisory_xact_lock key: "cg-apply" in ASCII, a constant no other lock uses.
CONFIG_APPLY_LOCK_ID = 0x63_67_2D_61_70_70_6C_79


async def lock_config_apply(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": CONFIG_APPLY_LOCK_ID}
        )
