"""Bodies of the provider-config endpoints (SPEC §3, §14). No field ever carries a key out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatgate.api.schemas import RequestBody
from chatgate.validation import refuse_nul

# Generous bounds only against abuse: rule checks (400) need the value to reach them.
_TEXT = 4096
_BASE_URL = 2048  # the column's length: a longer URL is over the field's limit (422)


_KEY = 1_048_576


class ProviderCreate(RequestBody):
    family: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=_TEXT)
    display_name: str = Field(default="", max_length=200)
    base_url: str = Field(default="", max_length=_BASE_URL)
    api_key: str | None = Field(default=None, max_length=_KEY, repr=False)
    enabled: bool = True
    central_api_key_enabled: bool = True
    allow_user_api_key: bool = False
    allow_central_api_key_fallback: bool = False
    connect_timeout_s: float | None = None
    first_byte_timeout_s: float | None = None
    idle_timeout_s: float | None = None

    _display_name_without_nul = field_validator("display_name")(refuse_nul)


class ProviderUpdate(RequestBody):
    """Every field optional; absent = unchanged. ``api_key: null`` removes every stored
    central key; ``drop_keys`` acknowledges that an origin change deletes the keys."""

    family: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=_TEXT)
    display_name: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=_BASE_URL)
    api_key: str | None = Field(default=None, max_length=_KEY, repr=False)
    drop_keys: bool = False
    enabled: bool | None = None
    central_api_key_enabled: bool | None = None
    allow_user_api_key: bool | None = None
    allow_central_api_key_fallback: bool | None = None
    connect_timeout_s: float | None = None
    first_byte_timeout_s: float | None = None
    idle_timeout_s: float | None = None

    _display_name_without_nul = field_validator("display_name")(refuse_nul)


class ProviderOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None
    source: Literal["database", "deployment"]
    family: str
    name: str
    display_name: str
    base_url: str
    effective_base_url: str | None
    enabled: bool
    central_api_key_enabled: bool
    allow_user_api_key: bool
    allow_central_api_key_fallback: bool
    has_api_key: bool
    has_effective_api_key: bool
    key_count: int
    connect_timeout_s: float | None
    first_byte_timeout_s: float | None
    idle_timeout_s: float | None
    created_at: datetime | None
    created_by: uuid.UUID | None
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class ProviderFamilyOut(BaseModel):
    family: str
    display_name: str
    default_base_url: str | None
    has_deployment_key: bool


class ImpactedModel(BaseModel):
    id: uuid.UUID
    name: str
    display_name: str
    family: str
    model: str
    provider_config_id: uuid.UUID | None
    is_default: bool
    reason: Literal["bound", "family_unusable"]


class DeleteImpact(BaseModel):
    model_configs: list[ImpactedModel]
    new_default_model_config_id: uuid.UUID | None
    user_keys_removed: int


_LABEL = 100  # the column's length


class ProviderKeyCreate(RequestBody):
    api_key: str = Field(max_length=_KEY, repr=False)
    label: str = Field(default="", max_length=_LABEL)
    enabled: bool = True

    _label_without_nul = field_validator("label")(refuse_nul)


class ProviderKeyUpdate(RequestBody):
    """Every field optional; absent = unchanged (none of them may be ``null``). A new
    ``api_key`` or ``enabled: true`` resets the key to ``active`` (SPEC §8)."""

    label: str | None = Field(default=None, max_length=_LABEL)
    enabled: bool | None = None
    api_key: str | None = Field(default=None, max_length=_KEY, repr=False)

    _label_without_nul = field_validator("label")(refuse_nul)


class ProviderKeyOut(BaseModel):
    """A pool key without its secret: only the hint computed when it was stored."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    label: str
    hint: str | None
    enabled: bool
    state: Literal["active", "cooling_down", "invalid"]
    cooldown_until: datetime | None
    last_error: str | None
    last_used_at: datetime | None
    created_at: datetime
