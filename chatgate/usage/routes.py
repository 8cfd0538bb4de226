"""The usage endpoint (SPEC §14)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import error_responses
from chatgate.authz import Permission
from chatgate.ids import as_utc
from chatgate.usage import service
from chatgate.usage.schemas import UsageGroupOut

router = APIRouter(prefix="/api/v1", tags=["usage"])


@router.get(
    "/usage",
    response_model=list[UsageGroupOut],
    response_model_exclude_unset=True,
    summary="Usage totals per user, model, provider config or key",
    description="Requests, upstream attempts, errors, tokens and median latency per group "
    "over a time window, busiest group first. Admins and auditors see everyone's usage; "
    "anyone else sees only their own requests.",
    responses=error_responses((400, "`window_invalid`: `since` is not before `until`.")),
)
async def read_usage(
    group_by: service.GroupBy = Query(
        "model",
        description="`user` (`user_id`, `username`), `model` (`model_config_id`, `name`), "
        "`provider_config` (`provider_config_id`, `name`), `key` (`key_source`, `key_id`) or "
        "`day` (`day`, the UTC day as `YYYY-MM-DD`, in day order: for charts).",
    ),
    since: datetime | None = Query(
        None,
        description="Only usage at or after this time (ISO 8601; without a zone it is UTC).",
    ),
    until: datetime | None = Query(
        None, description="Only usage before this time (ISO 8601; without a zone it is UTC)."
    ),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> list[UsageGroupOut]:
    return await ctx.read(
        service.usage_groups, ctx.user, group_by, since=as_utc(since), until=as_utc(until)
    )
