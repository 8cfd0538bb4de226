"""Writing audit entries (values that look like secrets never reach the table) and reading
them back a page at a time."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.pagination import Position, decode_cursor, encode_cursor
from chatgate.audit.schemas import AuditEntryOut, AuditPage
from chatgate.authz.actor import Actor
from chatgate.crypto.sealed import SealedSecret
from chatgate.db.tables import AuditEntry
from chatgate.errors import bad_request
from chatgate.ids import new_id, utcnow
from chatgate.store import audit as audit_store
from chatgate.store.audit import AuditFilter, add_entry
from chatgate.validation import has_control_characters

REDACTED = "<redacted>"
# A field named like a secret (api_key, user_token, …) but not a flag about one
# (has_api_key, allow_user_api_key: a policy switch the audit log must show).
_SECRET_FIELD = re.compile(r"^(?!has_|allow_)(?:.*_)?(?:api_key|key|secret|token|password)$")


def _check_filter(where: AuditFilter) -> None:
    """No stored target type or id holds a control character, and PostgreSQL text cannot
    hold a NUL at all: such a filter is a mistake to name, not a query to send."""
    for field, value in (("target_type", where.target_type), ("target_id", where.target_id)):
        if value is not None and has_control_characters(value):
            raise bad_request(
                f"{field}_invalid", f"{field} must not contain control characters", field
            )


def redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy with secret-looking fields and sealed values replaced."""
    if values is None:
        return None
    return {name: _redact_value(name, value) for name, value in values.items()}


def _redact_value(name: str, value: Any) -> Any:
    if isinstance(value, SealedSecret) or (_SECRET_FIELD.search(name) and value is not None):
        return REDACTED
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value("", item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    add_entry(
        session,
        AuditEntry(
            id=new_id(),
            created_at=utcnow(),
            actor_id=actor.user_id,
            source=actor.source,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=redact(before),
            after=redact(after),
        ),
    )


async def list_entries(
    session: AsyncSession,
    where: AuditFilter,
    *,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    """A page of the log, newest first; the cursor carries ``where`` (SPEC §14)."""
    _check_filter(where)
    filters = {
        "target_type": where.target_type,
        "target_id": where.target_id,
        "actor_id": None if where.actor_id is None else str(where.actor_id),
        "since": None if where.since is None else where.since.isoformat(),
        "until": None if where.until is None else where.until.isoformat(),
    }
    after = None
    if cursor is not None:
        position = decode_cursor(cursor, filters)
        after = (position.created_at, position.id)
    # One row more than asked tells whether a next page exists.
    rows = await audit_store.list_entries(session, where, after=after, limit=limit + 1)
    page = rows[:limit]
    items = [
        AuditEntryOut(
            id=entry.id,
            created_at=entry.created_at,
            actor_id=entry.actor_id,
            actor_username=username,
            source=entry.source,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            before=entry.before,
            after=entry.after,
        )
        for entry, username in page
    ]
    next_cursor = None
    if len(rows) > limit and page:
        last = page[-1][0]
        next_cursor = encode_cursor(filters, Position(last.created_at, last.id))
    return AuditPage(items=items, next_cursor=next_cursor)
