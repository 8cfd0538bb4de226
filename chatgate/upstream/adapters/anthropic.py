"""Anthropic Messages API, translated to and from OpenAI chat completions.

Request fields (``null`` counts as absent):

- honoured: ``model``, ``messages``, ``stream``, ``stream_options`` (usage is always
  known), ``max_completion_tokens`` / ``max_tokens`` (default 4096, as Anthropic requires
  one), ``temperature``, ``top_p``, ``top_k``, ``stop`` → ``stop_sequences``, ``tools``
  (function tools), ``tool_choice``, ``parallel_tool_calls: false`` →
  ``disable_parallel_tool_use``, ``user`` / ``safety_identifier`` →
  ``metadata.user_id``;
- ignored: ``frequency_penalty``, ``presence_penalty``, ``seed``, ``store``,
  ``metadata``, ``service_tier``, ``reasoning_effort``, ``prompt_cache_key``,
  ``prompt_cache_retention``, ``prediction``, ``verbosity``, and ``n: 1``,
  ``logprobs: false``, ``top_logprobs: 0``, ``logit_bias: {}``, ``modalities: ["text"]``,
  ``response_format: {"type": "text"}``;
- rejected (:class:`UnsupportedParameter`): any other value of those, ``audio``,
  ``functions`` / ``function_call``, ``web_search_options`` and every unknown field;
  message parts other than text and images (data: or http(s) URLs); the ``function``
  role; non-function tools.

Messages: system and developer messages become ``system`` (joined in order); assistant
``tool_calls`` become ``tool_use`` blocks; ``tool`` messages become ``tool_result``
blocks of a user turn; consecutive turns of one role are merged, as Anthropic expects
alternation. Thinking blocks in answers are not passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from chatgate.upstream.adapters.base import (
    Target,
    TranslatingStream,
    Usage,
    check_fields,
    completion_body,
    copy_fields,
    forced_function,
    function_tools,
    get_request,
    load_json_object,
    loads_or_none,
    max_output_tokens,
    openai_tool_call,
    parse_data_url,
    post_json,
    require_2xx,
    stop_list,
    text_of,
    unsupported_tool_choice,
    usage_in_body,
)
from chatgate.upstream.adapters.messages import (
    assistant_tool_calls,
    chat_messages,
    merge_turn,
    user_parts,
)
from chatgate.upstream.errors import UnsupportedParameter
from chatgate.upstream.http import HttpRequest

ANTHROPIC_VERSION: Final[str] = "2023-06-01"
DEFAULT_MAX_TOKENS: Final[int] = 4096

HONOURED: Final[frozenset[str]] = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
    }
)
IGNORED: Final[frozenset[str]] = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "seed",
        "store",
        "metadata",
        "service_tier",
        "reasoning_effort",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prediction",
        "verbosity",
    }
)

# Request fields that take the client's value unchanged.
_SAMPLING_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("top_k", "top_k"),
)

FINISH_REASONS: Final[dict[str, str]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _finish_reason(stop_reason: object) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _usage(raw: object, previous: Usage | None = None) -> Usage | None:
    """Anthropic counts cached input apart; OpenAI's prompt_tokens include it."""
    if not isinstance(raw, dict):
        return previous
    parts = [
        raw.get(name)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    counted = [value for value in parts if isinstance(value, int)]
    input_tokens = sum(counted) if counted else (previous.input_tokens if previous else 0)
    output = raw.get("output_tokens")
    output_tokens = (
        output if isinstance(output, int) else (previous.output_tokens if previous else 0)
    )
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens)


def _image_block(url: str, where: str) -> dict[str, Any]:
    if url.startswith("data:"):
        media_type, data = parse_data_url(url, where)
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise UnsupportedParameter(where, "must be a data: or http(s) URL")


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": value} if kind == "text" else _image_block(value, value_where)
        for kind, value, value_where in user_parts(content, where)
    ]


def _tool_choice(value: Any, parallel: Any) -> dict[str, Any] | None:
    choice: dict[str, Any]
    if value is None or value == "auto":
        choice = {"type": "auto"}
    elif value == "none":
        return {"type": "none"}
    elif value == "required":
        choice = {"type": "any"}
    elif (name := forced_function(value)) is not None:
        choice = {"type": "tool", "name": name}
    else:
        raise unsupported_tool_choice()
    if parallel is False:
        choice["disable_parallel_tool_use"] = True
    elif value is None:
        return None  # Anthropic's default is auto; send nothing extra
    return choice


def translate_request(
    body: Mapping[str, Any], upstream_model: str, *, stream: bool
) -> dict[str, Any]:
    """OpenAI chat-completions body → Messages API body (pure; raises
    UnsupportedParameter)."""
    check_fields(body, honoured=HONOURED, ignored=IGNORED)
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for where, role, content, message in chat_messages(body, system):
        if role == "user":
            merge_turn(messages, "user", _user_blocks(content, where), key="content")
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            text = text_of(content, where)
            if text:
                blocks.append({"type": "text", "text": text})
            for call_id, name, arguments in assistant_tool_calls(message, where):
                blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
            if blocks:
                merge_turn(messages, "assistant", blocks, key="content")
        else:  # "tool"
            answered = message.get("tool_call_id")
            if not isinstance(answered, str):
                raise UnsupportedParameter(f"{where}.tool_call_id", "is required for tool messages")
            result = {
                "type": "tool_result",
                "tool_use_id": answered,
                "content": text_of(content, where),
            }
            merge_turn(messages, "user", [result], key="content")

    payload: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": max_output_tokens(body) or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        payload["system"] = "\n\n".join(system)
    copy_fields(body, payload, _SAMPLING_FIELDS)
    if body.get("stop") is not None:
        payload["stop_sequences"] = stop_list(body["stop"])
    functions = function_tools(body)
    if functions:
        payload["tools"] = [
            {
                "name": function["name"],
                **({"description": function["description"]} if function.get("description") else {}),
                "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
            }
            for function in functions
        ]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            payload["tool_choice"] = choice
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        payload["metadata"] = {"user_id": user}
    if stream:
        payload["stream"] = True
    return payload


class AnthropicStream(TranslatingStream):
    """Messages stream events → ``chat.completion.chunk`` events."""

    def __init__(self, *, public_model: str, client_wants_usage: bool, api_key: str = "") -> None:
        super().__init__(
            public_model=public_model, client_wants_usage=client_wants_usage, api_key=api_key
        )
        self._finish_sent = False
        self._tool_index: dict[int, int] = {}

    def _final_delta(self) -> bytes:
        return b"" if self._finish_sent else self._writer.delta({}, "stop")

    def _handle(self, events: list[tuple[str, bytes]]) -> bytes:
        out: list[bytes] = []
        for name, data in events:
            if self._closed:
                break
            document = loads_or_none(data)
            if not isinstance(document, dict):
                out.append(self._fail("upstream sent an unreadable stream event"))
                break
            out.append(self._event(str(document.get("type") or name), document))
        return b"".join(out)

    def _event(self, kind: str, event: dict[str, Any]) -> bytes:
        if kind == "content_block_delta":
            delta = event.get("delta")
            if not isinstance(delta, dict):
                return b""
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                text = delta.get("text")
                return self._role() + self._writer.delta({"content": text}) if text else b""
            if delta_type == "input_json_delta":
                tool = self._tool_index.get(event.get("index", -1))
                fragment = delta.get("partial_json")
                if tool is None or not fragment:
                    return b""
                return self._writer.delta(
                    {"tool_calls": [{"index": tool, "function": {"arguments": fragment}}]}
                )
            return b""  # thinking and signature deltas are not passed on
        if kind == "content_block_start":
            block = event.get("content_block")
            if not isinstance(block, dict):
                return b""
            if block.get("type") == "text" and block.get("text"):
                return self._role() + self._writer.delta({"content": block["text"]})
            if block.get("type") == "tool_use":
                tool = len(self._tool_index)
                self._tool_index[event.get("index", -1)] = tool
                call = {
                    "index": tool,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return self._role() + self._writer.delta({"tool_calls": [call]})
            return b""
        if kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                self.usage = _usage(message.get("usage"), self.usage)
            return self._role()
        if kind == "message_delta":
            self.usage = _usage(event.get("usage"), self.usage)
            delta = event.get("delta")
            stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if stop_reason is None or self._finish_sent:
                return b""
            self._finish_sent = True
            return self._role() + self._writer.delta({}, _finish_reason(stop_reason))
        if kind == "message_stop":
            self.finished_ok = True
            self.ended = True
            return b""
        if kind == "error":
            return self._fail_with_error(event.get("error"))
        return b""  # ping, content_block_stop and future event types


class AnthropicAdapter:
    family = "anthropic"

    def build_request(
        self,
        target: Target,
        body: Mapping[str, Any],
        *,
        stream: bool,
        extra_headers: Mapping[str, str],
    ) -> HttpRequest:
        payload = translate_request(body, target.upstream_model, stream=stream)
        return post_json(
            target.base_url,
            "/v1/messages",
            payload,
            extra_headers=extra_headers,
            auth={"x-api-key": target.api_key, "anthropic-version": ANTHROPIC_VERSION},
        )

    def probe_request(self, base_url: str, api_key: str) -> HttpRequest:
        return get_request(
            base_url, "/v1/models", {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        )

    def translate_response(self, status: int, body: bytes, *, public_model: str) -> bytes:
        require_2xx(status)
        document = load_json_object(body, self.family)
        texts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        content = document.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif block.get("type") == "tool_use":
                tool_calls.append(
                    openai_tool_call(block.get("id"), block.get("name"), block.get("input") or {})
                )
        return completion_body(
            public_model=public_model,
            texts=texts,
            tool_calls=tool_calls,
            finish_reason=_finish_reason(document.get("stop_reason")),
            usage=_usage(document.get("usage")),
        )

    def parse_usage(self, body: bytes) -> Usage | None:
        return usage_in_body(body, "usage", _usage)

    # The stream's constructor takes exactly the factory's keyword arguments.
    stream_translator = AnthropicStream
