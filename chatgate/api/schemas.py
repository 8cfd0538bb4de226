"""Base classes for request and response bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_contains_nul(item) for item in value)
    return False


def not_null(extra: JsonDict | None = None) -> Callable[[JsonDict], None]:
    """``json_schema_extra`` for a PATCH field typed ``T | None`` where absent means
    unchanged and ``null`` means nothing (a 422, ``chatgate.validation.refuse_nulls``): the
    document describes ``T`` alone, without ``null`` or a ``null`` default. ``extra`` adds
    more (e.g. an ``enum``)."""

    def adjust(schema: JsonDict) -> None:
        schema.pop("default", None)
        options = schema.pop("anyOf", None)
        if isinstance(options, list):
            kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(kept) == 1 and isinstance(kept[0], dict):
                schema.update(kept[0])
            else:
                schema["anyOf"] = kept
        schema.update(extra or {})

    return adjust


NOT_NULL = not_null()


def _integral_number(value: Any) -> Any:
    # JSON has one number type; JSON Schema (so the OpenAPI document) calls 401.0 an
    # integer. Strict validation would refuse it as a float: take it as the integer it is.
    # 1.5, a string or a boolean still fail as the wrong type (422).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An ``int`` request field: an integer, written with or without a zero fraction.
JsonInt = Annotated[int, BeforeValidator(_integral_number)]


class RequestBody(BaseModel):
    """Request bodies: unknown fields and wrong JSON types are 422, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NulFreeRequestBody(RequestBody):
    """A request body whose strings (at any depth) may not contain U+0000: 422 naming the
    field. For bodies whose services do not answer NUL with a code of their own."""

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000 (the insert would fail with a 500) and SQLite
        # would store it: refuse it on both, as a 422 naming the field.
        if _contains_nul(value):
            raise PydanticCustomError("nul_character", "must not contain NUL characters")
        return value


class ResponseBody(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Built by chatgate.api.errors (SPEC §12); declared here so the OpenAPI document describes
# the body clients really get. The docstring is the public description.
class ErrorBody(BaseModel):
    """The body of every error under `/api/v1`: a stable `code`, a `message` for people,
    and `detail` (null, or more about the error)."""

    code: str = Field(
        description="Stable machine-readable error code, e.g. `not_found`, `invalid_request`, "
        "`name_taken`, `unauthenticated`, `forbidden`.",
    )
    message: str = Field(
        description="A sentence a person understands; never contains a secret.",
    )
    detail: Any = Field(
        description="More about the error, or null. For 422 `invalid_request`: a list of `{field, "
        "message}`, one per problem; for rule violations (400/409): `{field}` naming the offending "
        "field when there is one.",
    )
