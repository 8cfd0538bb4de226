"""Chat rules inside one transaction each: ownership, lists, messages (SPEC §10)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.pagination import Position, decode_cursor, encode_cursor
from chatgate.authz import Actor
from chatgate.chats.engine import ReplyEngine, ReplyModel
from chatgate.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    ChatUpdate,
    MessageOut,
    MessagePage,
    MessageUsage,
)
from chatgate.db.tables import Chat, ChatMessage
from chatgate.errors import ApiError, bad_request
from chatgate.ids import new_id, utcnow
from chatgate.store import chats as chat_store


def chat_not_found() -> ApiError:
    # Also for chats of others, admins included: their existence is not revealed (§13).
    return ApiError(404, "not_found", "chat not found")


def model_not_found() -> ApiError:
    return ApiError(
        404,
        "model_not_found",
        "the model does not exist or is not available to you",
        {"field": "model_config_id"},
    )


def _owner(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:  # pragma: no cover - API actors are always users
        raise chat_not_found()
    return actor.user_id


def chat_out(chat: Chat) -> ChatOut:
    return ChatOut.model_validate(chat)


def message_out(message: ChatMessage) -> MessageOut:
    usage = None
    if message.role == "assistant":
        usage = MessageUsage(input_tokens=message.input_tokens, output_tokens=message.output_tokens)
    return MessageOut(
        id=message.id,
        role=message.role,
        content=message.content,
        status=message.status,
        model_config_id=message.model_config_id,
        provider_config_id=message.provider_config_id,
        key_source=message.key_source,
        usage=usage,
        created_at=message.created_at,
    )


async def own_chat(session: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> Chat:
    chat = await chat_store.get_chat(session, chat_id)
    if chat is None or chat.user_id != _owner(actor):
        raise chat_not_found()
    return chat


async def model_for_new_chat(
    engine: ReplyEngine, actor: Actor, model_config_id: uuid.UUID | None
) -> ReplyModel:
    """The requested model when the caller may see it, else the default (§10)."""
    user_id = _owner(actor)
    if model_config_id is not None:
        model = await engine.visible_model(user_id, model_config_id)
        if model is None:
            raise model_not_found()
        return model
    default = await engine.default_model(user_id)
    if default is None:
        raise bad_request(
            "no_default_model", "no model given and no default model is configured", None
        )
    if not isinstance(default, ReplyModel):  # a default the caller may not see
        raise model_not_found()
    return default


async def create_chat(
    session: AsyncSession, actor: Actor, body: ChatCreate, model: ReplyModel
) -> ChatOut:
    now = utcnow()
    chat = await chat_store.insert_chat(
        session,
        Chat(
            id=new_id(),
            user_id=_owner(actor),
            title=body.title.strip(),
            model_config_id=model.id,
            archived=False,
            created_at=now,
            updated_at=now,
            reply_lease_until=None,
        ),
    )
    return chat_out(chat)


def _chat_filters(archived: bool | None) -> dict[str, str | None]:
    return {"archived": None if archived is None else str(archived).lower()}


async def list_chats(
    session: AsyncSession, actor: Actor, limit: int, cursor: str | None, archived: bool | None
) -> ChatPage:
    filters = _chat_filters(archived)
    before: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        before = _position(decode_cursor(cursor, filters))
    rows = await chat_store.list_chats(
        session, _owner(actor), limit=limit + 1, archived=archived, before=before
    )
    items = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(filters, Position(last.updated_at, last.id))
    return ChatPage(items=[chat_out(c) for c in items], next_cursor=next_cursor)


def _position(position: Position) -> tuple[datetime, uuid.UUID]:
    return position.created_at, position.id


async def get_chat(session: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> ChatOut:
    return chat_out(await own_chat(session, actor, chat_id))


async def update_chat(
    session: AsyncSession,
    actor: Actor,
    chat_id: uuid.UUID,
    body: ChatUpdate,
    model: ReplyModel | None,
) -> ChatOut:
    """``model``: the checked model when the body names one (PATCH is partial)."""
    chat = await own_chat(session, actor, chat_id)
    fields = body.model_fields_set
    if "title" in fields and body.title is not None:
        chat.title = body.title.strip()
    if "archived" in fields and body.archived is not None:
        chat.archived = body.archived
    if model is not None:
        chat.model_config_id = model.id
    if fields:
        chat.updated_at = utcnow()
    await session.flush()
    return chat_out(chat)


async def delete_chat(session: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> None:
    chat = await own_chat(session, actor, chat_id)
    await chat_store.delete_chat(session, chat)


def _message_filters(chat_id: uuid.UUID) -> dict[str, str | None]:
    return {"chat_id": str(chat_id)}


async def list_messages(
    session: AsyncSession, actor: Actor, chat_id: uuid.UUID, limit: int, cursor: str | None
) -> MessagePage:
    await own_chat(session, actor, chat_id)
    filters = _message_filters(chat_id)
    after = None
    if cursor is not None:
        after = _position(decode_cursor(cursor, filters))
    rows = await chat_store.list_messages(session, chat_id, limit=limit + 1, after=after)
    items = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(filters, Position(last.created_at, last.id))
    return MessagePage(items=[message_out(m) for m in items], next_cursor=next_cursor)
