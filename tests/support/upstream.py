"""Helpers for upstream tests: targets, bodies, one gateway-like exchange, and SSE
readers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatgate.upstream import Target, Timeouts, UpstreamClient, adapter_for
from chatgate.upstream.adapters.base import StreamTranslator
from tests.support.fake_upstream import FakeUpstream

KEY = "sk-test-4f1c9e2b7a"
GENEROUS = Timeouts(connect_s=10, first_byte_s=10, idle_s=10)


def target_for(fake: FakeUpstream, family: str, model: str = "up-model") -> Target:
    """Chat Completions families carry the version in their base URL (SPEC §1)."""
    native = family not in ("anthropic", "google")
    return Target(family, fake.url + ("/v1" if native else ""), model, KEY)


def user_body(text: str = "Hi", **extra: Any) -> dict[str, Any]:
    return {"model": "public-model", "messages": [{"role": "user", "content": text}], **extra}


@dataclass
class Result:
    status: int
    headers: Mapping[str, str]
    body: bytes
    translator: StreamTranslator | None = None


async def exchange(
    client: UpstreamClient,
    target: Target,
    body: Mapping[str, Any],
    *,
    stream: bool = False,
    wants_usage: bool = False,
    timeouts: Timeouts = GENEROUS,
) -> Result:
    """One attempt as the gateway makes it: build, send, translate."""
    adapter = adapter_for(target.family)
    request = adapter.build_request(
        target, body, stream=stream, extra_headers={"x-chatgate-loop": "inst-1"}
    )
    async with client.send(request, timeouts) as response:
        if not stream or response.status >= 300:
            raw = await response.read()
            if 200 <= response.status < 300:
                raw = adapter.translate_response(response.status, raw, public_model="public-model")
            return Result(response.status, response.headers, raw)
        translator = adapter.stream_translator(
            public_model="public-model", client_wants_usage=wants_usage, api_key=target.api_key
        )
        out = bytearray()
        async for chunk in response.iter_chunks():
            out += translator.feed(chunk)
        out += translator.finish()
        return Result(response.status, response.headers, bytes(out), translator)


def sse_documents(stream: bytes) -> list[Any]:
    """The JSON documents of an OpenAI SSE body, ``"[DONE]"`` kept as a string."""
    documents: list[Any] = []
    for event in stream.decode().split("\n\n"):
        for line in event.splitlines():
            if line.startswith("data: "):
                payload = line[6:]
                documents.append(payload if payload == "[DONE]" else json.loads(payload))
    return documents


def streamed_text(documents: list[Any]) -> str:
    return "".join(
        doc["choices"][0]["delta"].get("content") or ""
        for doc in documents
        if isinstance(doc, dict) and doc.get("choices")
    )


def streamed_tool_calls(documents: list[Any]) -> dict[int, dict[str, str]]:
    """Tool call deltas folded the way OpenAI SDKs fold them."""
    calls: dict[int, dict[str, str]] = {}
    for doc in documents:
        if not isinstance(doc, dict) or not doc.get("choices"):
            continue
        for delta in doc["choices"][0]["delta"].get("tool_calls") or []:
            call = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.get("id") or ""
            function = delta.get("function") or {}
            call["name"] += function.get("name") or ""
            call["arguments"] += function.get("arguments") or ""
    return calls
