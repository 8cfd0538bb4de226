"""Model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

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
    async def work(session: AsyncSession) -> list[ModelOut]:
        return [ModelOut.model_validate(m) for m in await service.list_models(session)]

    return await ctx.runtime.db.read(work)


@router.post("/models", status_code=201, response_model=ModelOut)
async def create_model(
    body: ModelCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.create_model(session, ctx.user, body))

    return await ctx.runtime.db.write(work)


@router.get("/models/{model_id}", response_model=ModelOut)
async def get_model(model_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> ModelOut:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.get_model(session, target))

    return await ctx.runtime.db.read(work)


@router.patch("/models/{model_id}", response_model=ModelOut)
async def update_model(
    model_id: str, body: ModelUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.update_model(session, ctx.user, target, body))

    return await ctx.runtime.db.write(work)


@router.delete("/models/{model_id}", status_code=204)
async def delete_model(model_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)) -> Response:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> None:
        await service.delete_model(session, ctx.user, target)

    await ctx.runtime.db.write(work)
    return Response(status_code=204)
