"""Bodies of the provider-config endpoints (SPEC §3, §14). No field ever carries a key out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatgate.api.schemas import NOT_NULL, RequestBody

# Generous bounds only against abuse: rule checks (400) need the value to reach them.
_TEXT = 4096
_BASE_URL = 2048  # the column's length: a longer URL is over the field's limit (422)


_KEY = 1_048_576


class ProviderCreate(RequestBody):
    family: str = Field(
        max_length=64,
        description="The provider family (see `GET /api/v1/provider-families`), e.g. `openai`, "
        "`anthropic`.",
    )
    name: str | None = Field(
        default=None,
        max_length=_TEXT,
        description="A unique slug; absent = generated from the family (`openai`, `openai-2`, …).",
    )
    display_name: str = Field(
        default="",
        max_length=200,
        description="A name for people; may be empty (the family's is shown then).",
    )
    base_url: str = Field(
        default="",
        max_length=_BASE_URL,
        description="The upstream's absolute http(s) URL, without userinfo, query or fragment; "
        "empty = the family's default.",
    )
    api_key: str | None = Field(
        default=None,
        max_length=_KEY,
        repr=False,
        description="Becomes the first central pool key (label `primary`); never returned.",
    )
    enabled: bool = Field(
        default=True,
        description="A disabled config keeps everything, but its models are unavailable "
        "(`provider_disabled`).",
    )
    central_api_key_enabled: bool = Field(
        default=True,
        description="Requests may use the config's central keys (pool, or the deployment key).",
    )
    allow_user_api_key: bool = Field(
        default=False,
        description="Users may store their own key for this config (`/api/v1/me/provider-keys`).",
    )
    allow_central_api_key_fallback: bool = Field(
        default=False,
        description="A user without their own key falls back to the central key (needs both "
        "sources enabled).",
    )
    connect_timeout_s: float | None = Field(
        default=None, description="Seconds to connect upstream (> 0); null = the server default."
    )
    first_byte_timeout_s: float | None = Field(
        default=None,
        description="Seconds until the upstream's first byte (> 0); null = the server default.",
    )
    idle_timeout_s: float | None = Field(
        default=None,
        description="Seconds allowed between streamed chunks (> 0); null = the server default.",
    )


class ProviderUpdate(RequestBody):
    """Every field optional; absent = unchanged. ``api_key: null`` removes every stored
    central key; ``drop_keys`` acknowledges that an origin change deletes the keys."""

    family: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=64,
        description="Cannot change (400 `family_immutable`); the current value is accepted.",
    )
    name: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=_TEXT,
        description="A unique slug naming the config (e.g. in `x-chatgate-provider-config`). "
        "Absent = unchanged.",
    )
    display_name: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=200,
        description="A name for people; may be empty (the family's is shown then). Absent = "
        "unchanged.",
    )
    base_url: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=_BASE_URL,
        description='The upstream URL; `""` clears it (the family\'s default is used). Absent = '
        "unchanged.",
    )
    api_key: str | None = Field(
        default=None,
        max_length=_KEY,
        repr=False,
        description="Replaces the primary pool key (adds one to an empty pool); `null` removes "
        "every stored central key. Absent = unchanged.",
    )
    drop_keys: bool = Field(
        default=False,
        description="Acknowledges that changing the base URL's origin deletes the config's stored "
        "keys and its users' keys.",
    )
    enabled: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="A disabled config keeps everything, but its models are unavailable "
        "(`provider_disabled`). Absent = unchanged.",
    )
    central_api_key_enabled: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="Requests may use the config's central keys (pool, or the deployment key). "
        "Absent = unchanged.",
    )
    allow_user_api_key: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="Users may store their own key for this config (`/api/v1/me/provider-keys`). "
        "Absent = unchanged.",
    )
    allow_central_api_key_fallback: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="A user without their own key falls back to the central key (needs both "
        "sources enabled). Absent = unchanged.",
    )
    connect_timeout_s: float | None = Field(
        default=None,
        description="Seconds to connect upstream (> 0); null = the server default. Absent = "
        "unchanged.",
    )
    first_byte_timeout_s: float | None = Field(
        default=None,
        description="Seconds until the upstream's first byte (> 0); null = the server default. "
        "Absent = unchanged.",
    )
    idle_timeout_s: float | None = Field(
        default=None,
        description="Seconds allowed between streamed chunks (> 0); null = the server default. "
        "Absent = unchanged.",
    )


class ProviderOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(description="The config's id; null for a deployment entry.")
    source: Literal["database", "deployment"] = Field(
        description="`database`, or `deployment`: a read-only entry for a family with a deployment "
        "key and no config."
    )
    family: str = Field(
        description="The provider family (see `GET /api/v1/provider-families`), e.g. `openai`, "
        "`anthropic`."
    )
    name: str = Field(
        description="A unique slug naming the config (e.g. in `x-chatgate-provider-config`)."
    )
    display_name: str = Field(
        description="A name for people; may be empty (the family's is shown then)."
    )
    base_url: str = Field(
        description='The stored base URL; `""` when the family\'s default is used.'
    )
    effective_base_url: str | None = Field(
        description="The URL actually used (the stored one, or the family's default); null when "
        "there is none."
    )
    enabled: bool = Field(
        description="A disabled config keeps everything, but its models are unavailable "
        "(`provider_disabled`)."
    )
    central_api_key_enabled: bool = Field(
        description="Requests may use the config's central keys (pool, or the deployment key)."
    )
    allow_user_api_key: bool = Field(
        description="Users may store their own key for this config (`/api/v1/me/provider-keys`)."
    )
    allow_central_api_key_fallback: bool = Field(
        description="A user without their own key falls back to the central key (needs both "
        "sources enabled)."
    )
    has_api_key: bool = Field(description="The config has at least one enabled stored central key.")
    has_effective_api_key: bool = Field(
        description="Central keys are enabled and a usable one exists (stored, or the family's "
        "deployment key when `base_url` is empty)."
    )
    key_count: int = Field(description="How many central keys the pool holds (enabled or not).")
    connect_timeout_s: float | None = Field(
        description="Seconds to connect upstream; null = the server default."
    )
    first_byte_timeout_s: float | None = Field(
        description="Seconds until the upstream's first byte; null = the server default."
    )
    idle_timeout_s: float | None = Field(
        description="Seconds allowed between streamed chunks; null = the server default."
    )
    created_at: datetime | None = Field(
        description="When the config was created, in UTC (ISO 8601); null for a deployment entry."
    )
    created_by: uuid.UUID | None = Field(
        description="Who created it; null for a deployment entry or the CLI."
    )
    updated_at: datetime | None = Field(
        description="When it last changed, in UTC (ISO 8601); null for a deployment entry."
    )
    updated_by: uuid.UUID | None = Field(
        description="Who changed it last; null for a deployment entry or the CLI."
    )


class ProviderFamilyOut(BaseModel):
    family: str = Field(description="The family's identifier, as `family` takes it.")
    display_name: str = Field(description="The family's name for people.")
    default_base_url: str | None = Field(
        description="The base URL used when a config leaves `base_url` empty; null when the family "
        "has none."
    )
    has_deployment_key: bool = Field(
        description="The deployment's environment provides a key for this family."
    )


class ImpactedModel(BaseModel):
    id: uuid.UUID = Field(description="The model config's id.")
    name: str = Field(description="The model config's name.")
    display_name: str = Field(description="Its name for people.")
    family: str = Field(description="Its family.")
    model: str = Field(description="The upstream model id.")
    provider_config_id: uuid.UUID | None = Field(
        description="The provider config it is bound to; null when unbound."
    )
    is_default: bool = Field(description="It is the default model.")
    reason: Literal["bound", "family_unusable"] = Field(
        description="`bound`: bound to the deleted config; `family_unusable`: unbound, and its "
        "family would have no usable config or deployment key left."
    )


class DeleteImpact(BaseModel):
    model_configs: list[ImpactedModel] = Field(
        description="The model configs the delete would soft-delete."
    )
    new_default_model_config_id: uuid.UUID | None = Field(
        description="The model config that would become the default; null when the default does "
        "not change."
    )
    user_keys_removed: int = Field(description="How many users' keys the delete would remove.")


_LABEL = 100  # the column's length


class ProviderKeyCreate(RequestBody):
    api_key: str = Field(
        max_length=_KEY,
        repr=False,
        description="The key; never returned (only a hint of its last 4 characters).",
    )
    label: str = Field(
        default="",
        max_length=_LABEL,
        description="A name for people, e.g. the account the key belongs to.",
    )
    enabled: bool = Field(default=True, description="Disabled keys are kept but never used.")


class ProviderKeyUpdate(RequestBody):
    """Every field optional; absent = unchanged (none of them may be ``null``). A new
    ``api_key`` or ``enabled: true`` resets the key to ``active``."""

    label: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=_LABEL,
        description="The new label; absent = unchanged.",
    )
    enabled: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="Enable or disable the key; `true` also resets an invalid key to `active`. "
        "Absent = unchanged.",
    )
    api_key: str | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        max_length=_KEY,
        repr=False,
        description="Replaces the key's secret and resets it to `active`; absent = unchanged.",
    )


class ProviderKeyOut(BaseModel):
    """A pool key without its secret: only the hint computed when it was stored."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="The key's id.")
    label: str = Field(description="A name for people.")
    hint: str | None = Field(
        description="The key's last 4 characters when it has at least 16; else null."
    )
    enabled: bool = Field(description="Disabled keys are never used.")
    state: Literal["active", "cooling_down", "invalid", "disabled"] = Field(
        description="`active`; `cooling_down` after a 429/402 for one upstream model (until "
        "`cooldown_until`, for `cooldown_model`; seen by every chatgate process); `invalid` "
        "after the upstream answered 401 (until replaced or re-enabled); `disabled` when an "
        "admin turned it off."
    )
    cooldown_until: datetime | None = Field(
        description="When a cooling-down key is ready again, in UTC (ISO 8601); else null. "
        "With several models cooling down, the latest end."
    )
    cooldown_model: str | None = Field(
        default=None,
        description="The upstream model whose 429/402 cooled the key down; else null.",
    )
    last_error: str | None = Field(
        description="Why the key became invalid (the upstream's message, key removed); else null."
    )
    last_used_at: datetime | None = Field(
        description="When the gateway last used it, in UTC (ISO 8601); null = never."
    )
    created_at: datetime = Field(description="When it was added, in UTC (ISO 8601).")


# -- connection tests (SPEC §8) --------------------------------------------------------------


class ProviderTest(RequestBody):
    key_id: uuid.UUID | None = Field(
        default=None,
        strict=False,
        description="Test only this pool key (even a disabled one); absent = every enabled key.",
    )


class ProviderTestUnsaved(RequestBody):
    family: str = Field(max_length=64, description="The provider family to test, e.g. `openai`.")
    base_url: str = Field(
        default="",
        max_length=_BASE_URL,
        description="The upstream's base URL as it would be saved; empty = the family's default.",
    )
    api_key: str = Field(
        max_length=_KEY,
        repr=False,
        description="The key to test; used for this one call, never stored nor returned.",
    )


class KeyTestOut(BaseModel):
    id: uuid.UUID | None = Field(
        description="The pool key tested; null when testing unsaved settings."
    )
    ok: bool = Field(description="Whether the upstream accepted the key.")
    status: int | None = Field(
        description="The upstream's HTTP status; null when it could not be reached."
    )
    message: str = Field(
        description="What happened: the upstream's own error message (at most 1 KiB, the key "
        "removed), a connection failure, or a hint such as a base URL missing `/v1`."
    )


class ConnectionTestOut(BaseModel):
    """The outcome of a connection test. Testing never changes a key's state."""

    ok: bool = Field(description="True when every key tested works (false when none was tested).")
    keys: list[KeyTestOut] = Field(description="One entry per key tested, in pool order.")
