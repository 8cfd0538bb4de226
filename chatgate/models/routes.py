"""Model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, error_responses
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
from chatgate.models import service
from chatgate.models.schemas import ModelCreate, ModelOut, ModelUpdate

router = APIRouter(prefix="/api/v1", tags=["models"])


def parse_model_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "model config")


@router.get("/models", response_model=list[ModelOut], summary="List model configs")
async def list_models(ctx: Context = requires(Permission.ADMIN_READ)) -> list[ModelOut]:
    return [ModelOut.model_validate(m) for m in await ctx.read(service.list_models)]


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
            "A rule rejects a value: `family_invalid`, `family_required`, `name_invalid`, "
            "`display_name_invalid`, `model_invalid`, "
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
    return ModelOut.model_validate(await ctx.write(service.create_model, ctx.user, body))


@router.get(
    "/models/{model_id}",
    response_model=ModelOut,
    summary="Get a model config",
    responses=error_responses(404),
)
async def get_model(model_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> ModelOut:
    target = parse_model_id(model_id)

    return ModelOut.model_validate(await ctx.read(service.get_model, target))


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

    return ModelOut.model_validate(await ctx.write(service.update_model, ctx.user, target, body))


@router.delete(
    "/models/{model_id}",
    status_code=204,
    summary="Delete a model config",
    description="A soft delete; when it was the default, another model becomes the default.",
    responses={**NO_CONTENT, **error_responses(404)},
)
async def delete_model(model_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)) -> Response:
    target = parse_model_id(model_id)
    await ctx.write(service.delete_model, ctx.user, target)
    return Response(status_code=204)
