"""The configuration document and the bodies of ``/api/v1/config`` (SPEC §12, §14).

The document identifies providers and models by ``name`` and keys by ``label`` within their
provider. A field marked optional in the contract (timeouts, ``options``, a key's
``api_key``) may be left out: absent means "keep what is stored" for an existing object and
"nothing" for a new one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from chatgate.api.schemas import JsonInt, RequestBody
from chatgate.models.options import ModelOptions

_TEXT = 4096
_BASE_URL = 2048
_KEY = 1_048_576
MAX_ITEMS = 1000


class KeyEntry(RequestBody):
    label: str = Field(
        max_length=100,
        description="Identifies the key within its provider (trimmed; must not be empty).",
    )
    api_key: str | None = Field(
        default=None,
        max_length=_KEY,
        repr=False,
        description="The secret (plan/apply), or in an exported document the reference "
        "`env:CHATGATE_KEY_<PROVIDER>_<LABEL>` (`_2`, `_3` … when two keys would share "
        "one). Absent: keep the stored secret (required for a new key). Never echoed.",
    )
    enabled: bool = Field(default=True, description="Whether the pool may use the key.")


class ProviderEntry(RequestBody):
    name: str = Field(max_length=_TEXT, description="Identifies the provider config.")
    family: str = Field(max_length=64, description="The provider family; cannot change.")
    display_name: str = Field(default="", max_length=200, description="A name for people.")
    base_url: str = Field(
        default="", max_length=_BASE_URL, description="Empty = the family's default."
    )
    enabled: bool = Field(default=True, description="A disabled config keeps everything.")
    central_api_key_enabled: bool = Field(default=True, description="Central keys are used.")
    allow_user_api_key: bool = Field(default=False, description="Users may bring their own key.")
    allow_central_api_key_fallback: bool = Field(
        default=False, description="Users without their own key fall back to the central key."
    )
    connect_timeout_s: float | None = Field(
        default=None, description="Seconds (> 0); null = the server default; absent = keep."
    )
    first_byte_timeout_s: float | None = Field(
        default=None, description="Seconds (> 0); null = the server default; absent = keep."
    )
    idle_timeout_s: float | None = Field(
        default=None, description="Seconds (> 0); null = the server default; absent = keep."
    )
    keys: list[KeyEntry] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="The central key pool, in order."
    )


class ModelEntry(RequestBody):
    name: str = Field(max_length=_TEXT, description="Identifies the model config.")
    model: str = Field(max_length=256, description="The upstream model id.")
    family: str = Field(max_length=64, description="The model's family.")
    display_name: str = Field(default="", max_length=200, description="A name for people.")
    provider: str | None = Field(
        max_length=_TEXT,
        description="The name of the provider config it is bound to; null = unbound.",
    )
    enabled: bool = Field(default=True, description="Disabled models are unavailable.")
    context_limit: JsonInt = Field(description="The context window in tokens (> 0).")
    compression_threshold: JsonInt = Field(
        default=70, description="Percentage of `context_limit` (0 to 100)."
    )
    options: ModelOptions | None = Field(
        default=None, description="Call defaults; absent = keep the stored ones (none when new)."
    )

    @field_serializer("options")
    def _only_set_options(self, options: ModelOptions | None) -> dict[str, Any] | None:
        return None if options is None else options.stored()


class ConfigDocument(RequestBody):
    version: Literal[1] = Field(description="The document format's version: 1.")
    providers: list[ProviderEntry] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Provider configs, identified by `name`; in precedence order within a family.",
    )
    models: list[ModelEntry] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Model configs, identified by `name`.",
    )
    default_model: str | None = Field(
        default=None, max_length=_TEXT, description="The default model's name; null = keep."
    )
    chat_retention_days: JsonInt | None = Field(
        default=None, description="Days archived chats are kept (0..3650); null = keep."
    )


class ConfigRequest(RequestBody):
    document: ConfigDocument = Field(description="The desired configuration.")
    prune: bool = Field(
        default=False,
        description="Delete providers, keys and models the document does not name (with "
        "their cascades).",
    )
    allow_user_key_loss: bool = Field(
        default=False,
        description="Accept that deleting a provider config (or moving its base URL to "
        "another origin) removes users' own keys; otherwise 409 `user_key_loss`.",
    )


class ExportOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: ConfigDocument = Field(
        description="The configuration; secrets appear only as `env:` references."
    )


ChangeAction = Literal["create", "update", "delete"]
ChangeKind = Literal[
    "provider", "provider_key", "model", "default_model", "chat_retention_days", "user_keys"
]


class ConfigChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: ChangeAction = Field(description="`create`, `update` or `delete`.")
    kind: ChangeKind = Field(description="What changes.")
    name: str = Field(
        description="The object's name (`<provider>/<label>` for a key; the provider's name "
        "for `user_keys`)."
    )
    fields: list[str] = Field(description="Changed fields of an update; else empty.")
    cascade: bool = Field(description="A consequence of another change.")
    detail: str = Field(description="A sentence for people.")


class ChangesOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: list[ConfigChange] = Field(
        description="Providers with their keys and user keys, models, the default model, "
        "retention; each by name."
    )
