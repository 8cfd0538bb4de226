"""Chat replies through the gateway's own path (SPEC §10 "one code path").

Implements ``chatgate.chats.engine.ReplyEngine``: a reply is a streaming chat-completions
request served by ``Gateway.serve`` — the same visibility and availability checks, attempt
loop, failover, adapters and usage rows as ``/v1/chat/completions`` — whose OpenAI-shaped
SSE bytes are read back into text pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import orjson

from chatgate.chats.engine import ReplyEnd, ReplyFailure, ReplyModel, ReplyRefused
from chatgate.gateway.body import ChatRequest
from chatgate.gateway.errors import GatewayError
from chatgate.gateway.recording import Caller
from chatgate.gateway.replies import StreamReply
from chatgate.gateway.service import Gateway
from chatgate.gateway.snapshot import ModelEntry, Snapshot, SnapshotHolder
from chatgate.resolve import Resolution
from chatgate.upstream.sse import SseDecoder


@dataclass(frozen=True, slots=True)
class _Prepared:
    model: ReplyModel
    snapshot: Snapshot
    caller: Caller
    entry: ModelEntry
    resolution: Resolution


def _reply_model(entry: ModelEntry) -> ReplyModel:
    return ReplyModel(
        id=entry.facts.id,
        name=entry.name,
        context_limit=entry.context_limit,
        compression_threshold=entry.compression_threshold,
    )


def _failure(error: GatewayError) -> ReplyFailure:
    return ReplyFailure(error.status, error.code, error.message)


class GatewayReplyEngine:
    def __init__(self, holder: SnapshotHolder, gateway: Gateway) -> None:
        self.holder = holder
        self.gateway = gateway

    @staticmethod
    def _caller(snapshot: Snapshot, user_id: uuid.UUID) -> Caller | None:
        user = snapshot.users.get(user_id)
        if user is None or user.disabled:
            return None
        return Caller(user=user, token_id=None)

    async def visible_model(
        self, user_id: uuid.UUID, model_config_id: uuid.UUID
    ) -> ReplyModel | None:
        snapshot = await self.holder.get()
        caller = self._caller(snapshot, user_id)
        entry = snapshot.models_by_id.get(model_config_id)
        if caller is None or entry is None or not self.gateway.visible(snapshot, caller, entry):
            return None
        return _reply_model(entry)

    async def default_model(self, user_id: uuid.UUID) -> ReplyModel | bool | None:
        snapshot = await self.holder.get()
        entry = next((m for m in snapshot.models_by_id.values() if m.is_default), None)
        if entry is None:
            return None
        caller = self._caller(snapshot, user_id)
        if caller is None or not self.gateway.visible(snapshot, caller, entry):
            return False
        return _reply_model(entry)

    async def prepare(
        self, user_id: uuid.UUID, model_config_id: uuid.UUID, request_id: str
    ) -> _Prepared:
        snapshot = await self.holder.get()
        caller = self._caller(snapshot, user_id)
        entry = snapshot.models_by_id.get(model_config_id)
        if caller is None or entry is None or not self.gateway.visible(snapshot, caller, entry):
            raise ReplyRefused(
                ReplyFailure(404, "model_not_found", "the chat's model is not available to you")
            )
        try:
            resolution = self.gateway.check_available(snapshot, caller, entry, request_id)
        except GatewayError as error:
            raise ReplyRefused(_failure(error)) from None
        return _Prepared(_reply_model(entry), snapshot, caller, entry, resolution)

    async def run(
        self, prepared: Any, messages: list[dict[str, Any]], request_id: str
    ) -> AsyncGenerator[str | ReplyEnd, None]:
        if not isinstance(prepared, _Prepared):  # only ours is ever passed back
            raise TypeError("a reply must be prepared by this engine")
        entry = prepared.entry
        body = {
            "model": entry.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        request = ChatRequest(body=body, model=entry.name, stream=True, wants_usage=True)
        try:
            reply = await self.gateway.serve(
                prepared.snapshot,
                prepared.caller,
                entry,
                prepared.resolution,
                request,
                request_id,
            )
        except GatewayError as error:
            yield ReplyEnd(None, None, None, None, _failure(error))
            return
        if not isinstance(reply, StreamReply):  # pragma: no cover - stream=True
            yield ReplyEnd(None, None, None, None, ReplyFailure(502, "upstream_error", "no stream"))
            return
        reader = _StreamReader()
        rest = reply.rest
        # Start the relay now: an async generator closed before it started never runs its
        # cleanup, and the relay's cleanup is what closes the upstream connection and
        # records the attempt. Closing this generator at any point must do both.
        pending = asyncio.ensure_future(_next_chunk(rest))
        try:
            for piece in reader.feed(reply.first):
                yield piece
            while (chunk := await pending) is not None:
                pending = asyncio.ensure_future(_next_chunk(rest))
                for piece in reader.feed(chunk):
                    yield piece
            for piece in reader.finish():
                yield piece
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
            await rest.aclose()
        yield ReplyEnd(
            provider_config_id=reply.provider_config_id,
            key_source=reply.key_source,
            input_tokens=reader.input_tokens,
            output_tokens=reader.output_tokens,
            failure=reader.failure(),
        )


async def _next_chunk(rest: AsyncGenerator[bytes, None]) -> bytes | None:
    try:
        return await rest.__anext__()
    except StopAsyncIteration:
        return None


class _StreamReader:
    """OpenAI ``chat.completion.chunk`` events (what the gateway relays) → text pieces,
    usage, and how the stream ended."""

    def __init__(self) -> None:
        self._decoder = SseDecoder()
        self.done = False
        self.error: ReplyFailure | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def feed(self, data: bytes) -> list[str]:
        return self._read(self._decoder.feed(data))

    def finish(self) -> list[str]:
        return self._read(self._decoder.flush())

    def failure(self) -> ReplyFailure | None:
        if self.error is not None:
            return self.error
        if not self.done:
            return ReplyFailure(502, "upstream_error", "the upstream stream ended early")
        return None

    def _read(self, events: list[tuple[str, bytes]]) -> list[str]:
        pieces: list[str] = []
        for _event, data in events:
            if data == b"[DONE]":
                self.done = True
                continue
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(document, dict):
                continue
            error = document.get("error")
            if isinstance(error, dict):
                self.error = ReplyFailure(
                    502 if error.get("code") != "upstream_timeout" else 504,
                    str(error.get("code") or "upstream_error"),
                    str(error.get("message") or "the upstream failed"),
                )
                continue
            usage = document.get("usage")
            if isinstance(usage, dict):
                prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
                if isinstance(prompt, int) and isinstance(completion, int):
                    self.input_tokens, self.output_tokens = prompt, completion
            for choice in document.get("choices") or ():
                delta = choice.get("delta") if isinstance(choice, dict) else None
                content = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(content, str) and content:
                    pieces.append(content)
        return pieces
