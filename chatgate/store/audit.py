"""The append-only audit log: written in the changing transaction, read newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import AuditEntry, User


def add_entry(session: AsyncSession, entry: AuditEntry) -> None:
    session.add(entry)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    target_type: str | None = None
    target_id: str | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def list_entries(
    session: AsyncSession,
    where: AuditFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[tuple[AuditEntry, str | None]]:
    """Entries newest first (``created_at`` then ``id``, both descending), with the actor's
    username when the actor still exists; at most ``limit``, strictly after ``after``.

    Served by ``ix_audit_log_created`` (no filter), ``ix_audit_log_target_created`` and
    ``ix_audit_log_actor_created``: each ends in ``(created_at, id)``, so a page is an
    index range read, however long the log."""
    query = select(AuditEntry, User.username).outerjoin(User, User.id == AuditEntry.actor_id)
    if where.target_type is not None:
        query = query.where(AuditEntry.target_type == where.target_type)
    if where.target_id is not None:
        query = query.where(AuditEntry.target_id == where.target_id)
    if where.actor_id is not None:
        query = query.where(AuditEntry.actor_id == where.actor_id)
    if where.since is not None:
        query = query.where(AuditEntry.created_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.created_at < where.until)
    if after is not None:
        created_at, entry_id = after
        query = query.where(
            or_(
                AuditEntry.created_at < created_at,
                and_(AuditEntry.created_at == created_at, AuditEntry.id < entry_id),
            )
        )
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    rows = await session.execute(query)
    return [(row[0], row[1]) for row in rows]
