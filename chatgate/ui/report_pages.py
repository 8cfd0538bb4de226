"""The audit-log and usage pages (SPEC §12, §14): read-only views over the same services
as ``GET /api/v1/audit-log`` and ``GET /api/v1/usage``, with the same permissions (the
audit log for admins and auditors; usage for everyone, members seeing their own only)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.deps import Context, requires
from chatgate.audit import service as audit_service
from chatgate.audit.schemas import AuditEntryOut
from chatgate.authz import Actor, Permission
from chatgate.errors import bad_request
from chatgate.store import users as user_store
from chatgate.store.audit import AuditFilter
from chatgate.ui.charts import LineChart, line_chart
from chatgate.ui.rendering import render_page
from chatgate.usage import service as usage_service
from chatgate.usage.schemas import UsageGroupOut

router = APIRouter(prefix="/ui", include_in_schema=False)

# The kinds of things the audit log records (AuditEntryOut.target_type).
TARGET_TYPES = (
    "user",
    "api_token",
    "provider_config",
    "provider_key",
    "model_config",
    "user_provider_key",
    "setting",
)
AUDIT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
USAGE_WINDOWS = (1, 7, 14, 31)  # days; 31 at most: one usage query per day and grouping
DEFAULT_USAGE_DAYS = 14


def _parse_time(raw: str, field: str, *, end_of_day: bool = False) -> datetime | None:
    """A filter time from a form: a date (``2026-12-06``, the start of that day in UTC, or
    the start of the next one for an ``until``) or a full ISO 8601 time; 400 naming the
    field otherwise."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        parsed = datetime.fromisoformat(raw)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a time beyond year 1 or 9999 in UTC
        raise bad_request(
            "time_invalid", f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 time", field
        ) from None


def _parse_actor(raw: str) -> uuid.UUID | None:
    if not raw.strip():
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise bad_request("actor_id_invalid", "actor_id must be a user id", "actor_id") from None


def _readable(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: str | None  # None: the field did not exist before (a creation)
    after: str | None  # None: gone after (a deletion)


def field_changes(entry: AuditEntryOut) -> list[FieldChange]:
    """The fields an entry touched, each with its (already redacted) value before and
    after; unchanged fields of an update are left out so the change stands out."""
    before = entry.before or {}
    after = entry.after or {}
    changes = []
    for name in sorted(set(before) | set(after)):
        old = _readable(before[name]) if name in before else None
        new = _readable(after[name]) if name in after else None
        if entry.before is not None and entry.after is not None and old == new:
            continue
        changes.append(FieldChange(name, old, new))
    return changes


@router.get("/audit")
async def audit_page(
    request: Request,
    target_type: str = Query("", max_length=32),
    target_id: str = Query("", max_length=80),
    actor_id: str = Query("", max_length=64),
    since: str = Query("", max_length=40),
    until: str = Query("", max_length=40),
    cursor: str | None = Query(None, max_length=2048),
    limit: int = Query(AUDIT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    ctx: Context = requires(Permission.ADMIN_READ),
) -> Response:
    where = AuditFilter(
        target_type=target_type.strip() or None,
        target_id=target_id.strip() or None,
        actor_id=_parse_actor(actor_id),
        since=_parse_time(since, "since"),
        until=_parse_time(until, "until", end_of_day=True),
    )
    page = await ctx.read(audit_service.list_entries, where, cursor=cursor, limit=limit)
    users = await ctx.read(user_store.list_users)
    filters = {
        "target_type": target_type.strip(),
        "target_id": target_id.strip(),
        "actor_id": actor_id.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    kept = {name: value for name, value in filters.items() if value}
    if limit != AUDIT_PAGE_SIZE:
        kept["limit"] = str(limit)
    older = None
    if page.next_cursor is not None:
        older = "/ui/audit?" + urlencode({**kept, "cursor": page.next_cursor})
    return render_page(
        request,
        "audit.html",
        ctx.user,
        entries=[{"entry": e, "changes": field_changes(e)} for e in page.items],
        filters=filters,
        target_types=TARGET_TYPES,
        users=[{"id": str(u.id), "username": u.username} for u in users],
        older=older,
        paged=cursor is not None,
        first_page="/ui/audit?" + urlencode(kept) if kept else "/ui/audit",
    )


# -- usage ------------------------------------------------------------------------------------

# Per grouping: the chart's title, and how a group's row names itself.
USAGE_GROUPINGS: tuple[tuple[usage_service.GroupBy, str], ...] = (
    ("provider_config", "Requests per provider config"),
    ("model", "Requests per model"),
)


def group_label(group: UsageGroupOut) -> str:
    if group.name:
        return group.name
    if group.model_config_id is not None or group.provider_config_id is not None:
        return "(deleted)"
    return "(none)"


@dataclass(frozen=True, slots=True)
class UsageSection:
    group_by: str
    chart: LineChart
    totals: list[tuple[str, UsageGroupOut]]


async def usage_sections(
    session: AsyncSession, actor: Actor, first_day: date, days: int
) -> list[UsageSection]:
    """Per grouping, a chart of requests per day and the window's totals. The usage service
    has no per-day grouping, so each day is its own call (at most ``days`` + 1 queries per
    grouping, one read transaction): the same rules, members' rows filtered by it."""
    day_starts = [
        datetime.combine(first_day + timedelta(days=i), time(), tzinfo=UTC) for i in range(days)
    ]
    window_end = day_starts[-1] + timedelta(days=1)
    labels = [start.strftime("%m-%d") for start in day_starts]
    sections = []
    for group_by, title in USAGE_GROUPINGS:
        per_day: dict[str, list[int]] = {}
        for index, start in enumerate(day_starts):
            groups = await usage_service.usage_groups(
                session, actor, group_by, since=start, until=start + timedelta(days=1)
            )
            for group in groups:
                series = per_day.setdefault(group_label(group), [0] * days)
                series[index] += group.requests
        totals = await usage_service.usage_groups(
            session, actor, group_by, since=day_starts[0], until=window_end
        )
        sections.append(
            UsageSection(
                group_by=group_by,
                chart=line_chart(title, "requests", labels, list(per_day.items())),
                totals=[(group_label(g), g) for g in totals],
            )
        )
    return sections


@router.get("/usage")
async def usage_page(
    request: Request,
    days: int = Query(DEFAULT_USAGE_DAYS, ge=1, le=max(USAGE_WINDOWS)),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> Response:
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=days - 1)
    sections = await ctx.read(usage_sections, ctx.user, first_day, days)
    return render_page(
        request,
        "usage.html",
        ctx.user,
        sections=sections,
        days=days,
        windows=USAGE_WINDOWS,
        first_day=first_day.isoformat(),
        last_day=today.isoformat(),
        everyone=ctx.user.can(Permission.ADMIN_READ),
    )
