"""Admin pages for model configs (SPEC §4, §12): the create and edit forms. The list with
each model's availability is ``/ui/models`` (``chatgate.ui.routes``); writes go from
``static/admin.js`` to ``/api/v1/models``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.db.tables import ModelConfig
from chatgate.errors import uuid_or_404
from chatgate.models import service as model_service
from chatgate.providers import service as provider_service
from chatgate.ui.rendering import render_page

router = APIRouter(prefix="/ui", include_in_schema=False)


async def _render_form(request: Request, ctx: Context, model: ModelConfig | None) -> Response:
    deployment = ctx.runtime.deployment
    providers = [
        p for p in await ctx.read(provider_service.list_providers, deployment) if p.id is not None
    ]
    return render_page(
        request,
        "model_form.html",
        ctx.user,
        model=model,
        families=provider_service.list_families(deployment),
        providers=providers,
    )


@router.get("/models/new")
async def new_model_page(
    request: Request, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    return await _render_form(request, ctx, None)


@router.get("/models/{model_id}/edit")
async def edit_model_page(
    request: Request, model_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    target = uuid_or_404(model_id, "model config")
    model = await ctx.read(model_service.get_model, target)
    return await _render_form(request, ctx, model)
