"""Reading usage totals (SPEC §14): admins and auditors see everyone's, members their own.

Two ways to the same totals. Narrow windows (at most ``NARROW_WINDOW``) and a member's own
usage are read from the usage rows: exact, and few rows. Wider windows read rollups
(``chatgate.usage.rollups``): exact counts and tokens, and a median within about 1 %.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Permission
from chatgate.errors import bad_request
from chatgate.ids import utcnow
from chatgate.store import usage as usage_store
from chatgate.usage.rollup import group_values, histogram_median
from chatgate.usage.rollups import plan_window, rollups_from, window_tallies
from chatgate.usage.schemas import UsageGroupOut

GroupBy = Literal["user", "model", "provider_config", "key", "day"]
# Windows up to this long are read from the usage rows, with an exact median.
NARROW_WINDOW = timedelta(days=1)


async def usage_groups(
    session: AsyncSession,
    actor: Actor,
    group_by: GroupBy,
    *,
    since: datetime | None,
    until: datetime | None,
) -> list[UsageGroupOut]:
    """Totals per group over ``[since, until)``, busiest group first (then by id, so the
    order is deterministic); per UTC day in day order for ``day``. A caller who may not
    read everyone's usage gets only the rows of their own requests, whatever the
    grouping."""
    if since is not None and until is not None and since >= until:
        raise bad_request("window_invalid", "since must be before until", "since")
    only_user = None if actor.can(Permission.ADMIN_READ) else actor.user_id
    totals = await _totals(session, group_by, since, until, only_user)
    if group_by == "day":
        return [_group_out(group_by, t, {}) for t in sorted(totals, key=lambda t: t.group)]
    ids = [t.group[0] for t in totals if isinstance(t.group[0], uuid.UUID)]
    names = await usage_store.group_names(session, group_by, ids)
    return [_group_out(group_by, t, names) for t in sorted(totals, key=_order)]


async def _totals(
    session: AsyncSession,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
    only_user: uuid.UUID | None,
) -> list[usage_store.UsageTotals]:
    now = utcnow()
    narrow = since is not None and (until or now) - since <= NARROW_WINDOW
    plan = None
    if only_user is None and not narrow:
        plan = plan_window(since, until, now, await rollups_from(session))
    if plan is None:
        rows = await usage_store.usage_totals(
            session, group_by, since=since, until=until, user_id=only_user
        )
        if group_by != "day":
            return rows
        return [replace(t, group=(_day_text(t.group[0]),)) for t in rows]
    kind = "model" if group_by == "day" else group_by
    tallies = await window_tallies(session, kind, plan, by_day=group_by == "day")
    return [
        usage_store.UsageTotals(
            group=(key,) if group_by == "day" else group_values(kind, key),
            requests=tally.requests,
            attempts=tally.attempts,
            errors=tally.errors,
            input_tokens=tally.input_tokens,
            output_tokens=tally.output_tokens,
            p50_latency_ms=histogram_median(tally.histogram),
        )
        for key, tally in tallies.items()
    ]


def _day_text(value: object) -> str:
    """``YYYY-MM-DD`` from PostgreSQL's truncated timestamp or SQLite's date text."""
    return value.date().isoformat() if isinstance(value, datetime) else str(value)


def _order(totals: usage_store.UsageTotals) -> tuple[int, int, tuple[str, ...]]:
    return (
        -totals.requests,
        -totals.attempts,
        tuple("" if v is None else str(v) for v in totals.group),
    )


def _group_out(
    group_by: GroupBy, totals: usage_store.UsageTotals, names: dict[uuid.UUID, str]
) -> UsageGroupOut:
    fields: dict[str, object]
    first = totals.group[0]
    name = names.get(first) if isinstance(first, uuid.UUID) else None
    if group_by == "day":
        fields = {"day": first}
    elif group_by == "user":
        fields = {"user_id": first, "username": name}
    elif group_by == "model":
        fields = {"model_config_id": first, "name": name}
    elif group_by == "provider_config":
        fields = {"provider_config_id": first, "name": name}
    else:
        fields = {"key_source": first, "key_id": totals.group[1]}
    return UsageGroupOut.model_validate(
        {
            **fields,
            "requests": totals.requests,
            "attempts": totals.attempts,
            "errors": totals.errors,
            "input_tokens": totals.input_tokens,
            "output_tokens": totals.output_tokens,
            "p50_latency_ms": totals.p50_latency_ms,
        }
    )
