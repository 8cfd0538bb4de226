"""Raw ASGI endpoints for ``/v1`` — no framework layers on the hot path (SPEC §15).

A client that disconnects cancels the upstream request: a watcher task waits for
``http.disconnect`` while the request is in flight and cancels the handler, whose exit
stacks close the upstream connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from starlette.types import Message, Receive, Scope, Send

from chatgate.authz import Permission
from chatgate.errors import DatabaseUnavailableError
from chatgate.gateway.body import parse_chat_request
from chatgate.gateway.errors import GatewayError
from chatgate.gateway.replies import JsonReply, StreamReply
from chatgate.gateway.service import Gateway
from chatgate.gateway.snapshot import ModelEntry, SnapshotHolder

log = logging.getLogger("chatgate.gateway")

_JSON = (b"content-type", b"application/json")


class ClientGone(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise GatewayError(413, "request_too_large", f"the request body exceeds {limit} bytes")
    parts: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise GatewayError(413, "request_too_large", f"the request body exceeds {limit} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [_JSON, *headers]})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, error: GatewayError, gateway: Gateway | None) -> None:
    if gateway is not None:
        gateway.metrics.gateway_errors.labels(error.code).inc()
    await _send_json(send, error.status, error.body(), error.headers())


class DisconnectWatch:
    """Cancels the handler task when the client goes away before the answer is complete."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._handler = asyncio.current_task()
        self._done = False
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        message = await self._receive()
        while message["type"] != "http.disconnect":
            message = await self._receive()
        if not self._done and self._handler is not None:
            self._handler.cancel()

    async def finish(self) -> None:
        """Call before the last send: from then on a disconnect is the normal end."""
        if self._done:
            return
        self._done = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class GatewayEndpoint:
    """Base of the ``/v1`` endpoints: declares its permission for the route matrix test."""

    permission = Permission.AUTHENTICATED

    def __init__(self, holder: SnapshotHolder, gateway: Gateway) -> None:
        self.holder = holder
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.handle(scope, receive, tracking_send)
        except (ClientGone, asyncio.CancelledError):
            # The client left; the upstream exchange was closed on the way out.
            return
        except DatabaseUnavailableError as error:
            # A snapshot that had to be reloaded (after a change) while the database is
            # away: a clear 503, not a bug. A warm, current snapshot never gets here.
            log.warning("gateway: the database cannot be reached to reload the snapshot")
            if not started:
                failure = GatewayError(error.status, error.code, error.message)
                await _send_error(send, failure, self.gateway)
        except Exception as error:
            # A bug of ours: answer in OpenAI's shape, with the type only in the log (an
            # exception's text could carry request data).
            log.error("gateway error: %s", type(error).__name__)
            if not started:
                failure = GatewayError(500, "internal_error", "internal error in chatgate")
                await _send_error(send, failure, self.gateway)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def _model_object(model: ModelEntry) -> dict[str, object]:
    return {
        "id": model.name,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": "chatgate",
    }


class ModelsEndpoint(GatewayEndpoint):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            snapshot = await self.holder.get()
            caller = self.gateway.authenticate(snapshot, _header(scope, b"authorization"))
        except GatewayError as error:
            await _send_error(send, error, self.gateway)
            return
        data = [_model_object(m) for m in self.gateway.available_models(snapshot, caller)]
        await _send_json(send, 200, orjson.dumps({"object": "list", "data": data}), [])


class ModelEndpoint(GatewayEndpoint):
    """``GET /v1/models/{model}``: one of the caller's available models (SPEC §9)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = str(scope.get("path_params", {}).get("model", ""))
        try:
            snapshot = await self.holder.get()
            caller = self.gateway.authenticate(snapshot, _header(scope, b"authorization"))
            found = next(
                (m for m in self.gateway.available_models(snapshot, caller) if m.name == name),
                None,
            )
            if found is None:
                raise GatewayError(
                    404,
                    "model_not_found",
                    f"the model {name!r} does not exist or is not available to you",
                )
        except GatewayError as error:
            await _send_error(send, error, self.gateway)
            return
        await _send_json(send, 200, orjson.dumps(_model_object(found)), [])


async def answer_unknown_endpoint(
    scope: Scope, send: Send, allowed_methods: frozenset[str]
) -> None:
    """A path under ``/v1`` chatgate does not serve, or a method it does not take there:
    answered in OpenAI's error shape like everything under ``/v1`` (SPEC §9)."""
    method = scope.get("method", "")
    if allowed_methods:
        error = GatewayError(
            405,
            "method_not_allowed",
            f"{method} is not allowed here; use {', '.join(sorted(allowed_methods))}",
            error_type="invalid_request_error",
        )
        extra = [(b"allow", ", ".join(sorted(allowed_methods)).encode())]
    else:
        error = GatewayError(
            404,
            "unknown_url",
            "chatgate serves /v1/models, /v1/models/{model} and /v1/chat/completions",
            error_type="invalid_request_error",
        )
        extra = []
    await _send_json(send, error.status, error.body(), [*error.headers(), *extra])


class ChatCompletionsEndpoint(GatewayEndpoint):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        request_id: str = scope.get("state", {}).get("request_id", "")
        try:
            if _header(scope, b"x-chatgate-loop") == gateway.installation_id:
                raise GatewayError(
                    508, "loop_detected", "this request came back to the chatgate that sent it"
                )
            snapshot = await self.holder.get()
            caller = gateway.authenticate(snapshot, _header(scope, b"authorization"))
            raw = await _read_body(scope, receive, gateway.settings.max_request_bytes)
            request = parse_chat_request(raw)
        except GatewayError as error:
            await _send_error(send, error, gateway)
            return
        watch = DisconnectWatch(receive)
        try:
            try:
                reply = await gateway.complete(snapshot, caller, request, request_id)
            except GatewayError as error:
                await watch.finish()
                await _send_error(send, error, gateway)
                return
            if isinstance(reply, JsonReply):
                await watch.finish()
                await _send_json(send, reply.status, reply.body, reply.headers)
                return
            await self._stream(send, reply, watch)
        finally:
            await watch.finish()

    @staticmethod
    async def _stream(send: Send, reply: StreamReply, watch: DisconnectWatch) -> None:
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
            *reply.headers,
        ]
        rest = reply.rest
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": reply.first, "more_body": True})
            async for piece in rest:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await watch.finish()
            await send({"type": "http.response.body", "body": b""})
        finally:
            await rest.aclose()
