"""The audit-log endpoint (SPEC §14)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import error_responses
from chatgate.api.pagination import cursor_query, limit_query
from chatgate.audit import service
from chatgate.audit.schemas import AuditPage
from chatgate.authz import Permission
from chatgate.ids import as_utc
from chatgate.store.audit import AuditFilter

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get(
    "/audit-log",
    response_model=AuditPage,
    summary="Read the audit log",
    description="Every state change of users, tokens, provider configs, keys, model configs, "
    "user keys and settings, newest first, one page at a time. Filters combine with AND. "
    'Secrets never appear: they were replaced by `"<redacted>"` when the entry was written.',
    responses=error_responses(
        (
            400,
            "`cursor_mismatch`: the cursor was issued for other filters; "
            "`cursor_invalid`: the cursor is not one this list issued.",
        ),
    ),
)
async def read_audit_log(
    target_type: str | None = Query(
        None,
        max_length=32,
        description="Only entries about this kind of thing, e.g. `provider_config`.",
    ),
    target_id: str | None = Query(
        None, max_length=80, description="Only entries about the thing with this id."
    ),
    actor_id: uuid.UUID | None = Query(None, description="Only changes made by this user (UUID)."),
    since: datetime | None = Query(
        None,
        description="Only entries at or after this time (ISO 8601; without a zone it is UTC).",
    ),
    until: datetime | None = Query(
        None, description="Only entries before this time (ISO 8601; without a zone it is UTC)."
    ),
    limit: int = limit_query(),
    cursor: str | None = cursor_query(),
    ctx: Context = requires(Permission.ADMIN_READ),
) -> AuditPage:
    where = AuditFilter(
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        since=as_utc(since),
        until=as_utc(until),
    )
    return await ctx.read(service.list_entries, where, cursor=cursor, limit=limit)
