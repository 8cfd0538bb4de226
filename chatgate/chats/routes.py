"""``/api/v1/chats`` and ``/api/v1/settings/chat-retention-days`` (SPEC §10, §14)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.types import Receive, Scope, Send

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, error_responses
from chatgate.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from chatgate.api.responses import JsonResponse
from chatgate.authz import Permission
from chatgate.chats import retention, service
from chatgate.chats.replying import ChatReplies, ReplyEvent, ReplyRun
from chatgate.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    ChatUpdate,
    MessageCreate,
    MessageOut,
    MessagePage,
    RetentionOut,
    RetentionPut,
)
from chatgate.errors import uuid_or_404

router = APIRouter(prefix="/api/v1/chats", tags=["chats"])
settings_router = APIRouter(prefix="/api/v1/settings", tags=["settings"])

_NOT_YOURS = (404, "`not_found`: no such chat, or one that is not the caller's (admins included).")


def parse_chat_id(raw: str) -> uuid.UUID:
    return uuid_or_404(raw, "chat")


def _replies(request: Request) -> ChatReplies:
    replies: ChatReplies = request.app.state.chat_replies
    return replies


@router.post(
    "",
    status_code=201,
    response_model=ChatOut,
    summary="Start a chat",
    description="With `model_config_id`, or the default model when it is absent.",
    responses=error_responses(
        (400, "`no_default_model`: no model given and no default is configured."),
        (404, "`model_not_found`: the model does not exist or the caller may not see it."),
    ),
)
async def create_chat(
    body: ChatCreate, request: Request, ctx: Context = requires(Permission.AUTHENTICATED)
) -> ChatOut:
    replies = _replies(request)
    model = await service.model_for_new_chat(replies.engine, ctx.user, body.model_config_id)
    chat = await ctx.write(service.create_chat, ctx.user, body, model)
    ctx.runtime.metrics.chats_created.inc()
    return chat


@router.get(
    "",
    response_model=ChatPage,
    summary="List the caller's chats",
    description="Newest first by `updated_at`, then id; paginated with `limit` and `cursor`. "
    "`archived` filters (absent: all).",
    responses=error_responses(
        (400, "`cursor_mismatch`: the cursor came with other filters; `cursor_invalid`."),
    ),
)
async def list_chats(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    archived: bool | None = Query(default=None, description="Only archived, or only live."),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> ChatPage:
    return await ctx.read(service.list_chats, ctx.user, limit, cursor, archived)


@router.get(
    "/{chat_id}",
    response_model=ChatOut,
    summary="Get one of the caller's chats",
    description="Only the chat's owner sees it; anyone else gets 404.",
    responses=error_responses(_NOT_YOURS),
)
async def get_chat(chat_id: str, ctx: Context = requires(Permission.AUTHENTICATED)) -> ChatOut:
    return await ctx.read(service.get_chat, ctx.user, parse_chat_id(chat_id))


@router.patch(
    "/{chat_id}",
    response_model=ChatOut,
    summary="Rename, archive or switch the model of a chat",
    description="Partial: absent fields are unchanged. A new `model_config_id` must be "
    "visible to the caller.",
    responses=error_responses(
        (404, "`not_found` (no such chat of the caller's) or `model_not_found`."),
    ),
)
async def update_chat(
    chat_id: str,
    body: ChatUpdate,
    request: Request,
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> ChatOut:
    target = parse_chat_id(chat_id)
    model = None
    if "model_config_id" in body.model_fields_set and body.model_config_id is not None:
        await ctx.read(service.own_chat, ctx.user, target)  # 404 before revealing models
        model = await _replies(request).engine.visible_model(
            ctx.user.user_id or uuid.UUID(int=0), body.model_config_id
        )
        if model is None:
            raise service.model_not_found()
    return await ctx.write(service.update_chat, ctx.user, target, body, model)


@router.delete(
    "/{chat_id}",
    status_code=204,
    summary="Delete a chat and its messages",
    description="Only the chat's owner may; anyone else gets 404.",
    responses={**NO_CONTENT, **error_responses(_NOT_YOURS)},
)
async def delete_chat(chat_id: str, ctx: Context = requires(Permission.AUTHENTICATED)) -> Response:
    await ctx.write(service.delete_chat, ctx.user, parse_chat_id(chat_id))
    return Response(status_code=204)


@router.get(
    "/{chat_id}/messages",
    response_model=MessagePage,
    summary="List a chat's messages",
    description="Oldest first by `created_at`, then id; paginated with `limit` and `cursor`.",
    responses=error_responses(
        (400, "`cursor_mismatch`: the cursor belongs to another chat; `cursor_invalid`."),
        _NOT_YOURS,
    ),
)
async def list_messages(
    chat_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> MessagePage:
    return await ctx.read(service.list_messages, ctx.user, parse_chat_id(chat_id), limit, cursor)


@router.post(
    "/{chat_id}/messages",
    status_code=201,
    response_model=MessageOut,
    summary="Send a message and receive the model's reply",
    description="Streams the reply as server-sent events (200, `text/event-stream`): "
    '`event: delta` with `{"content": "..."}` per piece, then `event: done` with the stored '
    'assistant message, or `event: error` with `{"code", "message"}`. With `stream=false` '
    "the answer is one 201 body with the stored assistant message. The model's availability "
    "is checked before anything is stored: an unavailable model answers with the gateway's "
    "status and code (e.g. 403 `user_api_key_required`, 503 `missing_api_key`).",
    responses={
        200: {
            "description": "The reply as server-sent events (`stream` true, the default).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(
            (403, "`user_api_key_required` or `provider_disabled` (the gateway's codes)."),
            _NOT_YOURS,
            (
                409,
                "`reply_in_progress`: the chat is answering another message; "
                "`model_deleted`: the chat's model was deleted (`detail.default_model` names "
                "the default).",
            ),
            (503, "`missing_api_key`: no key is configured for the chat's model."),
            (502, "With `stream=false`: `upstream_error` (the reply is stored as `error`)."),
            (504, "With `stream=false`: `upstream_timeout`."),
        ),
    },
)
async def post_message(
    chat_id: str,
    body: MessageCreate,
    request: Request,
    stream: bool = Query(default=True, description="`false`: one JSON body instead of SSE."),
    ctx: Context = requires(Permission.AUTHENTICATED),
) -> Response:
    request_id: str = getattr(request.state, "request_id", "") or ""
    run = await _replies(request).start(ctx.user, parse_chat_id(chat_id), body.content, request_id)
    if not stream:
        try:
            outcome = await run.outcome()
        except BaseException:
            run.cancel()
            raise
        content = outcome.message.model_dump(mode="json") if outcome.message else None
        if outcome.kind == "error" and outcome.failure is not None:
            failure = outcome.failure
            return JsonResponse(
                status_code=failure.status,
                content={
                    "code": failure.code,
                    "message": failure.message,
                    "detail": {"message": content} if content else None,
                },
            )
        return JsonResponse(status_code=201, content=content)
    return ReplyStream(run)


def _sse(event: ReplyEvent) -> bytes:
    if event.kind == "delta":
        data: Any = {"content": event.content}
    elif event.kind == "done":
        data = event.message.model_dump(mode="json") if event.message else None
    else:
        failure = event.failure
        data = {
            "code": failure.code if failure else "upstream_error",
            "message": failure.message if failure else "the reply failed",
        }
    return b"event: " + event.kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class ReplyStream(Response):
    """The reply as SSE. A watcher waits for the client's ``http.disconnect`` and stops
    the reply (which stores ``partial``) even while no text is flowing."""

    media_type = "text/event-stream"

    def __init__(self, run: ReplyRun) -> None:
        super().__init__(status_code=200, media_type=self.media_type)
        self.run = run
        # A stream has no length: Response would announce "content-length: 0".
        del self.headers["content-length"]
        self.headers["cache-control"] = "no-cache"
        self.headers["x-accel-buffering"] = "no"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        run = self.run

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            run.cancel()

        watcher = asyncio.create_task(watch())
        finished = False
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for event in run.events():
                await send({"type": "http.response.body", "body": _sse(event), "more_body": True})
            finished = True
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            pass  # the client went away while we wrote
        finally:
            if not finished:
                run.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


@settings_router.get(
    "/chat-retention-days",
    response_model=RetentionOut,
    summary="Read how long archived chats are kept",
    description="Archived chats not updated for this many days are purged (0 = never; default 30).",
)
async def get_retention(ctx: Context = requires(Permission.AUTHENTICATED)) -> RetentionOut:
    return RetentionOut(retention_days=await ctx.read(retention.get_retention_days))


@settings_router.put(
    "/chat-retention-days",
    status_code=204,
    summary="Set how long archived chats are kept",
    description="0..3650 days; 0 disables purging. Audited.",
    responses={
        **NO_CONTENT,
        **error_responses((400, "`retention_days_invalid`: outside 0..3650.")),
    },
)
async def put_retention(
    body: RetentionPut, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    await ctx.write(retention.set_retention_days, ctx.user, body.retention_days)
    return Response(status_code=204)
