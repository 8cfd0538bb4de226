"""Bodies of the model-config endpoints (SPEC §4, §14)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatgate.api.schemas import RequestBody
from chatgate.models.options import ModelOptions
from chatgate.validation import refuse_nul

_TEXT = 4096


class ModelCreate(RequestBody):
    """``provider_config_id``: absent = auto-bind; ``null`` = unbound; a uuid = bind."""

    family: str | None = Field(default=None, max_length=64)
    provider_config_id: uuid.UUID | None = Field(default=None, strict=False)
    model: str = Field(max_length=256)
    name: str | None = Field(default=None, max_length=_TEXT)
    display_name: str = Field(default="", max_length=200)
    enabled: bool = True
    is_default: bool = False
    context_limit: int
    compression_threshold: int = 70
    options: ModelOptions | None = None

    _display_name_without_nul = field_validator("display_name")(refuse_nul)


class ModelUpdate(RequestBody):
    """Absent = unchanged. ``provider_config_id``: ``null`` unbinds, a uuid rebinds;
    ``options: null`` clears them."""

    family: str | None = Field(default=None, max_length=64)
    provider_config_id: uuid.UUID | None = Field(default=None, strict=False)
    model: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=_TEXT)
    display_name: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    is_default: bool | None = None
    context_limit: int | None = None
    compression_threshold: int | None = None
    options: ModelOptions | None = None

    _display_name_without_nul = field_validator("display_name")(refuse_nul)


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    family: str
    provider_config_id: uuid.UUID | None
    model: str
    name: str
    display_name: str
    enabled: bool
    is_default: bool
    context_limit: int
    compression_threshold: int
    options: dict[str, Any]
    created_at: datetime
    created_by: uuid.UUID | None
    updated_at: datetime
    updated_by: uuid.UUID | None
