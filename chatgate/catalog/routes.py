"""``GET /api/v1/me/models`` (SPEC §6, §14)."""

from __future__ import annotations

from fastapi import APIRouter

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.catalog import service
from chatgate.catalog.schemas import MyModel

router = APIRouter(prefix="/api/v1/me", tags=["me"])


# exclude_unset: ``enabled`` is set only in the admin view, so members' entries omit it.
@router.get(
    "/models",
    response_model=list[MyModel],
    response_model_exclude_unset=True,
    summary="List the models the caller may see",
    description="With availability and, when unavailable, the reason (e.g. "
    "`user_api_key_required`). `enabled` appears for admins and auditors only.",
)
async def list_my_models(ctx: Context = requires(Permission.AUTHENTICATED)) -> list[MyModel]:
    return await ctx.read(service.list_my_models, ctx.user, ctx.runtime.deployment)
