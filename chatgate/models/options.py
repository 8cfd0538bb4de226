"""The ``options`` of a model config (SPEC §4): call defaults merged under request values.

``ModelOptions`` is the schema (unknown keys and wrong types → 422); ``check_options`` adds
the rules on values (ranges, forbidden headers and body fields → 400); ``apply_options``
is what the gateway uses to merge them into a request body. All pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatgate.api.schemas import JsonInt
from chatgate.errors import bad_request

# Headers an option may never set: credentials and hop-by-hop or framing headers.
FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "cookie",
    }
)
# Body fields the gateway owns.
FORBIDDEN_BODY_FIELDS = frozenset({"model", "messages", "stream", "stream_options"})
# Request fields that suppress the ``max_tokens`` option.
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
MAX_STOP_SEQUENCES = 4
# ``max_tokens`` fits the 32-bit integers upstream APIs take.
MAX_TOKENS_LIMIT = 2**31 - 1
# ``extra_body`` is stored as JSON and sent upstream as JSON: values must round-trip through
# every JSON encoder on the way (the database's, the response's), so numbers are finite and
# fit 64 bits, and nesting stays far below the encoders' recursion limits.
MAX_EXTRA_BODY_DEPTH = 32
_INT64 = range(-(2**63), 2**63)
_HEADER_NAME_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


class ModelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    temperature: float | None = Field(default=None, description="Sampling temperature (0 to 2).")
    top_p: float | None = Field(default=None, description="Nucleus sampling (0 to 1).")
    max_tokens: JsonInt | None = Field(
        default=None,
        description="Upper bound on generated tokens; a request's `max_tokens` or "
        "`max_completion_tokens` suppresses it.",
    )
    presence_penalty: float | None = Field(default=None, description="Presence penalty (-2 to 2).")
    frequency_penalty: float | None = Field(
        default=None, description="Frequency penalty (-2 to 2)."
    )
    stop: str | list[str] | None = Field(
        default=None, description="A stop sequence, or a list of up to 4."
    )
    reasoning_effort: str | None = Field(
        default=None,
        max_length=32,
        description="For reasoning models, e.g. `low`, `medium`, `high`.",
    )
    extra_headers: dict[str, str] | None = Field(
        default=None,
        max_length=64,
        description="Headers added to upstream requests; credentials and framing headers are "
        "refused (400 `header_not_allowed`).",
    )
    extra_body: dict[str, Any] | None = Field(
        default=None,
        max_length=64,
        description="Fields merged shallowly into the upstream body; may not set `model`, "
        "`messages`, `stream` or `stream_options`.",
    )

    @field_validator("stop")
    @classmethod
    def _at_most_four_stop_sequences(cls, value: str | list[str] | None) -> str | list[str] | None:
        # The limit is on the list only: a single stop string may be any length.
        if isinstance(value, list) and len(value) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return value

    def stored(self) -> dict[str, Any]:
        """The JSON object stored on the model config: only the options that are set."""
        return self.model_dump(exclude_none=True)


def _range(value: float | None, field: str, low: float, high: float) -> None:
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise bad_request(
            "options_invalid", f"options.{field} must be between {low:g} and {high:g}", field
        )


def check_options(options: ModelOptions) -> ModelOptions:
    """Rules a schema cannot express; returns the options unchanged when they hold."""
    _range(options.temperature, "temperature", 0, 2)
    _range(options.top_p, "top_p", 0, 1)
    _range(options.presence_penalty, "presence_penalty", -2, 2)
    _range(options.frequency_penalty, "frequency_penalty", -2, 2)
    if options.max_tokens is not None and not 1 <= options.max_tokens <= MAX_TOKENS_LIMIT:
        raise bad_request(
            "options_invalid",
            f"options.max_tokens must be between 1 and {MAX_TOKENS_LIMIT}",
            "max_tokens",
        )
    if options.reasoning_effort is not None and not options.reasoning_effort.strip():
        raise bad_request(
            "options_invalid", "options.reasoning_effort must not be empty", "reasoning_effort"
        )
    stops = [options.stop] if isinstance(options.stop, str) else (options.stop or [])
    if any(stop == "" for stop in stops):
        raise bad_request("options_invalid", "options.stop entries must not be empty", "stop")
    for name, value in (options.extra_headers or {}).items():
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise bad_request(
                "header_not_allowed",
                f"options.extra_headers may not set {lowered}",
                "extra_headers",
            )
        if not lowered or any(ch not in _HEADER_NAME_CHARS for ch in lowered):
            raise bad_request(
                "options_invalid",
                "options.extra_headers has an invalid header name",
                "extra_headers",
            )
        if any(ch in value for ch in "\r\n\x00"):
            raise bad_request(
                "options_invalid",
                "options.extra_headers values may not contain line breaks",
                "extra_headers",
            )
    for name in options.extra_body or {}:
        if name in FORBIDDEN_BODY_FIELDS:
            raise bad_request(
                "extra_body_not_allowed", f"options.extra_body may not set {name}", "extra_body"
            )
    if options.extra_body is not None:
        problem = _json_value_problem(options.extra_body, depth=1)
        if problem is not None:
            raise bad_request("options_invalid", f"options.extra_body {problem}", "extra_body")
    return options


def _json_value_problem(value: Any, depth: int) -> str | None:
    """Why ``value`` would not survive storage and re-encoding as JSON, or None."""
    if depth > MAX_EXTRA_BODY_DEPTH:
        return f"is nested deeper than {MAX_EXTRA_BODY_DEPTH} levels"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None if value in _INT64 else "holds an integer outside the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else "holds a number that is not finite"
    if isinstance(value, dict):
        children: list[Any] = list(value.values())
    elif isinstance(value, list):
        children = value
    else:  # pragma: no cover - parsed JSON holds nothing else
        return "holds a value that is not JSON"
    for child in children:
        problem = _json_value_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None


def apply_options(
    request: Mapping[str, Any], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new request body with the options merged under it, and the extra headers.

    Request values win; ``extra_body`` is merged shallowly under the request too (never
    over the gateway-owned fields); a request that sets ``max_tokens`` or
    ``max_completion_tokens`` suppresses the ``max_tokens`` option. Inputs are not mutated.
    """
    body: dict[str, Any] = {}
    for name, value in (options.get("extra_body") or {}).items():
        if name not in FORBIDDEN_BODY_FIELDS:
            body[name] = value
    suppress_max_tokens = any(field in request for field in MAX_TOKENS_FIELDS)
    for name, value in options.items():
        if name in ("extra_body", "extra_headers"):
            continue
        if name == "max_tokens" and suppress_max_tokens:
            continue
        body[name] = value
    body.update(request)
    headers = {str(k): str(v) for k, v in (options.get("extra_headers") or {}).items()}
    return body, headers
