"""Admin pages for provider configs (SPEC §3, §8, §12): the create and edit forms, the
delete confirmation with its impact, and a config's key pool.

Pages only read (through the services the API uses); every write is a ``fetch`` from
``static/admin.js`` to the same ``/api/v1`` endpoint an API client would call, so one set
of rules and one set of error codes serves both, and an error's ``detail.field`` puts its
message next to the field it names.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.errors import ApiError, uuid_or_404
from chatgate.families import DISPLAY_NAMES
from chatgate.models import service as model_service
from chatgate.providers import key_pool
from chatgate.providers import service as provider_service
from chatgate.providers.schemas import ProviderOut
from chatgate.ui.rendering import render_page
from chatgate.ui.wording import POLICY_SENTENCES, key_policy_sentence

router = APIRouter(prefix="/ui", include_in_schema=False)


def policy_sentences() -> dict[str, str]:
    """The key-policy sentences keyed ``"central,user,fallback"`` (``true``/``false``), for
    the form's script to update the sentence as the switches change."""
    sentences = {
        ",".join(str(flag).lower() for flag in flags): sentence
        for flags, sentence in POLICY_SENTENCES.items()
    }
    sentences["invalid"] = key_policy_sentence(False, False, False)
    return sentences


async def _saved_provider(ctx: Context, raw_id: str) -> ProviderOut:
    provider_id = uuid_or_404(raw_id, "provider config")
    return await ctx.read(provider_service.get_provider, ctx.runtime.deployment, provider_id)


def _form_values(
    ctx: Context, provider: ProviderOut | None, primary_hint: str | None = None
) -> dict[str, Any]:
    families = provider_service.list_families(ctx.runtime.deployment)
    central = provider.central_api_key_enabled if provider else True
    user_keys = provider.allow_user_api_key if provider else False
    fallback = provider.allow_central_api_key_fallback if provider else False
    return {
        "provider": provider,
        "families": families,
        "sentences": policy_sentences(),
        "policy": key_policy_sentence(central, user_keys, fallback),
        "provider_hint": primary_hint,
    }


@router.get("/providers/new")
async def new_provider_page(
    request: Request, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    return render_page(request, "provider_form.html", ctx.user, **_form_values(ctx, None))


@router.get("/providers/{provider_id}/edit")
async def edit_provider_page(
    request: Request, provider_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    provider = await _saved_provider(ctx, provider_id)
    assert provider.id is not None
    keys = await ctx.read(key_pool.list_keys, provider.id)
    # The key a new api_key replaces: the oldest enabled one (the pool lists oldest first).
    primary = next((key for key in keys if key.enabled), None)
    values = _form_values(ctx, provider, primary.hint if primary else None)
    return render_page(request, "provider_form.html", ctx.user, **values)


@router.get("/providers/{provider_id}/delete")
async def delete_provider_page(
    request: Request, provider_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    provider = await _saved_provider(ctx, provider_id)
    assert provider.id is not None
    impact = await ctx.read(provider_service.delete_impact, ctx.runtime.deployment, provider.id)
    new_default = None
    if impact.new_default_model_config_id is not None:
        try:
            new_default = await ctx.read(
                model_service.get_model, impact.new_default_model_config_id
            )
        except ApiError:  # gone in between: the page then just does not name it
            new_default = None
    return render_page(
        request,
        "provider_delete.html",
        ctx.user,
        provider=provider,
        family_name=DISPLAY_NAMES.get(provider.family, provider.family),
        impact=impact,
        new_default=new_default,
    )


@router.get("/providers/{provider_id}/keys")
async def provider_keys_page(
    request: Request, provider_id: str, ctx: Context = requires(Permission.ADMIN_READ)
) -> Response:
    provider = await _saved_provider(ctx, provider_id)
    assert provider.id is not None
    keys = await ctx.read(key_pool.list_keys, provider.id)
    return render_page(
        request,
        "provider_keys.html",
        ctx.user,
        provider=provider,
        family_name=DISPLAY_NAMES.get(provider.family, provider.family),
        keys=keys,
        can_manage=ctx.user.can(Permission.ADMIN_WRITE),
    )
