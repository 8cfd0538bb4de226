"""The ``encryption_keys`` table and the sealed columns as rotation sees them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, inspect, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.sealed import DIGEST_BYTES
from chatgate.db.sealed import SEALED_COLUMNS, SealedColumnSpec
from chatgate.db.tables import Base, EncryptionKey
from chatgate.ids import utcnow


async def list_keys(session: AsyncSession) -> Sequence[EncryptionKey]:
    query = select(EncryptionKey).order_by(EncryptionKey.digest)
    return (await session.execute(query)).scalars().all()


def add_key(session: AsyncSession, digest: str, state: str = "active") -> None:
    session.add(EncryptionKey(digest=digest, state=state, created_at=utcnow()))


async def set_state(session: AsyncSession, digest: str, state: str) -> None:
    await session.execute(
        update(EncryptionKey).where(EncryptionKey.digest == digest).values(state=state)
    )


async def set_state_of_all_but(session: AsyncSession, digest: str, state: str) -> None:
    await session.execute(
        update(EncryptionKey).where(EncryptionKey.digest != digest).values(state=state)
    )


async def secrets_per_digest(session: AsyncSession) -> dict[str, int]:
    """How many sealed secrets each data-key digest holds, counted in the database (the
    digest is bytes 2-9 of every ciphertext) so no secret is loaded."""
    counts: Counter[str] = Counter()
    for spec in SEALED_COLUMNS:
        digest = func.substr(getattr(spec.model, spec.column), 2, DIGEST_BYTES)
        query = select(digest, func.count()).group_by(digest)
        for raw, count in (await session.execute(query)).all():
            counts[bytes(raw).hex()] += int(count)
    return dict(sorted(counts.items()))


def row_position(spec: SealedColumnSpec, row: Base) -> tuple[Any, ...]:
    """A row's place in ``lock_sealed_page`` order (its primary key)."""
    return tuple(getattr(row, str(column.key)) for column in inspect(spec.model).primary_key)


async def lock_sealed_page(
    session: AsyncSession, spec: SealedColumnSpec, after: tuple[Any, ...] | None, limit: int
) -> Sequence[Base]:
    """The next ``limit`` rows of a sealed column's table after ``after``, locked for update.
    Keyset paging on the primary key (not OFFSET): rows inserted or deleted meanwhile cannot
    shift an unvisited row behind the cursor."""
    order = list(inspect(spec.model).primary_key)
    page = select(spec.model).order_by(*order).limit(limit)
    if after is not None:
        page = page.where(tuple_(*order) > tuple_(*after))
    return (await session.execute(page.with_for_update())).scalars().all()
