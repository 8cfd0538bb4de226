"""The UI's pages (SPEC §12). Each page declares its permission like an API route and reads
through the same services; errors come back as pages (``error_page``)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatgate.api.deps import Context, requires
from chatgate.authz import Actor, Permission, Role
from chatgate.authz.sessions import COOKIE_NAME, IDLE_TIMEOUT
from chatgate.catalog import service as catalog_service
from chatgate.errors import ApiError, uuid_or_404
from chatgate.families import DISPLAY_NAMES, FAMILIES
from chatgate.providers import key_pool
from chatgate.providers import service as provider_service
from chatgate.providers.schemas import ProviderOut
from chatgate.sessions import service as session_service
from chatgate.store import users as user_store
from chatgate.ui.rendering import render_page
from chatgate.ui.wording import key_policy_sentence

HERE = Path(__file__).parent
router = APIRouter(prefix="/ui", include_in_schema=False)
static_files = StaticFiles(directory=HERE / "static")

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


class ContentSecurityPolicy:
    """Adds the UI's Content-Security-Policy (and no sniffing, no framing) to every
    response under ``/ui``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith("/ui"):
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)


_HEADINGS = {401: "Please sign in", 403: "Not allowed", 404: "Not found"}


def error_page(request: Request, error: ApiError) -> Response | None:
    """Errors under ``/ui`` as pages: a 401 is the sign-in form itself."""
    if not request.url.path.startswith("/ui"):
        return None
    if error.status == 401:
        return render_page(request, "sign_in.html", None, 401, message=None)
    return render_page(
        request,
        "error.html",
        None,
        error.status,
        status=error.status,
        heading=_HEADINGS.get(error.status, "Something went wrong"),
        message=error.message,
    )


@router.get("")
async def home(_ctx: Context = requires(Permission.PUBLIC)) -> Response:
    return RedirectResponse("/ui/models", status_code=303)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, _ctx: Context = requires(Permission.PUBLIC)
) -> Response:
    return render_page(request, "sign_in.html", None, message=None)


@router.post("/sign-in")
async def sign_in(
    request: Request, token: str = Form(max_length=512), ctx: Context = requires(Permission.PUBLIC)
) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        # Another site may not sign a visitor into an account of its choosing.
        raise ApiError(403, "forbidden", "sign-in is only accepted from chatgate's own pages")
    try:
        secret = await ctx.write(session_service.open_session, token.strip())
    except ApiError as error:
        if error.status != 401:
            raise
        return render_page(request, "sign_in.html", None, 401, message="That token is not valid.")
    response = RedirectResponse("/ui/models", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        secret,
        max_age=int(IDLE_TIMEOUT.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/providers")
async def providers_page(
    request: Request, ctx: Context = requires(Permission.ADMIN_READ)
) -> Response:
    providers = await ctx.read(provider_service.list_providers, ctx.runtime.deployment)
    health = await _key_health(ctx, [p for p in providers if p.id is not None])
    families = [
        {
            "id": family,
            "display_name": DISPLAY_NAMES[family],
            "has_deployment_key": ctx.runtime.deployment.has_key(family),
            "providers": [_provider_view(p, health) for p in providers if p.family == family],
        }
        for family in FAMILIES
    ]
    return render_page(request, "providers.html", ctx.user, families=families)


async def _key_health(ctx: Context, providers: list[ProviderOut]) -> dict[uuid.UUID, list[str]]:
    """Each config's pool keys' states (as the key list shows them)."""
    states: dict[uuid.UUID, list[str]] = {}
    for provider in providers:
        assert provider.id is not None
        keys = await ctx.read(key_pool.list_keys, provider.id)
        states[provider.id] = [key.state for key in keys]
    return states


def _provider_view(provider: ProviderOut, health: dict[uuid.UUID, list[str]]) -> dict[str, Any]:
    states = health.get(provider.id, []) if provider.id is not None else []
    key_health = []
    for state, tone in (("active", "ok"), ("cooling_down", "warn"), ("invalid", "bad")):
        count = states.count(state)
        if count:
            key_health.append({"tone": tone, "text": f"{count} {state.replace('_', ' ')}"})
    return {
        **provider.model_dump(),
        "key_health": key_health,
        "policy": key_policy_sentence(
            provider.central_api_key_enabled,
            provider.allow_user_api_key,
            provider.allow_central_api_key_fallback,
        ),
    }


@router.get("/models")
async def models_page(
    request: Request,
    viewed_as: str = Query("", alias="as", max_length=64),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> Response:
    viewer = ctx.user
    users = []
    if viewer.can(Permission.ADMIN_READ):
        users = [u for u in await ctx.read(user_store.list_users) if u.id != viewer.user_id]
    viewed = viewer
    if viewed_as and users:
        target = uuid_or_404(viewed_as, "user")
        match = next((u for u in users if u.id == target), None)
        if match is None:
            raise ApiError(404, "not_found", "user not found")
        viewed = Actor(user_id=match.id, role=Role(match.role), username=match.username)
    models = await ctx.read(catalog_service.list_my_models, viewed, ctx.runtime.deployment)
    return render_page(
        request,
        "models.html",
        viewer,
        models=models,
        users=users,
        viewed_id=viewed.user_id,
        viewed_name="you" if viewed is viewer else f"{viewed.username} ({viewed.role})",
    )
