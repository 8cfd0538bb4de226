"""Base classes for request and response bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_contains_nul(item) for item in value)
    return False


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
