"""The chat pages (SPEC §10): the caller's chats newest first with a new-chat form, and one
chat with its messages. Reading goes through the chats service (so another user's chat is
a 404 page, admins included); sending, renaming, deleting and switching the model are
``chat.js`` calling ``/api/v1/chats`` (the reply streams as SSE into the page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.catalog import service as catalog_service
from chatgate.catalog.schemas import MyModel
from chatgate.chats import service as chat_service
from chatgate.chats.schemas import MessageOut
from chatgate.errors import uuid_or_404
from chatgate.ui.rendering import render_page

router = APIRouter(prefix="/ui", include_in_schema=False)

CHATS_PAGE_SIZE = 50
MESSAGES_PAGE_SIZE = 500
# A chat longer than this shows its first messages and says so (the API pages further).
MAX_MESSAGES_SHOWN = 5_000


def model_choices(models: list[MyModel]) -> list[dict[str, Any]]:
    """The picker's options: every model the caller sees, unavailable ones with why."""
    return [
        {
            "id": str(m.id),
            "label": m.display_name or m.name,
            "name": m.name,
            "is_default": m.is_default,
            "available": m.available and m.enabled is not False,
            "reason": m.unavailable_reason,
        }
        for m in models
    ]


@router.get("/chats")
async def chats_page(
    request: Request,
    cursor: str | None = Query(None, max_length=2048),
    limit: int = Query(CHATS_PAGE_SIZE, ge=1, le=500),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> Response:
    page = await ctx.read(chat_service.list_chats, ctx.user, limit, cursor, None)
    models = await ctx.read(catalog_service.list_my_models, ctx.user, ctx.runtime.deployment)
    names = {str(m.id): m.display_name or m.name for m in models}
    older = None
    if page.next_cursor is not None:
        older = f"/ui/chats?cursor={page.next_cursor}"
        if limit != CHATS_PAGE_SIZE:
            older += f"&limit={limit}"
    return render_page(
        request,
        "chats.html",
        ctx.user,
        chats=page.items,
        model_names=names,
        models=model_choices(models),
        older=older,
        paged=cursor is not None,
    )


@router.get("/chats/{chat_id}")
async def chat_page(
    request: Request, chat_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    target = uuid_or_404(chat_id, "chat")
    chat = await ctx.read(chat_service.get_chat, ctx.user, target)
    messages: list[MessageOut] = []
    cursor = None
    while len(messages) < MAX_MESSAGES_SHOWN:
        page = await ctx.read(
            chat_service.list_messages, ctx.user, target, MESSAGES_PAGE_SIZE, cursor
        )
        messages.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    models = model_choices(
        await ctx.read(catalog_service.list_my_models, ctx.user, ctx.runtime.deployment)
    )
    current = next((m for m in models if m["id"] == str(chat.model_config_id)), None)
    default = next((m for m in models if m["is_default"] and m["available"]), None)
    return render_page(
        request,
        "chat.html",
        ctx.user,
        chat=chat,
        messages=messages,
        truncated=cursor is not None,
        models=models,
        current=current,
        default=default,
    )
