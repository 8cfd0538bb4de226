"""Bodies of the audit-log endpoint (SPEC §14)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from chatgate.api.schemas import ResponseBody


class AuditEntryOut(ResponseBody):
    """One state change, as recorded in the transaction that made it."""

    id: uuid.UUID = Field(description="The entry's id (UUIDv7).")
    created_at: datetime = Field(description="When the change was committed (UTC).")
    actor_id: uuid.UUID | None = Field(
        description="The user who made the change; null for the system and the CLI's own actions."
    )
    actor_username: str | None = Field(
        description="That user's username, or null when there is no actor or the user was "
        "deleted since."
    )
    source: str = Field(
        description="Where the change came from: `api`, `cli`, `ui`, `config-apply` or `system`."
    )
    action: str = Field(description="What happened, e.g. `provider_config.update`, `user.create`.")
    target_type: str = Field(
        description="The kind of thing changed: `user`, `api_token`, `provider_config`, "
        "`provider_key`, `model_config`, `user_provider_key`, `setting`."
    )
    target_id: str | None = Field(description="The id of the thing changed.")
    before: dict[str, Any] | None = Field(
        description="Its fields before the change (null for a creation). Secrets are "
        'replaced by `"<redacted>"`; a key shows only its hint.'
    )
    after: dict[str, Any] | None = Field(
        description="Its fields after the change (null for a deletion), redacted likewise."
    )


class AuditPage(ResponseBody):
    """One page of the audit log, newest first."""

    items: list[AuditEntryOut] = Field(description="The entries of this page, newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null on "
        "the last page."
    )
