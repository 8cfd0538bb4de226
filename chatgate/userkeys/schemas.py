"""Bodies of ``/api/v1/me/provider-keys`` (SPEC §6, §14). No field ever carries a key out."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from chatgate.api.schemas import RequestBody

# A generous bound against abuse only: the 10,240-byte rule is a 400 (``api_key_invalid``),
# so the value has to reach it.
_MAX_KEY_CHARS = 1_048_576


class UserKeyPut(RequestBody):
    api_key: str = Field(
        max_length=_MAX_KEY_CHARS,
        repr=False,
        description="Your key for this provider config (trimmed; at most 10,240 bytes); never "
        "returned.",
    )


class ProviderKeyEntry(BaseModel):
    """One provider config the caller may (or still does) hold a key for."""

    model_config = ConfigDict(extra="forbid")

    provider_config_id: uuid.UUID = Field(
        description="The provider config's id (the path parameter of PUT/DELETE)."
    )
    family: str = Field(description="The config's family.")
    name: str = Field(description="The config's name.")
    # The config's display name, or the family's when the config has none (§3).
    display_name: str = Field(
        description="The config's display name, or the family's when it has none."
    )
    has_user_api_key: bool = Field(description="You have stored a key for this config.")
    # The last 4 characters of the caller's own key when it has at least 16, else null.
    api_key_hint: str | None = Field(
        description="The last 4 characters of your key when it has at least 16; else null."
    )
    # Fallback allowed and the config has an effective central key (§6).
    has_central_api_key_fallback: bool = Field(
        description="Without your key, requests fall back to the config's central key."
    )
    # False when the config is disabled or no longer allows user keys: the key is kept
    # (and unused) until the user removes it.
    usable: bool = Field(
        description="False when the config is disabled or no longer allows user keys: your key is "
        "kept, unused, until you remove it."
    )
