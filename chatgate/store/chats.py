"""The ``chats`` and ``chat_messages`` tables (SPEC §10)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import Chat, ChatMessage, ModelConfig

# One number for "the chat purge" among PostgreSQL advisory locks.
PURGE_LOCK_KEY = 0x63686174  # "chat"


async def insert_chat(session: AsyncSession, chat: Chat) -> Chat:
    session.add(chat)
    await session.flush()
    return chat


async def get_chat(session: AsyncSession, chat_id: uuid.UUID) -> Chat | None:
    return await session.get(Chat, chat_id)


async def list_chats(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    archived: bool | None,
    before: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Chat]:
    """Newest first by ``updated_at``, then id; ``before`` is the last row of the previous
    page."""
    query = select(Chat).where(Chat.user_id == user_id)
    if archived is not None:
        query = query.where(Chat.archived.is_(archived))
    if before is not None:
        at, last_id = before
        query = query.where(
            or_(Chat.updated_at < at, and_(Chat.updated_at == at, Chat.id < last_id))
        )
    query = query.order_by(Chat.updated_at.desc(), Chat.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def delete_chat(session: AsyncSession, chat: Chat) -> None:
    await session.delete(chat)
    await session.flush()


async def claim_reply(
    session: AsyncSession,
    chat_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Claim the chat's one reply slot; false when a live claim holds it.

    One statement: on PostgreSQL the second of two racing updates waits for the first's
    row lock, then re-checks the condition and matches nothing; on SQLite writes are
    serialised (``BEGIN IMMEDIATE``)."""
    result = await session.execute(
        update(Chat)
        .where(
            Chat.id == chat_id,
            Chat.user_id == user_id,
            or_(Chat.reply_lease_until.is_(None), Chat.reply_lease_until < now),
        )
        .values(reply_lease_until=lease_until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def renew_reply(session: AsyncSession, chat_id: uuid.UUID, lease_until: datetime) -> None:
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id, Chat.reply_lease_until.is_not(None))
        .values(reply_lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )


async def release_reply(session: AsyncSession, chat_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values(reply_lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def add_message(session: AsyncSession, message: ChatMessage) -> ChatMessage:
    session.add(message)
    return message


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> ChatMessage | None:
    return await session.get(ChatMessage, message_id)


async def list_messages(
    session: AsyncSession,
    chat_id: uuid.UUID,
    *,
    limit: int | None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> Sequence[ChatMessage]:
    """Oldest first by ``created_at``, then id."""
    query = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                ChatMessage.created_at > at,
                and_(ChatMessage.created_at == at, ChatMessage.id > last_id),
            )
        )
    query = query.order_by(ChatMessage.created_at, ChatMessage.id)
    if limit is not None:
        query = query.limit(limit)
    return (await session.execute(query)).scalars().all()


async def try_purge_lock(session: AsyncSession) -> bool:
    """PostgreSQL: this transaction holds the purge lock, or another process does (false).
    SQLite serves one machine, and its write transactions are serialised anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    held = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PURGE_LOCK_KEY}
    )
    return bool(held.scalar_one())


async def purge_archived_batch(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` archived chats last updated before ``cutoff``, oldest first
    (their messages go with them: the foreign key cascades). Returns how many."""
    ids = (
        (
            await session.execute(
                select(Chat.id)
                .where(Chat.archived.is_(True), Chat.updated_at < cutoff)
                .order_by(Chat.updated_at, Chat.id)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    await session.execute(
        delete(Chat).where(Chat.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return len(ids)


async def count_purgeable(session: AsyncSession, cutoff: datetime) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Chat)
                .where(Chat.archived.is_(True), Chat.updated_at < cutoff)
            )
        ).scalar_one()
    )


async def update_message_content(
    session: AsyncSession, message_id: uuid.UUID, content: str, now: datetime
) -> None:
    await session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id)
        .values(content=content, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def model_deleted_and_default(
    session: AsyncSession, model_config_id: uuid.UUID
) -> tuple[bool, str | None]:
    """Whether the model config was soft-deleted, and the live default's name (if any)."""
    deleted = (
        await session.execute(select(ModelConfig.deleted).where(ModelConfig.id == model_config_id))
    ).scalar_one_or_none()
    default = (
        await session.execute(
            select(ModelConfig.name).where(
                ModelConfig.is_default.is_(True), ModelConfig.deleted.is_(False)
            )
        )
    ).scalar_one_or_none()
    return bool(deleted), default
