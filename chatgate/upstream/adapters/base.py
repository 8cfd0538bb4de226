"""The adapter interface every family implements, and helpers the translators share.

An adapter is stateless and turns an OpenAI chat-completions body into the family's
request, and the family's answer back into OpenAI's shapes. The opened key is only ever
placed in a request header by ``build_request``; error text is redacted before it leaves
(SPEC §9).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from chatgate.upstream.errors import UnsupportedParameter, UpstreamProtocolError
from chatgate.upstream.http import HttpRequest
from chatgate.upstream.sse import DONE_EVENT, SseDecoder

ERROR_MESSAGE_MAX_BYTES: Final[int] = 1024
REDACTED: Final[str] = "<redacted>"


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes. ``api_key`` is the opened key; it is kept out of repr so a
    logged Target never shows it."""

    family: str
    base_url: str
    upstream_model: str
    api_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int


class StreamTranslator(Protocol):
    """Stateful, one per streamed response.

    After the upstream body ends, call :meth:`finish` and write what it returns. Then, if
    ``finished_ok`` is false and ``ended_with_error`` is false, the stream was cut and the
    gateway appends its own error event (SPEC §9). When ``ended_with_error`` is true the
    translator already emitted the one ``data: {"error": ...}`` event. ``ended`` is true
    once the upstream sent its protocol's explicit end marker (``[DONE]``,
    ``message_stop``): nothing more belongs to the answer, so the gateway stops reading
    instead of waiting for an upstream that keeps the connection open."""

    usage: Usage | None
    finished_ok: bool
    ended_with_error: bool
    ended: bool

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Adapter(Protocol):
    family: str

    def build_request(
        self,
        target: Target,
        body: Mapping[str, Any],
        *,
        stream: bool,
        extra_headers: Mapping[str, str],
    ) -> HttpRequest:
        """``body`` is the client's chat-completions body with options merged; it is not
        modified. Raises :class:`UnsupportedParameter` for fields the family cannot
        honour."""
        ...

    def translate_response(self, status: int, body: bytes, *, public_model: str) -> bytes:
        """A 2xx non-streaming body → OpenAI ``chat.completion`` JSON bytes."""
        ...

    def parse_usage(self, body: bytes) -> Usage | None:
        """Token counts from a 2xx non-streaming upstream body (the family's own shape).
        Families that relay the body unparsed raise :class:`UpstreamProtocolError` here
        when it is not a JSON object."""
        ...

    def stream_translator(
        self, *, public_model: str, client_wants_usage: bool, api_key: str = ""
    ) -> StreamTranslator:
        """``api_key``: occurrences in relayed bytes and upstream error text are replaced
        by ``<redacted>``; pass the attempt's key."""
        ...

    def probe_request(self, base_url: str, api_key: str) -> HttpRequest:
        """The cheapest authenticated call that tells whether ``api_key`` works at
        ``base_url``: the family's model list (no tokens spent, no model name needed)."""
        ...


def extract_error_message(status: int, body: bytes, api_key: str) -> str:
    """What of an upstream error may reach the client (SPEC §9): only ``error.message``
    from a JSON body, every occurrence of the key replaced, at most 1 KiB of UTF-8;
    otherwise ``upstream returned HTTP <status>``."""
    fallback = f"upstream returned HTTP {status}"
    document = loads_or_none(body)
    if isinstance(document, list) and document:  # Gemini streams wrap errors in a list
        document = document[0]
    if not isinstance(document, dict):
        return fallback
    error = document.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message.strip():
        return fallback
    return redact_and_cap(message, api_key)


def redact_body(body: bytes, api_key: str) -> bytes:
    """``body`` with every occurrence of the attempt's key replaced: an upstream that
    echoes the key it received (in an answer's text, say) must not hand it to the client
    or to storage. One substring search when there is nothing to replace."""
    if not api_key:
        return body
    key = api_key.encode()
    return body.replace(key, REDACTED.encode()) if key in body else body


def redact_and_cap(message: str, api_key: str) -> str:
    # Redact before truncating, so a key cut at the limit cannot survive in part.
    if api_key:
        message = message.replace(api_key, REDACTED)
    encoded = message.encode("utf-8")
    if len(encoded) <= ERROR_MESSAGE_MAX_BYTES:
        return message
    return encoded[:ERROR_MESSAGE_MAX_BYTES].decode("utf-8", "ignore")


def usage_from_openai(usage: object) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(input_tokens=prompt, output_tokens=completion)


def openai_usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def new_completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def new_tool_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def loads_or_none(data: bytes) -> Any:
    """The JSON value of ``data``, or None when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def usage_in_body(
    body: bytes, key: str, read_usage: Callable[[object], Usage | None]
) -> Usage | None:
    """``parse_usage`` of every family: ``read_usage(body[key])`` when the body is a JSON
    object, else None."""
    document = loads_or_none(body)
    return read_usage(document.get(key)) if isinstance(document, dict) else None


def load_json_object(body: bytes, family: str) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(f"{family} upstream returned a body that is not JSON") from None
    if not isinstance(document, dict):
        raise UpstreamProtocolError(f"{family} upstream returned an unexpected JSON body")
    return document


def require_2xx(status: int) -> None:
    if not 200 <= status < 300:
        raise ValueError(f"translate_response is only for 2xx bodies, got {status}")


def openai_tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A ``tool_calls`` entry of an OpenAI answer; ``arguments`` is sent as JSON text."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": dumps_str(arguments)},
    }


def completion_body(
    *,
    public_model: str,
    texts: list[str],
    tool_calls: list[dict[str, Any]],
    finish_reason: str,
    usage: Usage | None,
) -> bytes:
    """An OpenAI ``chat.completion`` for a translated answer (id and created are ours).
    ``content`` is the joined ``texts``; it is null only for an answer of tool calls alone."""
    content = "".join(texts) if texts or not tool_calls else None
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    document: dict[str, Any] = {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": public_model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
    }
    if usage is not None:
        document["usage"] = openai_usage(usage)
    return orjson.dumps(document)


class ChunkWriter:
    """Builds ``chat.completion.chunk`` SSE events; the constant JSON around each delta is
    serialised once per stream."""

    __slots__ = ("_created", "_head", "_id", "_model")

    def __init__(self, public_model: str) -> None:
        self._id = new_completion_id()
        self._created = int(time.time())
        self._model = public_model
        self._head = (
            b'data: {"id":'
            + orjson.dumps(self._id)
            + b',"object":"chat.completion.chunk","created":'
            + str(self._created).encode()
            + b',"model":'
            + orjson.dumps(public_model)
            + b',"choices":[{"index":0,"delta":'
        )

    def delta(self, delta: Mapping[str, Any], finish_reason: str | None = None) -> bytes:
        finish = b"null" if finish_reason is None else orjson.dumps(finish_reason)
        return (
            self._head
            + orjson.dumps(delta)
            + b',"logprobs":null,"finish_reason":'
            + finish
            + b"}]}\n\n"
        )

    def usage(self, usage: Usage) -> bytes:
        document = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": openai_usage(usage),
        }
        return b"data: " + orjson.dumps(document) + b"\n\n"


def error_event(
    message: str, *, code: str = "upstream_error", error_type: str = "api_error"
) -> bytes:
    """The one event that ends a failed stream (OpenAI's error shape, no [DONE]); the
    gateway's own cut-stream events are built here too."""
    document = {"error": {"message": message, "type": error_type, "code": code}}
    return b"data: " + orjson.dumps(document) + b"\n\n"


class TranslatingStream:
    """What the translating families' stream translators share: SSE decoding, the one
    error event that closes a failed stream, and the close of a finished one (final
    deltas, usage chunk if asked for, ``[DONE]``). Subclasses turn decoded events into
    chunks in :meth:`_handle` and set ``finished_ok`` when the answer is complete."""

    def __init__(self, *, public_model: str, client_wants_usage: bool, api_key: str = "") -> None:
        self._writer = ChunkWriter(public_model)
        self._decoder = SseDecoder()
        self._wants_usage = client_wants_usage
        self._api_key = api_key
        self._role_sent = False
        self._closed = False
        self.usage: Usage | None = None
        self.finished_ok = False
        self.ended_with_error = False
        self.ended = False  # set by protocols that have an end marker (Gemini has none)

    def feed(self, chunk: bytes) -> bytes:
        if self._closed:
            return b""
        # Translated text is re-encoded, so the key is looked for in what goes out: an
        # upstream that echoes the key in its answer must not hand it to the client.
        return redact_body(self._handle(self._decoder.feed(chunk)), self._api_key)

    def finish(self) -> bytes:
        if self._closed:
            return b""
        out = redact_body(self._handle(self._decoder.flush()), self._api_key)
        if self._closed or not self.finished_ok:
            return out
        self._closed = True
        tail = [out, self._final_delta()]
        if self._wants_usage and self.usage is not None:
            tail.append(self._writer.usage(self.usage))
        tail.append(DONE_EVENT)
        return redact_body(b"".join(tail), self._api_key)

    def _handle(self, events: list[tuple[str, bytes]]) -> bytes:
        raise NotImplementedError

    def _final_delta(self) -> bytes:
        """What a finished stream still owes before its usage chunk; nothing by default."""
        return b""

    def _fail(self, message: str) -> bytes:
        self._closed = True
        self.ended_with_error = True
        return error_event(redact_and_cap(message, self._api_key))

    def _fail_with_error(self, error: object) -> bytes:
        """Close with the upstream's own ``error.message``, when it sent a usable one."""
        message = error.get("message") if isinstance(error, dict) else None
        return self._fail(
            message if isinstance(message, str) and message else "upstream reported an error"
        )

    def _role(self) -> bytes:
        """The first chunk of the answer (once per stream)."""
        if self._role_sent:
            return b""
        self._role_sent = True
        return self._writer.delta({"role": "assistant", "content": ""})


def get_request(base_url: str, path: str, auth: Mapping[str, str]) -> HttpRequest:
    """A GET of ``base_url`` + ``path`` carrying the key header ``auth``."""
    headers = {"Accept": "application/json"}
    headers.update(auth)
    return HttpRequest(method="GET", url=join_url(base_url, path), headers=headers)


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def json_headers(extra_headers: Mapping[str, str], auth: Mapping[str, str]) -> dict[str, str]:
    """Content type, then the gateway's extra headers, then auth last so nothing can
    replace the key header."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers.update(extra_headers)
    headers.update(auth)
    return headers


def post_json(
    base_url: str,
    path: str,
    payload: Mapping[str, Any],
    *,
    extra_headers: Mapping[str, str],
    auth: Mapping[str, str],
) -> HttpRequest:
    """The POST of a JSON ``payload`` to ``base_url`` + ``path`` (see :func:`json_headers`)."""
    return HttpRequest(
        method="POST",
        url=join_url(base_url, path),
        headers=json_headers(extra_headers, auth),
        body=orjson.dumps(payload),
    )


# --- request field policy for translated families -------------------------------------

# Fields whose value is neutral (so they are ignored) only when equal to one of these.
NEUTRAL_VALUES: Final[dict[str, tuple[Any, ...]]] = {
    "n": (1,),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "logit_bias": ({},),
    "modalities": (["text"],),
    "response_format": ({"type": "text"},),
}


def check_fields(
    body: Mapping[str, Any],
    *,
    honoured: frozenset[str],
    ignored: frozenset[str],
) -> None:
    """Reject every non-null field that is neither honoured, ignored, nor set to its
    neutral value. Unknown fields are rejected rather than dropped: a client asking for
    something we would silently not do deserves to know."""
    for name, value in body.items():
        if value is None or name in honoured or name in ignored:
            continue
        neutral = NEUTRAL_VALUES.get(name)
        if neutral is not None and value in neutral:
            continue
        raise UnsupportedParameter(name)


def copy_fields(
    body: Mapping[str, Any], into: dict[str, Any], names: tuple[tuple[str, str], ...]
) -> None:
    """``into[target] = body[source]`` for each ``(source, target)`` whose value is not
    null; the value passes unchanged."""
    for source, target in names:
        if body.get(source) is not None:
            into[target] = body[source]


def forced_function(tool_choice: Any) -> str | None:
    """The name in a ``{"type": "function", "function": {"name": ...}}`` ``tool_choice``;
    None for any other value."""
    if (
        isinstance(tool_choice, dict)
        and tool_choice.get("type") == "function"
        and isinstance(tool_choice.get("function"), dict)
        and isinstance(tool_choice["function"].get("name"), str)
    ):
        name: str = tool_choice["function"]["name"]
        return name
    return None


def unsupported_tool_choice() -> UnsupportedParameter:
    return UnsupportedParameter("tool_choice", "must be auto, none, required or a function")


def text_of(content: Any, where: str) -> str:
    """The text of a message ``content``: a string, or a list of ``text`` (or
    ``refusal``) parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise UnsupportedParameter(f"{where}.content", "must be a string or a list of parts")
    pieces: list[str] = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            pieces.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            pieces.append(part["refusal"])
        else:
            raise UnsupportedParameter(f"{where}.content[{index}]", "must be a text part here")
    return "".join(pieces)


def stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise UnsupportedParameter("stop", "must be a string or a list of strings")


def max_output_tokens(body: Mapping[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UnsupportedParameter(name, "must be a positive integer")
        return value
    return None


def parse_data_url(url: str, where: str) -> tuple[str, str]:
    """``data:<mime>;base64,<data>`` → (mime, base64 data)."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise UnsupportedParameter(where, "must be a base64 data: URL")
    return head[5:-7] or "application/octet-stream", data


def function_tools(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``function`` entries of ``tools`` (other tool types are rejected)."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise UnsupportedParameter("tools", "must be a list")
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise UnsupportedParameter(f"tools[{index}]", "only function tools are supported")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise UnsupportedParameter(f"tools[{index}].function", "needs a name")
        functions.append(function)
    return functions


def tool_call_arguments(call: Mapping[str, Any], where: str) -> tuple[str, str, dict[str, Any]]:
    """(id, name, parsed arguments) of an assistant ``tool_calls`` entry."""
    function = call.get("function")
    if call.get("type", "function") != "function" or not isinstance(function, dict):
        raise UnsupportedParameter(where, "only function tool calls are supported")
    name = function.get("name")
    call_id = call.get("id")
    if not isinstance(name, str) or not isinstance(call_id, str):
        raise UnsupportedParameter(where, "needs an id and a function name")
    raw = function.get("arguments") or "{}"
    try:
        arguments = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        raise UnsupportedParameter(f"{where}.function.arguments", "must be a JSON object") from None
    if not isinstance(arguments, dict):
        raise UnsupportedParameter(f"{where}.function.arguments", "must be a JSON object")
    return call_id, name, arguments


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()
