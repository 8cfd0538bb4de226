"""Body of ``GET /api/v1/me/models`` (SPEC §14)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from chatgate.resolve import UnavailableReason


class MyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="The model config's id.")
    name: str = Field(description="What to send as `model` to `/v1/chat/completions`.")
    display_name: str = Field(description="A name for people.")
    family: str = Field(description="The provider family.")
    model: str = Field(description="The upstream model id.")
    provider_config_id: uuid.UUID | None = Field(
        description="The provider config it is bound to; null when unbound."
    )
    is_default: bool = Field(description="It is the default model.")
    available: bool = Field(description="You can use it now.")
    unavailable_reason: UnavailableReason | None = Field(
        description="Why not, when `available` is false (e.g. `user_api_key_required`, "
        "`provider_disabled`, `missing_api_key`); else null."
    )
    # Admins and auditors only (members see enabled models only, so the field is left out
    # of their entries).
    enabled: bool | None = Field(
        default=None,
        description="Admins and auditors only: whether the model is enabled (absent for members).",
    )
