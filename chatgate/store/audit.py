"""The append-only audit log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import AuditEntry


def add_entry(session: AsyncSession, entry: AuditEntry) -> None:
    session.add(entry)
