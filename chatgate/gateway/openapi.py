"""The ``/v1`` gateway in the OpenAPI document (SPEC §9, §12).

The gateway is served by raw ASGI endpoints (SPEC §15), which FastAPI cannot describe, so
its operations are written out here, in OpenAI's shapes. These models only document: the
hot path never validates with them (``chatgate.gateway.body`` checks ``model``,
``messages`` and ``stream`` and passes every other field through unchanged).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema


class OpenAIModel(BaseModel):
    id: str = Field(description="The model config's name: what `model` takes in a request.")
    object: Literal["model"] = Field(description="Always `model`.")
    created: int = Field(description="When the model config was created (unix seconds).")
    owned_by: Literal["chatgate"] = Field(description="Always `chatgate`.")


class OpenAIModelList(BaseModel):
    object: Literal["list"] = Field(description="Always `list`.")
    data: list[OpenAIModel] = Field(
        description="The models available to the caller, ordered by name."
    )


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI's Chat Completions API takes it."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(
        description="Who wrote the message."
    )
    content: str | list[dict[str, Any]] | None = Field(
        default=None,
        description="The text, or a list of content parts (e.g. `{type: text, text}`); null "
        "for an assistant message that only calls tools.",
    )
    name: str | None = Field(default=None, description="An optional name for the author.")
    tool_calls: list[dict[str, Any]] | None = Field(
        default=None, description="Tool calls an assistant message made."
    )
    tool_call_id: str | None = Field(
        default=None, description="For `role: tool`: the id of the call this answers."
    )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = Field(
        default=None,
        description="When true, the stream's last chunk before `[DONE]` carries `usage`.",
    )


class ChatCompletionRequest(BaseModel):
    """Only ``model``, ``messages`` and ``stream`` are checked by chatgate; every other
    OpenAI parameter is passed to native families unchanged, and honoured, ignored or
    refused (400 ``unsupported_parameter``) by translated ones. The model config's
    ``options`` are merged underneath (request values win)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        description="A model config's name (see `GET /v1/models`), or its id when the "
        "value parses as a UUID.",
        examples=["gpt-4o-mini"],
    )
    messages: list[ChatMessage] = Field(
        min_length=1, description="The conversation so far; at least one message."
    )
    stream: bool = Field(
        default=False,
        description="Answer as server-sent events (`text/event-stream`) of "
        "`chat.completion.chunk` objects ending with `data: [DONE]`.",
    )
    stream_options: StreamOptions | None = Field(
        default=None, description="Streaming options; only with `stream: true`."
    )
    temperature: float | None = Field(default=None, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, description="Upper bound on the tokens generated.")
    tools: list[dict[str, Any]] | None = Field(
        default=None, description="Tools (functions) the model may call."
    )


class ChatCompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["assistant"] = Field(description="Always `assistant`.")
    content: str | None = Field(description="The generated text; null when only tools are called.")
    tool_calls: list[dict[str, Any]] | None = Field(
        default=None, description="The tool calls the model made, if any."
    )


class ChatCompletionChoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int = Field(description="The choice's position (0 unless `n` > 1).")
    message: ChatCompletionMessage = Field(description="The generated message.")
    finish_reason: str | None = Field(
        description="Why generation stopped: `stop`, `length`, `tool_calls`, `content_filter`."
    )


class Usage(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt_tokens: int = Field(description="Tokens in the request.")
    completion_tokens: int = Field(description="Tokens generated.")
    total_tokens: int = Field(description="The sum of both.")


class ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(description="The completion's id.")
    object: Literal["chat.completion"] = Field(description="Always `chat.completion`.")
    created: int = Field(description="When it was created (unix seconds).")
    model: str = Field(description="The upstream model that answered.")
    choices: list[ChatCompletionChoice] = Field(description="The generated choices.")
    usage: Usage | None = Field(default=None, description="Token counts.")


class ChatCompletionDelta(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str | None = Field(default=None, description="Set on the first chunk only.")
    content: str | None = Field(default=None, description="The next piece of text.")
    tool_calls: list[dict[str, Any]] | None = Field(
        default=None, description="Pieces of tool calls."
    )


class ChatCompletionChunkChoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int = Field(description="The choice's position.")
    delta: ChatCompletionDelta = Field(description="What this chunk adds.")
    finish_reason: str | None = Field(default=None, description="Set on the choice's last chunk.")


class ChatCompletionChunk(BaseModel):
    """One ``data:`` event of a stream. A stream that ends normally ends with
    ``data: [DONE]``; one cut by an upstream failure ends instead with a single
    ``data: {"error": {...}}`` event (OpenAI's error shape) and no ``[DONE]``."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="The completion's id (the same on every chunk).")
    object: Literal["chat.completion.chunk"] = Field(description="Always `chat.completion.chunk`.")
    created: int = Field(description="When it was created (unix seconds).")
    model: str = Field(description="The upstream model that answers.")
    choices: list[ChatCompletionChunkChoice] = Field(
        description="The choices' increments (empty on the usage chunk)."
    )
    usage: Usage | None = Field(
        default=None,
        description="Only on the last chunk, and only with `stream_options.include_usage`.",
    )


class OpenAIError(BaseModel):
    message: str = Field(
        description="What went wrong; names the provider config, never a key. Upstream "
        "text appears only as at most 1 KiB of an upstream JSON error, keys redacted."
    )
    type: str = Field(
        description="OpenAI's error type, e.g. `invalid_request_error`, "
        "`authentication_error`, `permission_error`, `not_found_error`, "
        "`rate_limit_error`, `api_error`."
    )
    code: str | None = Field(
        description="chatgate's code, e.g. `invalid_api_key`, `model_not_found`, "
        "`user_api_key_required`, `upstream_timeout`."
    )


class OpenAIErrorBody(BaseModel):
    """Every error under ``/v1``, in the shape OpenAI SDKs parse."""

    error: OpenAIError = Field(description="The error.")


# (model, mode): the request is read, the rest are written.
SCHEMA_MODELS: tuple[tuple[type[BaseModel], Literal["validation", "serialization"]], ...] = (
    (ChatCompletionRequest, "validation"),
    (OpenAIModelList, "serialization"),
    (ChatCompletion, "serialization"),
    (ChatCompletionChunk, "serialization"),
    (OpenAIErrorBody, "serialization"),
)

_REF = "#/components/schemas/{model}"

# What each status means on the gateway (SPEC §9).
_CHAT_ERRORS: dict[int, str] = {
    400: "Invalid body (`invalid_request_error` naming `model`, `messages` or `stream`), "
    "`unsupported_parameter`, or `family_not_supported`.",
    401: "Missing or unknown bearer token (`invalid_api_key`).",
    403: "`user_api_key_required`, `provider_disabled`, `user_api_key_invalid` or "
    "`upstream_forbidden`.",
    404: "Unknown model, or one the caller may not see (`model_not_found`).",
    413: "The body exceeds `CHATGATE_MAX_REQUEST_BYTES` (`request_too_large`).",
    429: "Every candidate is rate-limited or cooling down; see `Retry-After`.",
    502: "The upstream failed (`upstream_error`) or refused every key (`upstream_auth_failed`).",
    503: "No key is configured for the model (`missing_api_key`).",
    504: "The upstream did not answer in time (`upstream_timeout`).",
    508: "The request came back to the chatgate that sent it (`loop_detected`).",
}
_MODELS_ERRORS: dict[int, str] = {401: _CHAT_ERRORS[401]}
_MODEL_ERRORS: dict[int, str] = {
    401: _CHAT_ERRORS[401],
    404: "No such model available to the caller (`model_not_found`).",
}

_REQUEST_ID = {
    "x-chatgate-request-id": {
        "description": "The request's id, on every response (errors included).",
        "schema": {"type": "string"},
    }
}
_ANSWERED_BY = {
    "x-chatgate-provider-config": {
        "description": "The provider config whose attempt answered (its name, or "
        "`deployment:<family>`).",
        "schema": {"type": "string"},
    },
    "x-chatgate-key-source": {
        "description": "Whose key that attempt used: `user`, `central` or `deployment`.",
        "schema": {"type": "string", "enum": ["user", "central", "deployment"]},
    },
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _errors(statuses: dict[int, str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, description in statuses.items():
        headers: dict[str, Any] = dict(_REQUEST_ID)
        if status == 429:
            headers["retry-after"] = {
                "description": "Seconds until the earliest candidate may be tried again.",
                "schema": {"type": "integer"},
            }
        else:
            headers["x-should-retry"] = {
                "description": "Always `false`: chatgate already tried every usable "
                "candidate, so SDKs should not retry on their own.",
                "schema": {"type": "string", "enum": ["false"]},
            }
        responses[str(status)] = {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": _ref(OpenAIErrorBody)}},
        }
    return responses


def _models_operation() -> dict[str, Any]:
    return {
        "tags": ["gateway (OpenAI-compatible)"],
        "summary": "List the models available to the caller",
        "description": "OpenAI's list shape: every model config the caller may use now, "
        "ordered by name.",
        "operationId": "v1_list_models",
        "security": [{"bearerAuth": []}],
        "responses": {
            "200": {
                "description": "The caller's available models.",
                "headers": dict(_REQUEST_ID),
                "content": {"application/json": {"schema": _ref(OpenAIModelList)}},
            },
            **_errors(_MODELS_ERRORS),
        },
    }


def _model_operation() -> dict[str, Any]:
    return {
        "tags": ["gateway (OpenAI-compatible)"],
        "summary": "Get one available model",
        "operationId": "v1_get_model",
        "security": [{"bearerAuth": []}],
        "parameters": [
            {
                "name": "model",
                "in": "path",
                "required": True,
                "description": "The model config's name.",
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "200": {
                "description": "The model.",
                "headers": dict(_REQUEST_ID),
                "content": {"application/json": {"schema": _ref(OpenAIModel)}},
            },
            **_errors(_MODEL_ERRORS),
        },
    }


def _chat_operation() -> dict[str, Any]:
    return {
        "tags": ["gateway (OpenAI-compatible)"],
        "summary": "Create a chat completion (OpenAI-compatible)",
        "description": "Point an OpenAI SDK at `<server>/v1` with a chatgate token as its "
        "API key. chatgate resolves the model's candidates and keys, translates to the "
        "provider family's protocol and fails over before the first byte. "
        "With `stream: true` the answer is `text/event-stream`: one "
        "`data: <chat.completion.chunk>` event per chunk, then `data: [DONE]`.",
        "operationId": "v1_create_chat_completion",
        "security": [{"bearerAuth": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(ChatCompletionRequest)}},
        },
        "responses": {
            "200": {
                "description": "The completion: one JSON body, or a stream of chunks when "
                "`stream` is true.",
                "headers": {**_REQUEST_ID, **_ANSWERED_BY},
                "content": {
                    "application/json": {"schema": _ref(ChatCompletion)},
                    "text/event-stream": {"schema": _ref(ChatCompletionChunk)},
                },
            },
            **_errors(_CHAT_ERRORS),
        },
    }


_CONVERTER = re.compile(r"\{(\w+):\w+\}")

# (method, path) -> the operation, for each gateway route chatgate may serve.
_OPERATIONS = {
    ("GET", "/v1/models"): _models_operation,
    ("GET", "/v1/models/{model}"): _model_operation,
    ("POST", "/v1/chat/completions"): _chat_operation,
}


def gateway_openapi(served: set[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The paths and component schemas for the gateway routes in ``served`` (method, path):
    only what the app really serves is documented."""
    paths: dict[str, Any] = {}
    # OpenAPI paths carry no converters: ``{model:path}`` is documented as ``{model}``.
    plain = {(method, _CONVERTER.sub(r"{\1}", path)) for method, path in served}
    for (method, path), build in _OPERATIONS.items():
        if (method, path) in plain:
            paths.setdefault(path, {})[method.lower()] = build()
    _, schema = models_json_schema(SCHEMA_MODELS, ref_template=_REF)
    return paths, dict(schema.get("$defs", {}))
