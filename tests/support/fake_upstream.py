"""A scriptable fake upstream on 127.0.0.1 speaking OpenAI chat completions, Anthropic
Messages and Gemini generateContent, streaming and not.

    async with FakeUpstream() as fake:
        fake.script(text="hi", usage=(3, 2))            # answers the next request
        fake.script(status=429, retry_after="7")          # ... and the one after
        base_url = fake.url + "/v1"                       # openai-style families
        ...
        fake.requests[0].path, fake.requests[0].api_key, fake.requests[0].json

The protocol is chosen by path: ``…/chat/completions`` (OpenAI), ``…/v1/messages``
(Anthropic), ``…/models/<m>:generateContent`` / ``:streamGenerateContent`` (Gemini).
Without a queued script, ``fake.default`` answers; ``serve_only_under = "/v1"`` makes
every other path a 404, as on a server whose API lives under ``/v1``. Timing faults are driven by events,
never by sleeps: ``hold`` delays the response head until set, ``stall_after`` stops a
body after K chunks until ``release`` is set, ``drop_after`` aborts the connection after
K chunks. A client disconnect cancels the handler and sets ``fake.disconnected``.
Harsher faults: ``reset`` aborts the connection before any response head, ``drip_s``
paces body chunks (a slow upstream), ``endless`` repeats a piece after the body forever
(a response that never ends), ``echo_key`` puts the key it received into its answer (a
careless upstream, for redaction tests). ``fake.open_connections`` counts the sockets the fake holds
open, so a test can check that the gateway let go of its connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

KEY_HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key")


@dataclass
class FakeToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""
    thought_signature: str | None = None  # Gemini only


@dataclass
class Script:
    """How to answer one request (or ``times`` requests)."""

    status: int = 200
    text: str = "Hello from the fake upstream."
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    usage: tuple[int, int] = (11, 7)  # (input, output) tokens
    finish_reason: str | None = None  # protocol-native value; derived when None
    error_message: str = "fake upstream error"  # body of a >= 400 answer
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = None
    redirect_to: str | None = None  # answer 302 with this Location
    raw_body: bytes | None = None  # exact non-streaming body
    raw_chunks: list[bytes] | None = None  # exact streaming body, chunk by chunk
    content_type: str | None = None
    hold: asyncio.Event | None = None  # nothing is sent until this is set
    stall_after: int | None = None  # after K body chunks, wait for `release`
    release: asyncio.Event = field(default_factory=asyncio.Event)
    drop_after: int | None = None  # after K body chunks, abort the connection
    write_size: int | None = None  # split each chunk into writes of this many bytes
    body_parts: int = 1  # non-streaming body is sent as this many chunks
    reset: bool = False  # abort the connection before sending any response head
    drip_s: float = 0.0  # pause before each body chunk after the first (a slow upstream)
    endless: bytes | None = None  # after the body, send this piece again and again, forever
    echo_key: bool = False  # append the key the request carried to `text` and `error_message`
    times: int = 1


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any
    peer: tuple[str, int] | None = None  # client address: equal ports mean a reused connection

    @property
    def key_header(self) -> str | None:
        """Which of the known key headers arrived (first match)."""
        return next((name for name in KEY_HEADERS if name in self.headers), None)

    @property
    def api_key(self) -> str | None:
        name = self.key_header
        if name is None:
            return None
        value = self.headers[name]
        return value.removeprefix("Bearer ") if name == "authorization" else value


class FakeUpstream:
    def __init__(self) -> None:
        self.default = Script()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self.disconnected = asyncio.Event()
        self._scripts: deque[Script] = deque()
        self._every_script: list[Script] = [self.default]
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Like a vLLM or llama.cpp server: only paths under this prefix exist (others are
        # 404 ``{"detail": "Not Found"}``, without consuming a script). None: every path.
        self.serve_only_under: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> FakeUpstream:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client disconnect cancels the handler, which is how
        # tests observe that the gateway closed the upstream connection.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Let held and stalled handlers finish so shutdown never waits on them.
        for script in [*self._every_script, self.default]:
            script.release.set()
            if script.hold is not None:
                script.hold.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def open_connections(self) -> int:
        """Client connections the fake currently holds open (idle keep-alive ones too)."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    # -- scripting -----------------------------------------------------------------------

    def script(self, script: Script | None = None, **fields: Any) -> Script:
        """Queue how to answer the next request(s); returns the script (for its events)."""
        chosen = script if script is not None else Script(**fields)
        self._scripts.append(chosen)
        self._every_script.append(chosen)
        return chosen

    async def wait_for_requests(self, count: int) -> None:
        """Until at least ``count`` requests arrived."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    def _next_script(self) -> Script:
        if not self._scripts:
            return self.default
        script = self._scripts[0]
        script.times -= 1
        if script.times <= 0:
            self._scripts.popleft()
        return script

    # -- serving -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            json=parsed,
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        self.requests.append(record)
        async with self._arrived:
            self._arrived.notify_all()
        prefix = self.serve_only_under
        if prefix is not None and not request.path.startswith(prefix + "/"):
            return web.json_response({"detail": "Not Found"}, status=404)
        script = self._next_script()
        try:
            return await self._respond(request, record, script)
        except asyncio.CancelledError:
            self.disconnects += 1
            self.disconnected.set()
            raise

    async def _respond(
        self, request: web.Request, record: RecordedRequest, script: Script
    ) -> web.StreamResponse:
        if script.hold is not None:
            await script.hold.wait()
        if script.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()  # never sent: the connection is gone
        if script.echo_key:
            key = record.api_key or ""
            script = dataclasses.replace(
                script, text=f"{script.text} {key}", error_message=f"{script.error_message} {key}"
            )
        protocol = _protocol_of(record.path)
        headers = dict(script.headers)
        if script.retry_after is not None:
            headers["Retry-After"] = script.retry_after
        if script.redirect_to is not None:
            headers["Location"] = script.redirect_to
            status = script.status if 300 <= script.status < 400 else 302
            return web.Response(status=status, headers=headers)
        streaming = _wants_stream(protocol, record)
        if script.status >= 400 and script.raw_body is None and script.raw_chunks is None:
            error = json.dumps(_error_body(protocol, script)).encode()
            return await self._send(
                request, script, headers, [error], "application/json", len(error)
            )
        if streaming and script.raw_body is None:
            chunks = script.raw_chunks
            if chunks is None:
                chunks = _STREAMERS[protocol](script, record)
            content_type = script.content_type or "text/event-stream"
            return await self._send(request, script, headers, chunks, content_type, None)
        body: bytes | None = script.raw_body
        if body is None:
            body = json.dumps(_BODIES[protocol](script, record)).encode()
        parts = _split(body, script.body_parts)
        content_type = script.content_type or "application/json"
        return await self._send(request, script, headers, parts, content_type, len(body))

    async def _send(
        self,
        request: web.Request,
        script: Script,
        headers: dict[str, str],
        chunks: list[bytes],
        content_type: str,
        length: int | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=script.status, headers=headers)
        response.content_type = content_type
        if length is not None and script.endless is None:
            response.content_length = length
        await response.prepare(request)
        for index, chunk in enumerate(chunks):
            if script.drop_after == index:
                assert request.transport is not None
                request.transport.abort()
                return response
            if script.stall_after == index:
                await script.release.wait()
            if script.drip_s and index:
                await asyncio.sleep(script.drip_s)
            size = script.write_size or len(chunk) or 1
            for start in range(0, len(chunk), size):
                await response.write(chunk[start : start + size])
        while script.endless is not None:
            if script.drip_s:
                await asyncio.sleep(script.drip_s)
            await response.write(script.endless)
        await response.write_eof()
        return response


# -- protocol bodies ----------------------------------------------------------------------


def _protocol_of(path: str) -> str:
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "google"
    return "openai"


def _wants_stream(protocol: str, record: RecordedRequest) -> bool:
    if protocol == "google":
        return ":streamGenerateContent" in record.path
    return isinstance(record.json, dict) and record.json.get("stream") is True


def _model(record: RecordedRequest) -> str:
    if isinstance(record.json, dict) and isinstance(record.json.get("model"), str):
        return str(record.json["model"])
    return record.path.rsplit("/", 1)[-1].split(":", 1)[0]


_AFTER_A_SPACE = re.compile(r"(?<= )")


def _split(body: bytes, parts: int) -> list[bytes]:
    if parts <= 1 or len(body) < parts:
        return [body]
    size = -(-len(body) // parts)
    return [body[i : i + size] for i in range(0, len(body), size)]


def _pieces(text: str) -> list[str]:
    """Text split into word-sized pieces (each word with the space after it), as models
    stream it. One regular-expression split, not a loop per character: a test may stream
    megabytes, and a per-character loop under coverage's tracer takes minutes."""
    return [piece for piece in _AFTER_A_SPACE.split(text) if piece]


def _args_halves(arguments: dict[str, Any]) -> list[str]:
    text = json.dumps(arguments)
    middle = len(text) // 2
    return [text[:middle], text[middle:]]


def _sse(document: Any, event: str | None = None, newline: str = "\n") -> bytes:
    head = f"event: {event}{newline}" if event else ""
    return f"{head}data: {json.dumps(document)}{newline}{newline}".encode()


def _error_body(protocol: str, script: Script) -> dict[str, Any]:
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": script.error_message}}
    if protocol == "google":
        return {
            "error": {"code": script.status, "message": script.error_message, "status": "ERROR"}
        }
    return {"error": {"message": script.error_message, "type": "api_error", "code": None}}


def _call_id(call: FakeToolCall, index: int, prefix: str) -> str:
    return call.id or f"{prefix}{index:04d}"


# OpenAI ------------------------------------------------------------------------------------


def _openai_finish(script: Script) -> str:
    return script.finish_reason or ("tool_calls" if script.tool_calls else "stop")


def _openai_usage(script: Script) -> dict[str, int]:
    prompt, completion = script.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _openai_body(script: Script, record: RecordedRequest) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": script.text or None}
    if script.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, i, "call_fake"),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for i, call in enumerate(script.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": _model(record),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _openai_finish(script),
            }
        ],
        "usage": _openai_usage(script),
    }


def _openai_stream(script: Script, record: RecordedRequest) -> list[bytes]:
    options = record.json.get("stream_options") if isinstance(record.json, dict) else None
    with_usage = isinstance(options, dict) and options.get("include_usage") is True
    base = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": _model(record),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        document: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            document["usage"] = None
        return _sse(document)

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in _pieces(script.text)]
    for i, call in enumerate(script.tool_calls):
        head = {
            "index": i,
            "id": _call_id(call, i, "call_fake"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [head]}))
        for fragment in _args_halves(call.arguments):
            chunks.append(
                chunk({"tool_calls": [{"index": i, "function": {"arguments": fragment}}]})
            )
    chunks.append(chunk({}, _openai_finish(script)))
    if with_usage:
        chunks.append(_sse({**base, "choices": [], "usage": _openai_usage(script)}))
    chunks.append(b"data: [DONE]\n\n")
    return chunks


# Anthropic ---------------------------------------------------------------------------------


def _anthropic_stop(script: Script) -> str:
    return script.finish_reason or ("tool_use" if script.tool_calls else "end_turn")


def _anthropic_body(script: Script, record: RecordedRequest) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if script.text:
        content.append({"type": "text", "text": script.text})
    for i, call in enumerate(script.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": _call_id(call, i, "toolu_fake"),
                "name": call.name,
                "input": call.arguments,
            }
        )
    prompt, completion = script.usage
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": _model(record),
        "content": content,
        "stop_reason": _anthropic_stop(script),
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


def _anthropic_stream(script: Script, record: RecordedRequest) -> list[bytes]:
    prompt, completion = script.usage
    message: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": _model(record),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    chunks = [_sse({"type": "message_start", "message": message}, "message_start")]
    index = 0
    if script.text:
        start = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        chunks.append(_sse(start, "content_block_start"))
        chunks.append(_sse({"type": "ping"}, "ping"))
        for piece in _pieces(script.text):
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
            chunks.append(_sse(delta, "content_block_delta"))
        chunks.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for i, call in enumerate(script.tool_calls):
        block = {
            "type": "tool_use",
            "id": _call_id(call, i, "toolu_fake"),
            "name": call.name,
            "input": {},
        }
        chunks.append(
            _sse(
                {"type": "content_block_start", "index": index, "content_block": block},
                "content_block_start",
            )
        )
        for fragment in _args_halves(call.arguments):
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": fragment},
            }
            chunks.append(_sse(delta, "content_block_delta"))
        chunks.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": _anthropic_stop(script), "stop_sequence": None},
        "usage": {"output_tokens": completion},
    }
    chunks.append(_sse(end, "message_delta"))
    chunks.append(_sse({"type": "message_stop"}, "message_stop"))
    return chunks


# Gemini ------------------------------------------------------------------------------------


def _gemini_usage(script: Script) -> dict[str, int]:
    prompt, completion = script.usage
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion,
    }


def _gemini_call_parts(script: Script) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in script.tool_calls:
        part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
        if call.thought_signature:
            part["thoughtSignature"] = call.thought_signature
        parts.append(part)
    return parts


def _gemini_body(script: Script, record: RecordedRequest) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": script.text}] if script.text else []
    parts += _gemini_call_parts(script)
    return {
        "candidates": [
            {
                "content": {"parts": parts, "role": "model"},
                "finishReason": script.finish_reason or "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": _gemini_usage(script),
        "modelVersion": _model(record),
    }


def _gemini_stream(script: Script, record: RecordedRequest) -> list[bytes]:
    # Gemini frames its SSE with CRLF line ends.
    pieces = _pieces(script.text)
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}]}
        for piece in pieces
    ]
    last_parts = _gemini_call_parts(script)
    if not last_parts and events:
        last_parts = events.pop()["candidates"][0]["content"]["parts"]
    events.append(
        {
            "candidates": [
                {
                    "content": {"parts": last_parts, "role": "model"},
                    "finishReason": script.finish_reason or "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": _gemini_usage(script),
            "modelVersion": _model(record),
        }
    )
    return [_sse(event, newline="\r\n") for event in events]


_BODIES = {"openai": _openai_body, "anthropic": _anthropic_body, "google": _gemini_body}
_STREAMERS = {"openai": _openai_stream, "anthropic": _anthropic_stream, "google": _gemini_stream}
