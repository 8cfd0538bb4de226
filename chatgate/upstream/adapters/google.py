"""Google Gemini ``generateContent`` / ``streamGenerateContent?alt=sse``, translated to
and from OpenAI chat completions.

Request fields (``null`` counts as absent):

- honoured: ``model``, ``messages``, ``stream``, ``stream_options`` (usage is always
  known), ``max_completion_tokens`` / ``max_tokens`` → ``maxOutputTokens``,
  ``temperature``, ``top_p``, ``top_k``, ``stop`` → ``stopSequences``, ``seed``,
  ``presence_penalty``, ``frequency_penalty``, ``response_format`` (``text``,
  ``json_object`` → JSON MIME type, ``json_schema`` → ``responseJsonSchema``), ``tools``
  (function tools → ``functionDeclarations`` with ``parametersJsonSchema``),
  ``tool_choice`` → ``functionCallingConfig``;
- ignored: ``parallel_tool_calls``, ``user``, ``safety_identifier``, ``store``,
  ``metadata``, ``service_tier``, ``reasoning_effort``, ``prompt_cache_key``,
  ``prompt_cache_retention``, ``prediction``, ``verbosity``, and ``n: 1``,
  ``logprobs: false``, ``top_logprobs: 0``, ``logit_bias: {}``, ``modalities: ["text"]``;
- rejected (:class:`UnsupportedParameter`): any other value of those, ``audio``,
  ``functions`` / ``function_call``, ``web_search_options`` and every unknown field;
  message parts other than text and base64 ``data:`` images (Gemini cannot fetch
  arbitrary URLs); the ``function`` role; non-function tools.

Messages: system and developer messages become ``systemInstruction``; assistant turns
use the ``model`` role, their ``tool_calls`` become ``functionCall`` parts and ``tool``
messages ``functionResponse`` parts (the function name is looked up by
``tool_call_id``).

Thought signatures: Gemini 3 requires the ``thoughtSignature`` of a function call to
come back with it in the next turn. OpenAI clients only echo tool call ids, so the
signature travels inside the id we hand out (``call_<hex>~ts~<signature>``) and is put
back on the ``functionCall`` part. A model turn whose calls carry no signature (history
from another model) gets Google's documented validator-skip value instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

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
    new_tool_call_id,
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

SIGNATURE_MARK: Final[str] = "~ts~"
SKIP_SIGNATURE: Final[str] = "skip_thought_signature_validator"

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
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tools",
        "tool_choice",
    }
)
IGNORED: Final[frozenset[str]] = frozenset(
    {
        "parallel_tool_calls",
        "user",
        "safety_identifier",
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

_FILTERED: Final[frozenset[str]] = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)

# generationConfig keys that take the client's value unchanged.
_GENERATION_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)


def _finish_reason(reason: object, has_tool_calls: bool) -> str:
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return "tool_calls" if has_tool_calls else "stop"


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None

    def count(name: str) -> int:
        value = raw.get(name)
        return value if isinstance(value, int) else 0

    # Thinking tokens are billed as output, as OpenAI's completion_tokens include reasoning.
    return Usage(
        input_tokens=count("promptTokenCount") + count("toolUsePromptTokenCount"),
        output_tokens=count("candidatesTokenCount") + count("thoughtsTokenCount"),
    )


def encode_call_id(signature: object) -> str:
    base = new_tool_call_id()
    return (
        f"{base}{SIGNATURE_MARK}{signature}" if isinstance(signature, str) and signature else base
    )


def _signature_of(call_id: str) -> str | None:
    _, mark, signature = call_id.partition(SIGNATURE_MARK)
    return signature if mark and signature else None


def _image_part(url: str, where: str) -> dict[str, Any]:
    mime_type, data = parse_data_url(url, where)
    return {"inlineData": {"mimeType": mime_type, "data": data}}


def _user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    return [
        {"text": value} if kind == "text" else _image_part(value, value_where)
        for kind, value, value_where in user_parts(content, where)
    ]


def _tool_config(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if value == "auto":
        config: dict[str, Any] = {"mode": "AUTO"}
    elif value == "none":
        config = {"mode": "NONE"}
    elif value == "required":
        config = {"mode": "ANY"}
    elif (name := forced_function(value)) is not None:
        config = {"mode": "ANY", "allowedFunctionNames": [name]}
    else:
        raise unsupported_tool_choice()
    return {"functionCallingConfig": config}


def _response_format(value: Any, config: dict[str, Any]) -> None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
        return
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise UnsupportedParameter("response_format.json_schema.schema", "is required")
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = schema
        return
    raise UnsupportedParameter("response_format", "must be text, json_object or json_schema")


def translate_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI chat-completions body → generateContent body (pure; raises
    UnsupportedParameter). The model goes in the URL, not the body."""
    check_fields(body, honoured=HONOURED, ignored=IGNORED)
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for where, role, content, message in chat_messages(body, system):
        if role == "user":
            merge_turn(contents, "user", _user_parts(content, where), key="parts")
        elif role == "assistant":
            parts: list[dict[str, Any]] = []
            text = text_of(content, where)
            if text:
                parts.append({"text": text})
            first_call: dict[str, Any] | None = None
            signed = False
            for call_id, name, arguments in assistant_tool_calls(message, where):
                call_names[call_id] = name
                part: dict[str, Any] = {"functionCall": {"name": name, "args": arguments}}
                signature = _signature_of(call_id)
                if signature is not None:
                    part["thoughtSignature"] = signature
                    signed = True
                first_call = first_call or part
                parts.append(part)
            if first_call is not None and not signed:
                first_call["thoughtSignature"] = SKIP_SIGNATURE
            if parts:
                merge_turn(contents, "model", parts, key="parts")
        else:  # "tool"
            answered = message.get("tool_call_id")
            function_name = call_names.get(answered) if isinstance(answered, str) else None
            function_name = function_name or message.get("name")
            if not isinstance(function_name, str):
                raise UnsupportedParameter(
                    f"{where}.tool_call_id", "must name a tool call of an earlier assistant message"
                )
            response = {"name": function_name, "response": {"result": text_of(content, where)}}
            merge_turn(contents, "user", [{"functionResponse": response}], key="parts")

    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config: dict[str, Any] = {}
    copy_fields(body, config, _GENERATION_FIELDS)
    limit = max_output_tokens(body)
    if limit is not None:
        config["maxOutputTokens"] = limit
    if body.get("stop") is not None:
        config["stopSequences"] = stop_list(body["stop"])
    if body.get("response_format") is not None:
        _response_format(body["response_format"], config)
    if config:
        payload["generationConfig"] = config
    functions = function_tools(body)
    if functions:
        declarations = []
        for function in functions:
            declaration: dict[str, Any] = {"name": function["name"]}
            if function.get("description"):
                declaration["description"] = function["description"]
            if function.get("parameters"):
                declaration["parametersJsonSchema"] = function["parameters"]
            declarations.append(declaration)
        payload["tools"] = [{"functionDeclarations": declarations}]
        tool_config = _tool_config(body.get("tool_choice"))
        if tool_config is not None:
            payload["toolConfig"] = tool_config
    return payload


def _model_path(model: str) -> str:
    name = model.removeprefix("models/")
    return "/v1beta/models/" + quote(name, safe="-._~")


def _candidate_parts(document: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, list[Any]]:
    candidates = document.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return None, []
    candidate = candidates[0]
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return candidate, parts if isinstance(parts, list) else []


def _tool_call(part: Mapping[str, Any]) -> dict[str, Any] | None:
    call = part.get("functionCall")
    if not isinstance(call, dict):
        return None
    return openai_tool_call(
        encode_call_id(part.get("thoughtSignature")), call.get("name"), call.get("args") or {}
    )


def _is_answer_text(part: Mapping[str, Any]) -> bool:
    return isinstance(part.get("text"), str) and not part.get("thought")


class GoogleStream(TranslatingStream):
    """Each SSE event is a whole GenerateContentResponse; the one carrying a
    ``finishReason`` ends the answer, and the last ``usageMetadata`` seen counts."""

    def __init__(self, *, public_model: str, client_wants_usage: bool, api_key: str = "") -> None:
        super().__init__(
            public_model=public_model, client_wants_usage=client_wants_usage, api_key=api_key
        )
        self._tools = 0

    def _handle(self, events: list[tuple[str, bytes]]) -> bytes:
        out: list[bytes] = []
        for _, data in events:
            document = loads_or_none(data)
            if isinstance(document, list) and document:
                document = document[0]
            if not isinstance(document, dict):
                out.append(self._fail("upstream sent an unreadable stream event"))
                break
            if "error" in document:
                out.append(self._fail_with_error(document["error"]))
                break
            out.append(self._response(document))
        return b"".join(out)

    def _response(self, document: Mapping[str, Any]) -> bytes:
        usage = _usage(document.get("usageMetadata"))
        if usage is not None:
            self.usage = usage
        out = [self._role()]
        candidate, parts = _candidate_parts(document)
        for part in parts:
            if not isinstance(part, dict):
                continue
            if _is_answer_text(part):
                if part["text"]:
                    out.append(self._writer.delta({"content": part["text"]}))
            elif (call := _tool_call(part)) is not None:
                call["index"] = self._tools
                self._tools += 1
                out.append(self._writer.delta({"tool_calls": [call]}))
        if self.finished_ok:
            return b"".join(out)
        if candidate is not None and candidate.get("finishReason"):
            reason = _finish_reason(candidate["finishReason"], self._tools > 0)
        elif (
            candidate is None
            and isinstance(document.get("promptFeedback"), dict)
            and document["promptFeedback"].get("blockReason")
        ):
            reason = "content_filter"
        else:
            return b"".join(out)
        self.finished_ok = True
        out.append(self._writer.delta({}, reason))
        return b"".join(out)


class GoogleAdapter:
    family = "google"

    def build_request(
        self,
        target: Target,
        body: Mapping[str, Any],
        *,
        stream: bool,
        extra_headers: Mapping[str, str],
    ) -> HttpRequest:
        payload = translate_request(body)
        method = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
        return post_json(
            target.base_url,
            _model_path(target.upstream_model) + method,
            payload,
            extra_headers=extra_headers,
            auth={"x-goog-api-key": target.api_key},
        )

    def probe_request(self, base_url: str, api_key: str) -> HttpRequest:
        return get_request(base_url, "/v1beta/models", {"x-goog-api-key": api_key})

    def translate_response(self, status: int, body: bytes, *, public_model: str) -> bytes:
        require_2xx(status)
        document = load_json_object(body, self.family)
        candidate, parts = _candidate_parts(document)
        texts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for part in parts:
            if not isinstance(part, dict):
                continue
            if _is_answer_text(part):
                texts.append(part["text"])
            elif (call := _tool_call(part)) is not None:
                tool_calls.append(call)
        if candidate is None:
            # No candidate at all: the prompt itself was blocked.
            finish_reason = "content_filter" if document.get("promptFeedback") else "stop"
        else:
            finish_reason = _finish_reason(candidate.get("finishReason"), bool(tool_calls))
        return completion_body(
            public_model=public_model,
            texts=texts,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            usage=_usage(document.get("usageMetadata")),
        )

    def parse_usage(self, body: bytes) -> Usage | None:
        return usage_in_body(body, "usageMetadata", _usage)

    # The stream's constructor takes exactly the factory's keyword arguments.
    stream_translator = GoogleStream
