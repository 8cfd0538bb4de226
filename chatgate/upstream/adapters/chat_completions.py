"""Families that speak OpenAI Chat Completions natively: openai, openai-compat,
openrouter, vercel (``Authorization: Bearer``) and azure (its v1 API: ``api-key`` header,
``model`` = deployment name, no ``api-version``).

Every field the client sent passes through unchanged (new OpenAI parameters keep
working); only ``model`` is replaced and, when streaming, usage is always requested so
the gateway can record it. Streams are relayed event by event without JSON parsing: the
only events parsed are the few that carry a non-null ``usage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from chatgate.upstream.adapters.base import (
    REDACTED,
    Target,
    Usage,
    get_request,
    load_json_object,
    loads_or_none,
    post_json,
    usage_from_openai,
)
from chatgate.upstream.http import HttpRequest
from chatgate.upstream.sse import last_event_end, split_events

_USAGE_KEY: Final[bytes] = b'"usage"'
_REDACTED_BYTES: Final[bytes] = REDACTED.encode()


class ChatCompletionsAdapter:
    __slots__ = ("_bearer", "_key_header", "family")

    def __init__(
        self, family: str, *, key_header: str = "Authorization", bearer: bool = True
    ) -> None:
        self.family = family
        self._key_header = key_header
        self._bearer = bearer

    def build_request(
        self,
        target: Target,
        body: Mapping[str, Any],
        *,
        stream: bool,
        extra_headers: Mapping[str, str],
    ) -> HttpRequest:
        payload = dict(body)
        payload["model"] = target.upstream_model
        if stream:
            payload["stream"] = True
            options = payload.get("stream_options")
            merged = dict(options) if isinstance(options, dict) else {}
            merged["include_usage"] = True
            payload["stream_options"] = merged
        elif payload.get("stream"):
            payload["stream"] = False
            payload.pop("stream_options", None)
        return post_json(
            target.base_url,
            "/chat/completions",
            payload,
            extra_headers=extra_headers,
            auth=self._auth(target.api_key),
        )

    def probe_request(self, base_url: str, api_key: str) -> HttpRequest:
        # OpenRouter lists models without a key; its /key endpoint checks one.
        path = "/key" if self.family == "openrouter" else "/models"
        return get_request(base_url, path, self._auth(api_key))

    def _auth(self, api_key: str) -> dict[str, str]:
        return {self._key_header: f"Bearer {api_key}" if self._bearer else api_key}

    def translate_response(self, status: int, body: bytes, *, public_model: str) -> bytes:
        # Native: the body already is a chat.completion; relay it byte for byte.
        return body

    def parse_usage(self, body: bytes) -> Usage | None:
        # The body is relayed unparsed, so this one parse is also what stops a 2xx that is
        # not a JSON object from reaching the client as a "successful" answer (502 instead).
        return usage_from_openai(load_json_object(body, self.family).get("usage"))

    def stream_translator(
        self, *, public_model: str, client_wants_usage: bool, api_key: str = ""
    ) -> RelayTranslator:
        return RelayTranslator(strip_usage=not client_wants_usage, api_key=api_key)


def _has_non_null_usage(event: bytes) -> bool:
    at = event.find(_USAGE_KEY)
    while at >= 0:
        rest = event[at + len(_USAGE_KEY) :].lstrip(b" \t")
        if rest.startswith(b":") and not rest[1:].lstrip(b" \t").startswith(b"null"):
            return True
        at = event.find(_USAGE_KEY, at + 1)
    return False


def _event_json(event: bytes) -> Any:
    data = b"\n".join(
        line[5:].lstrip(b" ")
        for line in event.replace(b"\r\n", b"\n").split(b"\n")
        if line.startswith(b"data:")
    )
    return loads_or_none(data)


def _is_done(events: bytes) -> bool:
    # Events start at a line start, and JSON strings cannot hold a raw newline, so this
    # cannot match text the model wrote.
    return (
        events.startswith((b"data: [DONE]", b"data:[DONE]"))
        or b"\ndata: [DONE]" in events
        or b"\ndata:[DONE]" in events
    )


def _is_error(events: bytes) -> bool:
    return (
        events.startswith((b'data: {"error"', b'data:{"error"'))
        or b'\ndata: {"error"' in events
        or b'\ndata:{"error"' in events
    )


class RelayTranslator:
    """Forwards complete SSE events as they come; holds back only an unfinished event."""

    __slots__ = (
        "_key",
        "_pending",
        "_strip_usage",
        "ended",
        "ended_with_error",
        "finished_ok",
        "usage",
    )

    def __init__(self, *, strip_usage: bool, api_key: str = "") -> None:
        self._strip_usage = strip_usage
        self._key = api_key.encode() if api_key else b""
        self._pending = b""
        self.usage: Usage | None = None
        self.finished_ok = False
        self.ended_with_error = False
        self.ended = False

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        end = last_event_end(data)
        if end < 0:
            self._pending = data
            return b""
        if end == len(data):
            self._pending = b""
            return self._process(data)
        self._pending = data[end:]
        return self._process(data[:end])

    def finish(self) -> bytes:
        rest, self._pending = self._pending, b""
        if not rest.strip():
            return b""
        if not rest.endswith(b"\n\n"):
            rest += b"\n\n" if not rest.endswith(b"\n") else b"\n"
        return self._process(rest)

    def _process(self, events: bytes) -> bytes:
        if _USAGE_KEY in events:
            events = self._take_usage(events)
        if not self.finished_ok and _is_done(events):
            self.finished_ok = True
            self.ended = True
        if not self.ended_with_error and _is_error(events):
            self.ended_with_error = True
        if self._key and self._key in events:
            events = events.replace(self._key, _REDACTED_BYTES)
        return events

    def _take_usage(self, events: bytes) -> bytes:
        parts = split_events(events)
        kept: list[bytes] = []
        dropped = False
        for event in parts:
            if _USAGE_KEY in event and _has_non_null_usage(event):
                document = _event_json(event)
                if isinstance(document, dict):
                    usage = usage_from_openai(document.get("usage"))
                    if usage is not None:
                        self.usage = usage
                        # Only the dedicated usage chunk is dropped; a chunk that also
                        # carries choices keeps its content.
                        if self._strip_usage and not document.get("choices"):
                            dropped = True
                            continue
            kept.append(event)
        return b"".join(kept) if dropped else events
