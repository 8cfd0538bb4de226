"""Model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, error_responses
from chatgate.authz import Permission
from chatgate.errors import not_found
from chatgate.models import service
from chatgate.models.schemas import ModelCreate, ModelOut, ModelUpdate

router = APIRouter(prefix="/api/v1", tags=["models"])


def parse_model_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found("model config") from None


@router.get("/models", response_model=list[ModelOut], summary="List model configs")
async def list_models(ctx: Context = requires(Permission.ADMIN_READ)) -> list[ModelOut]:
    async def work(session: AsyncSession) -> list[ModelOut]:
        return [ModelOut.model_validate(m) for m in await service.list_models(session)]

    return await ctx.runtime.db.read(work)


@router.post(
    "/models",
    status_code=201,
    response_model=ModelOut,
    summary="Create a model config",
    description="`provider_config_id` absent binds automatically when the family has one "
    "provider config; `null` leaves the model unbound; an id binds it.",
    responses=error_responses(
        (
            400,
            "A rule rejects a value: `family_required`, `name_invalid`, `model_invalid`, "
            "`context_limit_invalid`, `compression_threshold_invalid`, `options_invalid`, "
            "`provider_config_not_found`, `provider_config_disabled`, "
            "`provider_config_family_mismatch`, `provider_config_required`.",
        ),
        (409, "`name_taken`: a live model config has this name."),
    ),
)
async def create_model(
    body: ModelCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.create_model(session, ctx.user, body))

    return await ctx.runtime.db.write(work)


@router.get(
    "/models/{model_id}",
    response_model=ModelOut,
    summary="Get a model config",
    responses=error_responses(404),
)
async def get_model(model_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> ModelOut:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.get_model(session, target))

    return await ctx.runtime.db.read(work)


@router.patch(
    "/models/{model_id}",
    response_model=ModelOut,
    summary="Update a model config",
    description="Absent fields are unchanged; `provider_config_id: null` unbinds; "
    "`options: null` clears the options.",
    responses=error_responses(
        (
            400,
            "A rule rejects a value (the codes of create, e.g. `options_invalid`, "
            "`provider_config_family_mismatch`).",
        ),
        404,
        (409, "`name_taken`: a live model config has this name."),
    ),
)
async def update_model(
    model_id: str, body: ModelUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ModelOut:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> ModelOut:
        return ModelOut.model_validate(await service.update_model(session, ctx.user, target, body))

    return await ctx.runtime.db.write(work)


@router.delete(
    "/models/{model_id}",
    status_code=204,
    summary="Delete a model config",
    description="A soft delete; when it was the default, another model becomes the default.",
    responses={**NO_CONTENT, **error_responses(404)},
)
async def delete_model(model_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)) -> Response:
    target = parse_model_id(model_id)

    async def work(session: AsyncSession) -> None:
        await service.delete_model(session, ctx.user, target)

    await ctx.runtime.db.write(work)
    return Response(status_code=204)
