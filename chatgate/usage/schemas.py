"""Bodies of the usage endpoint (SPEC §14)."""

from __future__ import annotations

import uuid

from pydantic import Field

from chatgate.api.schemas import ResponseBody


class UsageGroupOut(ResponseBody):
    """Totals of one group. Only the fields of the requested grouping are present:
    `user_id, username` (`user`), `model_config_id, name` (`model`), `provider_config_id,
    name` (`provider_config`), `key_source, key_id` (`key`), `day` (`day`)."""

    user_id: uuid.UUID | None = Field(
        default=None, description="`group_by=user`: the user (null: requests without one)."
    )
    username: str | None = Field(
        default=None, description="`group_by=user`: the username (null once deleted)."
    )
    model_config_id: uuid.UUID | None = Field(
        default=None,
        description="`group_by=model`: the model config (null: requests naming no known model).",
    )
    provider_config_id: uuid.UUID | None = Field(
        default=None,
        description="`group_by=provider_config`: the provider config (null: refused before "
        "one was chosen).",
    )
    name: str | None = Field(
        default=None,
        description="`group_by=model` or `provider_config`: its `name` (null once the row is "
        "gone).",
    )
    key_source: str | None = Field(
        default=None,
        description="`group_by=key`: `central`, `user` or `deployment` (null: no key was used).",
    )
    key_id: uuid.UUID | None = Field(
        default=None,
        description="`group_by=key`: the central pool key (null for user and deployment keys).",
    )
    day: str | None = Field(
        default=None,
        description="`group_by=day`: the UTC day, `YYYY-MM-DD` (days without usage are absent).",
    )
    requests: int = Field(description="Client requests (distinct request ids) in the group.")
    attempts: int = Field(
        description="Upstream attempts: a request that failed over counts several."
    )
    errors: int = Field(description="Failed attempts, plus requests refused before any attempt.")
    input_tokens: int = Field(description="Input (prompt) tokens the upstreams reported.")
    output_tokens: int = Field(description="Output (completion) tokens the upstreams reported.")
    p50_latency_ms: float | None = Field(
        description="Median latency of the attempts in milliseconds (the mean of the two "
        "middle values for an even count): exact for windows up to a day and for a member's "
        "own usage, within about 1 % over wider windows (read from rollups); null without "
        "attempts."
    )
