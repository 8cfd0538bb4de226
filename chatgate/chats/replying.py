"""Posting a message and producing the stored reply (SPEC §10).

Order of a post: the chat is the caller's (else 404); its model is not soft-deleted (409
``model_deleted``, naming the default); the gateway finds it visible and available (else
its status and code, nothing stored); then one transaction claims the chat's reply slot
(409 ``reply_in_progress`` when held) and stores the user message. The reply is produced
by a task of its own, not by the HTTP response, so a client that leaves cannot stop the
bookkeeping: the task closes the upstream request and stores what it has as ``partial``.

The reply row is inserted at the first text, rewritten at most once a second while text
arrives (renewing the chat's claim), and finished at the end with the usage and the
config and key source that answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor
from chatgate.chats import service
from chatgate.chats.compression import fit_history
from chatgate.chats.engine import (
    PreparedReply,
    ReplyEnd,
    ReplyEngine,
    ReplyFailure,
    ReplyRefused,
)
from chatgate.chats.schemas import MessageOut
from chatgate.db.engine import Database
from chatgate.db.tables import ChatMessage
from chatgate.errors import ApiError
from chatgate.ids import new_id, utcnow
from chatgate.metrics import Metrics
from chatgate.settings import Settings
from chatgate.store import chats as chat_store

log = logging.getLogger("chatgate.chats")

FLUSH_INTERVAL_S = 1.0
# A claim lapses this long after its last renewal, so a crashed process does not block a
# chat forever; a live reply renews it with every flush.
LEASE_MARGIN_S = 60.0

_INTERNAL = ReplyFailure(500, "internal_error", "chatgate could not store the reply")


@dataclass
class ReplyEvent:
    kind: str  # "delta", "done" or "error"
    content: str = ""
    message: MessageOut | None = None
    failure: ReplyFailure | None = None


@dataclass
class ChatReplies:
    """The chats side of replies for one app: the engine, and replies in flight (so a
    stopping server waits for them to be stored)."""

    db: Database
    engine: ReplyEngine
    metrics: Metrics
    settings: Settings
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def lease_s(self) -> float:
        s = self.settings
        first = max(s.upstream_stream_first_byte_timeout_s, s.upstream_idle_timeout_s)
        return first + LEASE_MARGIN_S

    async def start(
        self, actor: Actor, chat_id: uuid.UUID, content: str, request_id: str
    ) -> ReplyRun:
        chat, deleted_default = await self.db.read(
            lambda session: _chat_and_model_state(session, actor, chat_id)
        )
        if deleted_default is not None:
            named = f"; the default model is {deleted_default!r}" if deleted_default else ""
            raise ApiError(
                409,
                "model_deleted",
                f"this chat's model was deleted{named}; set the chat's model_config_id to "
                "continue with another model",
                {"field": "model_config_id", "default_model": deleted_default or None},
            )
        if chat.model_config_id is None:
            raise service.model_not_found()
        try:
            prepared = await self.engine.prepare(
                service._owner(actor), chat.model_config_id, request_id
            )
        except ReplyRefused as refused:
            failure = refused.failure
            raise ApiError(failure.status, failure.code, failure.message) from None
        now = utcnow()
        lease_until = now + timedelta(seconds=self.lease_s())

        async def begin(session: AsyncSession) -> list[ChatMessage]:
            claimed = await chat_store.claim_reply(
                session, chat_id, service._owner(actor), now=now, lease_until=lease_until
            )
            if not claimed:
                await service.own_chat(session, actor, chat_id)  # 404 if it went away
                raise ApiError(
                    409,
                    "reply_in_progress",
                    "this chat is answering a message; wait for the reply to finish",
                )
            chat_store.add_message(
                session,
                ChatMessage(
                    id=new_id(),
                    chat_id=chat_id,
                    role="user",
                    content=content,
                    status="complete",
                    model_config_id=prepared.model.id,
                    provider_config_id=None,
                    key_source=None,
                    input_tokens=None,
                    output_tokens=None,
                    created_at=now,
                    updated_at=now,
                ),
            )
            await session.flush()
            return list(await chat_store.list_messages(session, chat_id, limit=None))

        history = await self.db.write(begin, notify=False)
        messages = fit_history(
            [(m.role, m.content) for m in history if m.content],
            context_limit=prepared.model.context_limit,
            threshold_percent=prepared.model.compression_threshold,
        )
        run = ReplyRun(self, prepared, chat_id, messages, request_id)
        task = asyncio.create_task(run.produce())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        run.task = task
        return run

    async def stop(self) -> None:
        """Server stop: replies in flight end as ``partial`` (stored), then return."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _chat_and_model_state(
    session: AsyncSession, actor: Actor, chat_id: uuid.UUID
) -> tuple[Any, str | None]:
    """The chat, and — when its model was soft-deleted — the default model's name ("" when
    there is no default); None when the model is not deleted."""
    chat = await service.own_chat(session, actor, chat_id)
    if chat.model_config_id is None:
        return chat, None
    deleted, default_name = await chat_store.model_deleted_and_default(
        session, chat.model_config_id
    )
    return chat, (default_name or "") if deleted else None


class ReplyRun:
    """One reply being produced; ``events`` for the client, ``task`` does the work."""

    def __init__(
        self,
        owner: ChatReplies,
        prepared: PreparedReply,
        chat_id: uuid.UUID,
        messages: list[dict[str, Any]],
        request_id: str,
    ) -> None:
        self.owner = owner
        self.prepared = prepared
        self.chat_id = chat_id
        self.messages = messages
        self.request_id = request_id
        self.queue: asyncio.Queue[ReplyEvent] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.started = time.perf_counter()

    def cancel(self) -> None:
        """The client left: stop the upstream and store what arrived (``partial``)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def events(self) -> AsyncIterator[ReplyEvent]:
        while True:
            event = await self.queue.get()
            yield event
            if event.kind != "delta":
                return

    async def outcome(self) -> ReplyEvent:
        """The final event (``done`` or ``error``), skipping the text pieces."""
        async for event in self.events():
            if event.kind != "delta":
                return event
        raise AssertionError("unreachable")  # pragma: no cover

    async def produce(self) -> None:
        db, metrics = self.owner.db, self.owner.metrics
        parts: list[str] = []
        row_id: uuid.UUID | None = None
        last_flush = 0.0
        end: ReplyEnd | None = None
        cancelled = False
        broken: ReplyFailure | None = None
        replies = self.owner.engine.run(self.prepared, self.messages, self.request_id)
        try:
            async for item in replies:
                if isinstance(item, ReplyEnd):
                    end = item
                    continue
                parts.append(item)
                self.queue.put_nowait(ReplyEvent("delta", content=item))
                clock = time.perf_counter()
                if row_id is None:
                    metrics.chat_reply_first_token.observe(clock - self.started)
                    row_id = new_id()
                    await db.write(self._insert(row_id, "".join(parts)), notify=False)
                    last_flush = clock
                elif clock - last_flush >= FLUSH_INTERVAL_S:
                    await db.write(self._rewrite(row_id, "".join(parts)), notify=False)
                    last_flush = clock
        except asyncio.CancelledError:
            cancelled = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except Exception as error:  # e.g. the database stayed busy through a flush
            log.error("chat reply failed: %s", type(error).__name__)
            broken = _INTERNAL
        finally:
            await replies.aclose()
        text = "".join(parts)
        failure = end.failure if end is not None else None
        if cancelled:
            failure = ReplyFailure(499, "client_disconnected", "the client left")
        elif broken is not None:
            failure = broken
        elif end is None:  # pragma: no cover - the engine always ends with a ReplyEnd
            failure = ReplyFailure(502, "upstream_error", "the reply ended without an end")
        status = "complete" if failure is None else ("partial" if text else "error")
        try:
            stored = await db.write(self._finish(row_id, text, status, end), notify=False)
        except Exception as error:
            # The client still gets an end; the chat's claim lapses on its own.
            log.error("storing a chat reply failed: %s", type(error).__name__)
            self.queue.put_nowait(ReplyEvent("error", failure=_INTERNAL))
            return
        metrics.chat_replies.labels(status).inc()
        if failure is None:
            self.queue.put_nowait(ReplyEvent("done", message=stored))
        else:
            self.queue.put_nowait(ReplyEvent("error", message=stored, failure=failure))

    def _lease(self) -> Any:
        return utcnow() + timedelta(seconds=self.owner.lease_s())

    def _insert(self, row_id: uuid.UUID, text: str) -> Any:
        async def work(session: AsyncSession) -> None:
            now = utcnow()
            chat_store.add_message(
                session,
                ChatMessage(
                    id=row_id,
                    chat_id=self.chat_id,
                    role="assistant",
                    content=text,
                    status="partial",  # until finished: what a crash leaves is partial
                    model_config_id=self.prepared.model.id,
                    provider_config_id=None,
                    key_source=None,
                    input_tokens=None,
                    output_tokens=None,
                    created_at=now,
                    updated_at=now,
                ),
            )
            await chat_store.renew_reply(session, self.chat_id, self._lease())

        return work

    def _rewrite(self, row_id: uuid.UUID, text: str) -> Any:
        async def work(session: AsyncSession) -> None:
            await chat_store.update_message_content(session, row_id, text, utcnow())
            await chat_store.renew_reply(session, self.chat_id, self._lease())

        return work

    def _finish(
        self, row_id: uuid.UUID | None, text: str, status: str, end: ReplyEnd | None
    ) -> Any:
        async def work(session: AsyncSession) -> MessageOut:
            now = utcnow()
            row = await chat_store.get_message(session, row_id) if row_id else None
            if row is None:
                row = chat_store.add_message(
                    session,
                    ChatMessage(
                        id=row_id or new_id(),
                        chat_id=self.chat_id,
                        role="assistant",
                        created_at=now,
                        model_config_id=self.prepared.model.id,
                    ),
                )
            row.content = text
            row.status = status
            row.provider_config_id = end.provider_config_id if end else None
            row.key_source = end.key_source if end else None
            row.input_tokens = end.input_tokens if end else None
            row.output_tokens = end.output_tokens if end else None
            row.updated_at = now
            await chat_store.release_reply(session, self.chat_id, now)
            await session.flush()
            return service.message_out(row)

        return work
