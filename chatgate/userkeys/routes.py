"""``/api/v1/me/provider-keys``: the caller's own keys (SPEC §6, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, SECRETS_UNAVAILABLE, error_responses
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
from chatgate.userkeys import service
from chatgate.userkeys.schemas import ProviderKeyEntry, UserKeyPut

router = APIRouter(prefix="/api/v1/me", tags=["me"])


def parse_provider_config_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "provider config")


@router.get(
    "/provider-keys",
    response_model=list[ProviderKeyEntry],
    summary="List the provider configs that take the caller's own keys",
    description="Configs that allow user keys, and any config the caller still holds a key "
    "for. Never the keys: only a hint of the last 4 characters.",
)
async def list_provider_keys(
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> list[ProviderKeyEntry]:
    return await ctx.read(service.list_provider_keys, ctx.user, ctx.runtime.deployment)


@router.put(
    "/provider-keys/{provider_config_id}",
    response_model=ProviderKeyEntry,
    summary="Store the caller's own key for a provider config",
    description="Replaces any key the caller held for it.",
    responses=error_responses(
        (
            400,
            "`provider_config_disabled`, `user_api_key_not_allowed`, or `api_key_invalid` "
            "(empty, too long, control characters).",
        ),
        404,
        SECRETS_UNAVAILABLE,
    ),
)
async def put_provider_key(
    provider_config_id: str,
    body: UserKeyPut,
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> ProviderKeyEntry:
    config_id = parse_provider_config_id(provider_config_id)

    return await ctx.write(
        service.put_user_key, ctx.user, ctx.runtime.keyring, ctx.runtime.deployment, config_id, body
    )


@router.delete(
    "/provider-keys/{provider_config_id}",
    status_code=204,
    summary="Remove the caller's own key for a provider config",
    description="Idempotent: 204 whether or not a key was stored.",
    responses=NO_CONTENT,
)
async def delete_provider_key(
    provider_config_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    try:
        config_id = uuid.UUID(provider_config_id)
    except ValueError:
        # No key can exist under an id that is not one: nothing to remove (§6: 204).
        return Response(status_code=204)

    await ctx.write(service.delete_user_key, ctx.user, config_id)
    return Response(status_code=204)
