"""Model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
from chatgate.models import service
from chatgate.models.schemas import ModelCreate, ModelOut, ModelUpdate

router = APIRouter(prefix="/api/v1", tags=["models"])


def parse_model_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "model config")


@router.get("/models", response_model=list[ModelOut])
async def list_models(ctx: Context = requires(Permission.ADMIN_READ)) -> list[ModelOut]:
    return [ModelOut.model_validate(m) for m in await ctx.read(service.list_models)]


@router.post("/models", status_code=201, response_model=ModelOut)
async def create_model(
    body: ModelCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    return ModelOut.model_validate(await ctx.write(service.create_model, ctx.user, body))


@router.get("/models/{model_id}", response_model=ModelOut)
async def get_model(model_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> ModelOut:
    target = parse_model_id(model_id)

    return ModelOut.model_validate(await ctx.read(service.get_model, target))


@router.patch("/models/{model_id}", response_model=ModelOut)
async def update_model(
    model_id: str, body: ModelUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    target = parse_model_id(model_id)

    return ModelOut.model_validate(await ctx.write(service.update_model, ctx.user, target, body))


@router.delete("/models/{model_id}", status_code=204)
async def delete_model(model_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)) -> Response:
    target = parse_model_id(model_id)
    await ctx.write(service.delete_model, ctx.user, target)
    return Response(status_code=204)
