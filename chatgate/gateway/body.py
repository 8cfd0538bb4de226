"""Parsing a chat-completions body once (SPEC §9).

Only ``model``, ``messages`` and ``stream`` are validated; every other field passes
through to native families unchanged, so new OpenAI parameters keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chatgate.gateway.errors import GatewayError, invalid_field


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: dict[str, Any]
    model: str
    stream: bool
    wants_usage: bool


def parse_chat_request(raw: bytes) -> ChatRequest:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GatewayError(
            400, "invalid_request_error", "body: request body is not valid JSON"
        ) from None
    if not isinstance(body, dict):
        raise invalid_field("body", "must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_field("model", "a non-empty string is required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_field("messages", "a non-empty array is required")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise invalid_field("stream", "must be a boolean")
    for forbidden in ("extra_headers", "extra_body"):
        if forbidden in body:
            raise invalid_field(forbidden, "is not accepted in a request body")
    stream_options = body.get("stream_options")
    wants_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
    return ChatRequest(body=body, model=model, stream=stream, wants_usage=wants_usage)
