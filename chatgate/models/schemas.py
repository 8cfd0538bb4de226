"""Bodies of the model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from chatgate.api.schemas import NOT_NULL, JsonInt, RequestBody
from chatgate.models.options import ModelOptions

_TEXT = 4096
# A config's id is a UUID; any other string names no config, which is a rule's 400
# (`provider_config_not_found`), not a 422: the schema describes the format only.
_UUID: JsonDict = {"format": "uuid"}


class ModelCreate(RequestBody):
    """``provider_config_id``: absent = auto-bind; ``null`` = unbound; a uuid = bind."""

    family: str | None = Field(
        default=None,
        max_length=64,
        description="The family; derived from `provider_config_id` when that is given.",
    )
    provider_config_id: str | None = Field(
        default=None,
        max_length=64,
        json_schema_extra=_UUID,
        description="Absent: bind automatically to the family's first enabled config; `null`: "
        "unbound (follows the family's precedence); an id: bind to that config (one that "
        "names no config, malformed ids included: 400 `provider_config_not_found`).",
    )
    model: str = Field(max_length=256, description="The upstream model id, e.g. `gpt-4o-mini`.")
    name: str | None = Field(
        default=None,
        max_length=_TEXT,
        description="What clients send as `model`: 1 to 128 printable characters without "
        "whitespace, never a UUID; absent = the upstream model id.",
    )
    display_name: str = Field(default="", max_length=200, description="A name for people.")
    enabled: bool = Field(
        default=True, description="Disabled models are unavailable and hidden from members."
    )
    is_default: bool = Field(
        default=False, description="Make it the default model (the previous default is cleared)."
    )
    context_limit: JsonInt = Field(description="The model's context window in tokens (> 0).")
    compression_threshold: JsonInt = Field(
        default=70,
        description="The percentage of `context_limit` (0 to 100) at which chats are compressed.",
    )
    options: ModelOptions | None = Field(
        default=None,
        description="Defaults merged under each request's fields (request values win).",
    )


class ModelUpdate(RequestBody):
    """Absent = unchanged. ``provider_config_id``: ``null`` unbinds, a uuid rebinds;
    ``options: null`` clears them."""

    family: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=64,
        description="A new family (re-binds automatically unless `provider_config_id` is given). "
        "Absent = unchanged.",
    )
    provider_config_id: str | None = Field(
        default=None,
        max_length=64,
        json_schema_extra=_UUID,
        description="Absent = unchanged; `null` = unbind; an id = rebind (validated as on create).",
    )
    model: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=256,
        description="The upstream model id, e.g. `gpt-4o-mini`. Absent = unchanged.",
    )
    name: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=_TEXT,
        description="A new name (1 to 128 printable characters without whitespace, never a UUID). "
        "Absent = unchanged.",
    )
    display_name: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=200,
        description="A name for people. Absent = unchanged.",
    )
    enabled: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="Disabled models are unavailable and hidden from members. Absent = unchanged.",
    )
    is_default: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="Make it the default model (the previous default is cleared). Absent = "
        "unchanged.",
    )
    context_limit: JsonInt | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="The model's context window in tokens (> 0). Absent = unchanged.",
    )
    compression_threshold: JsonInt | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="The percentage of `context_limit` (0 to 100) at which chats are compressed. "
        "Absent = unchanged.",
    )
    options: ModelOptions | None = Field(
        default=None, description="Replaces the options; `null` clears them. Absent = unchanged."
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The model config's id.")
    family: str = Field(description="The model's family.")
    provider_config_id: uuid.UUID | None = Field(
        description="The provider config it is bound to; null when unbound."
    )
    model: str = Field(description="The upstream model id, e.g. `gpt-4o-mini`.")
    name: str = Field(description="What clients send as `model`.")
    display_name: str = Field(description="A name for people.")
    enabled: bool = Field(description="Disabled models are unavailable and hidden from members.")
    is_default: bool = Field(description="It is the default model.")
    context_limit: int = Field(description="The model's context window in tokens (> 0).")
    compression_threshold: int = Field(
        description="The percentage of `context_limit` (0 to 100) at which chats are compressed."
    )
    options: dict[str, Any] = Field(description="The stored options (only those set).")
    created_at: datetime = Field(description="When it was created, in UTC (ISO 8601).")
    created_by: uuid.UUID | None = Field(
        description="Who created it; null for the CLI or the system."
    )
    updated_at: datetime = Field(description="When it last changed, in UTC (ISO 8601).")
    updated_by: uuid.UUID | None = Field(
        description="Who changed it last; null for the CLI or the system."
    )
