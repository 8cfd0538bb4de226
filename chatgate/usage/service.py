"""Reading usage totals (SPEC §14): admins and auditors see everyone's, members their own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Permission
from chatgate.errors import bad_request
from chatgate.store import usage as usage_store
from chatgate.usage.schemas import UsageGroupOut

GroupBy = Literal["user", "model", "provider_config", "key"]


async def usage_groups(
    session: AsyncSession,
    actor: Actor,
    group_by: GroupBy,
    *,
    since: datetime | None,
    until: datetime | None,
) -> list[UsageGroupOut]:
    """Totals per group over ``[since, until)``, busiest group first (then by id, so the
    order is deterministic). A caller who may not read everyone's usage gets only the
    rows of their own requests, whatever the grouping."""
    if since is not None and until is not None and since >= until:
        raise bad_request("window_invalid", "since must be before until", "since")
    only_user = None if actor.can(Permission.ADMIN_READ) else actor.user_id
    totals = await usage_store.usage_totals(
        session, group_by, since=since, until=until, user_id=only_user
    )
    ids = [t.group[0] for t in totals if isinstance(t.group[0], uuid.UUID)]
    names = await usage_store.group_names(session, group_by, ids)
    return [_group_out(group_by, t, names) for t in sorted(totals, key=_order)]


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
    if group_by == "user":
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
