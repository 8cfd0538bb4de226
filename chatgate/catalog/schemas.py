"""Body of ``GET /api/v1/me/models`` (SPEC §14)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from chatgate.resolve import UnavailableReason


class MyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str
    display_name: str
    family: str
    model: str
    provider_config_id: uuid.UUID | None
    is_default: bool
    available: bool
    unavailable_reason: UnavailableReason | None
    # Admins and auditors only (members see enabled models only, so the field is left out
    # of their entries).
    enabled: bool | None = Field(default=None)
