"""Provider-config endpoints (SPEC §3, §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, SECRETS_UNAVAILABLE, error_responses
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
from chatgate.providers import connection, key_pool, service
from chatgate.providers.schemas import (
    ConnectionTestOut,
    DeleteImpact,
    ProviderCreate,
    ProviderFamilyOut,
    ProviderKeyCreate,
    ProviderKeyOut,
    ProviderKeyUpdate,
    ProviderOut,
    ProviderTest,
    ProviderTestUnsaved,
    ProviderUpdate,
)
from chatgate.upstream import UpstreamClient

router = APIRouter(prefix="/api/v1", tags=["providers"])


def parse_provider_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "provider config")


def parse_key_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "provider key")


def upstream_client(request: Request) -> UpstreamClient:
    """The process's one shared upstream client (``create_app`` puts it on the app)."""
    client: UpstreamClient = request.app.state.upstream_client
    return client


_TEST_DESCRIPTION = (
    "Each key gets the family's cheapest authenticated call, its model list (`GET "
    "{base_url}/models` for OpenAI-style families, `/key` on OpenRouter, `/v1/models` on "
    "Anthropic, `/v1beta/models` on Google): no tokens are spent. The answer has the "
    "upstream's status and its own error message (at most 1 KiB, the key removed); when an "
    "OpenAI-style base URL answers 404 and the same URL with `/v1` appended answers, the "
    "message says so. Testing never changes a key's state."
)


@router.get(
    "/provider-families",
    response_model=list[ProviderFamilyOut],
    summary="List provider families",
    description="Every family chatgate speaks, its default base URL (null when it has "
    "none) and whether the deployment provides a key for it.",
)
async def list_provider_families(
    ctx: Context = requires(Permission.ADMIN_READ),
) -> list[ProviderFamilyOut]:
    return service.list_families(ctx.runtime.deployment)


@router.get(
    "/providers",
    response_model=list[ProviderOut],
    summary="List provider configs",
    description="Ordered by family, then precedence. A family with a deployment key but no "
    "provider config has a read-only entry with `source: deployment` and `id: null`.",
)
async def list_providers(ctx: Context = requires(Permission.ADMIN_READ)) -> list[ProviderOut]:
    return await ctx.read(service.list_providers, ctx.runtime.deployment)


@router.post(
    "/providers",
    status_code=201,
    response_model=ProviderOut,
    summary="Create a provider config",
    description="`api_key`, when given, becomes the first central pool key (label "
    "`primary`). No response ever contains a key.",
    responses=error_responses(
        (
            400,
            "A rule rejects a value: `family_invalid`, `name_invalid`, `display_name_invalid`, "
            "`base_url_invalid`, "
            "`base_url_required`, `api_key_invalid`, `key_policy_invalid`, "
            "`central_key_missing`, `timeout_invalid`.",
        ),
        (409, "`name_taken`."),
        SECRETS_UNAVAILABLE,
    ),
)
async def create_provider(
    body: ProviderCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderOut:
    return await ctx.write(
        service.create_provider, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, body
    )


# Declared before the /providers/{provider_id} routes: "test" is not a provider id.
@router.post(
    "/providers/test",
    response_model=ConnectionTestOut,
    summary="Test unsaved provider settings",
    description="Tests the family, base URL and key in the body before saving them; nothing "
    "is stored. " + _TEST_DESCRIPTION,
    responses=error_responses(
        (
            400,
            "A rule rejects a value: `family_invalid`, `base_url_invalid`, `base_url_required`, "
            "`api_key_invalid`.",
        ),
    ),
)
async def probe_unsaved_provider(
    body: ProviderTestUnsaved, request: Request, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ConnectionTestOut:
    plan = connection.plan_unsaved(body, ctx.runtime.deployment, ctx.runtime.settings)
    return await connection.run_tests(upstream_client(request), plan)


@router.get(
    "/providers/{provider_id}",
    response_model=ProviderOut,
    summary="Get a provider config",
    responses=error_responses(404),
)
async def get_provider(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> ProviderOut:
    target = parse_provider_id(provider_id)
    return await ctx.read(service.get_provider, ctx.runtime.deployment, target)


@router.patch(
    "/providers/{provider_id}",
    response_model=ProviderOut,
    summary="Update a provider config",
    description="Absent fields are unchanged. `api_key` replaces the primary pool key (or "
    "adds one to an empty pool); `api_key: null` removes every stored central key; "
    '`base_url: ""` clears it. Changing the origin of the base URL while keys are stored '
    "needs `api_key` or `drop_keys: true`.",
    responses=error_responses(
        (
            400,
            "A rule rejects a value: `family_immutable`, `name_invalid`, `display_name_invalid`, "
            "`base_url_invalid`, "
            "`base_url_required`, `api_key_invalid`, `key_policy_invalid`, "
            "`central_key_missing`, `timeout_invalid`.",
        ),
        404,
        (
            409,
            "`name_taken`; `use_key_endpoints`: the pool holds several keys; "
            "`keys_bound_to_origin`: the origin changes while keys are stored.",
        ),
        SECRETS_UNAVAILABLE,
    ),
)
async def update_provider(
    provider_id: str, body: ProviderUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderOut:
    target = parse_provider_id(provider_id)
    return await ctx.write(
        service.update_provider, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, target, body
    )


@router.delete(
    "/providers/{provider_id}",
    status_code=204,
    summary="Delete a provider config",
    description="One transaction: soft-deletes its model configs (and the family's unbound "
    "ones when the family becomes unusable), ensures a default model, deletes its central "
    "and user keys; see `delete-impact` first.",
    responses={**NO_CONTENT, **error_responses(404)},
)
async def delete_provider(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    target = parse_provider_id(provider_id)
    await ctx.write(service.delete_provider, ctx.user, ctx.runtime.deployment, target)
    return Response(status_code=204)


@router.get(
    "/providers/{provider_id}/delete-impact",
    response_model=DeleteImpact,
    summary="Preview what deleting a provider config would do",
    responses=error_responses(404),
)
async def provider_delete_impact(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> DeleteImpact:
    target = parse_provider_id(provider_id)
    return await ctx.read(service.delete_impact, ctx.runtime.deployment, target)


@router.post(
    "/providers/{provider_id}/test",
    response_model=ConnectionTestOut,
    summary="Test a provider config's central keys",
    description="Tests every enabled pool key at the config's effective base URL, or only "
    "`key_id` (even a disabled key). " + _TEST_DESCRIPTION,
    responses=error_responses(404),
)
async def probe_provider_keys(
    provider_id: str,
    request: Request,
    body: ProviderTest | None = None,
    ctx: Context = requires(Permission.ADMIN_WRITE),
) -> ConnectionTestOut:
    target = parse_provider_id(provider_id)
    runtime = ctx.runtime
    plan = await ctx.read(
        connection.plan_saved,
        runtime.keyring,
        runtime.deployment,
        runtime.settings,
        target,
        body.key_id if body is not None else None,
    )
    return await connection.run_tests(upstream_client(request), plan)


# -- central key pools (SPEC §8) -------------------------------------------------------------


@router.get(
    "/providers/{provider_id}/keys",
    response_model=list[ProviderKeyOut],
    summary="List a provider config's central keys",
    description="Never the secrets: only each key's hint (its last 4 characters).",
    responses=error_responses(404),
)
async def list_provider_keys(
    provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> list[ProviderKeyOut]:
    target = parse_provider_id(provider_id)
    return await ctx.read(key_pool.list_keys, target)


@router.post(
    "/providers/{provider_id}/keys",
    status_code=201,
    response_model=ProviderKeyOut,
    summary="Add a central key to a provider config's pool",
    responses=error_responses(
        (
            400,
            "`api_key_invalid`: empty, too long or with control characters; `label_invalid`: "
            "control characters.",
        ),
        404,
        SECRETS_UNAVAILABLE,
    ),
)
async def add_provider_key(
    provider_id: str, body: ProviderKeyCreate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ProviderKeyOut:
    target = parse_provider_id(provider_id)
    return await ctx.write(key_pool.add_key, ctx.user, ctx.runtime.keyring, target, body)


@router.patch(
    "/providers/{provider_id}/keys/{key_id}",
    response_model=ProviderKeyOut,
    summary="Relabel, enable, disable or replace a central key",
    description="A new `api_key` or `enabled: true` resets the key's state to `active`.",
    responses=error_responses(
        (
            400,
            "`api_key_invalid`: empty, too long or with control characters; `label_invalid`: "
            "control characters.",
        ),
        404,
        (409, "`last_usable_key`: disabling it would leave no usable key; `?force=true`."),
        SECRETS_UNAVAILABLE,
    ),
)
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


@router.delete(
    "/providers/{provider_id}/keys/{key_id}",
    status_code=204,
    summary="Delete a central key",
    responses={
        **NO_CONTENT,
        **error_responses(
            404, (409, "`last_usable_key`: it is the last usable key; `?force=true`.")
        ),
    },
)
async def delete_provider_key(
    provider_id: str,
    key_id: str,
    force: bool = False,
    ctx: Context = requires(Permission.ADMIN_WRITE),
) -> Response:
    target, key = parse_provider_id(provider_id), parse_key_id(key_id)

    await ctx.write(key_pool.delete_key, ctx.user, ctx.runtime.deployment, target, key, force=force)
    return Response(status_code=204)
