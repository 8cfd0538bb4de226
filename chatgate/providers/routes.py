"""Provider-config endpoints (SPEC §3, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
from chatgate.providers import key_pool, service
from chatgate.providers.schemas import (
    DeleteImpact,
    ProviderCreate,
    ProviderFamilyOut,
    ProviderKeyCreate,
    ProviderKeyOut,
    ProviderKeyUpdate,
    ProviderOut,
    ProviderUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["providers"])


def parse_provider_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "provider config")


def parse_key_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "provider key")


@router.get("/provider-families", response_model=list[ProviderFamilyOut])
async def list_provider_families(
    ctx: Context = requires(Permission.ADMIN_READ),
) -> list[ProviderFamilyOut]:
    return service.list_families(ctx.runtime.deployment)


@router.get("/providers", response_model=list[ProviderOut])
async def list_providers(ctx: Context = requires(Permission.ADMIN_READ)) -> list[ProviderOut]:
    return await ctx.read(service.list_providers, ctx.runtime.deployment)


@router.post("/providers", status_code=201, response_model=ProviderOut)
async def create_provider(
    body: ProviderCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderOut:
    return await ctx.write(
        service.create_provider, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, body
    )


@router.get("/providers/{provider_id}", response_model=ProviderOut)
async def get_provider(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> ProviderOut:
    target = parse_provider_id(provider_id)
    return await ctx.read(service.get_provider, ctx.runtime.deployment, target)


@router.patch("/providers/{provider_id}", response_model=ProviderOut)
async def update_provider(
    provider_id: str, body: ProviderUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderOut:
    target = parse_provider_id(provider_id)
    return await ctx.write(
        service.update_provider, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, target, body
    )


@router.delete("/providers/{provider_id}", status_code=204)
async def delete_provider(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    target = parse_provider_id(provider_id)
    await ctx.write(service.delete_provider, ctx.user, ctx.runtime.deployment, target)
    return Response(status_code=204)


@router.get("/providers/{provider_id}/delete-impact", response_model=DeleteImpact)
async def provider_delete_impact(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> DeleteImpact:
    target = parse_provider_id(provider_id)
    return await ctx.read(service.delete_impact, ctx.runtime.deployment, target)


# -- central key pools (SPEC §8) -------------------------------------------------------------


@router.get("/providers/{provider_id}/keys", response_model=list[ProviderKeyOut])
async def list_provider_keys(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> list[ProviderKeyOut]:
    target = parse_provider_id(provider_id)
    return await ctx.read(key_pool.list_keys, target)


@router.post("/providers/{provider_id}/keys", status_code=201, response_model=ProviderKeyOut)
async def add_provider_key(
    provider_id: str, body: ProviderKeyCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderKeyOut:
    target = parse_provider_id(provider_id)
    return await ctx.write(key_pool.add_key, ctx.user, ctx.runtime.keyring, target, body)


@router.patch("/providers/{provider_id}/keys/{key_id}", response_model=ProviderKeyOut)
async def update_provider_key(
    provider_id: str,
    key_id: str,
    body: ProviderKeyUpdate,
    force: bool = False,
    ctx: Context = requires(Permission.ADMIN_WRITE),
) -> ProviderKeyOut:
    target, key = parse_provider_id(provider_id), parse_key_id(key_id)

    return await ctx.write(
        key_pool.update_key,
        ctx.user,
        ctx.runtime.deployment,
        ctx.runtime.keyring,
        target,
        key,
        body,
        force=force,
    )


@router.delete("/providers/{provider_id}/keys/{key_id}", status_code=204)
async def delete_provider_key(
    provider_id: str,
    key_id: str,
    force: bool = False,
    ctx: Context = requires(Permission.ADMIN_WRITE),
) -> Response:
    target, key = parse_provider_id(provider_id), parse_key_id(key_id)

    await ctx.write(key_pool.delete_key, ctx.user, ctx.runtime.deployment, target, key, force=force)
    return Response(status_code=204)
