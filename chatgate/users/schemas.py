"""Bodies of the user and token endpoints (SPEC §14)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field
from pydantic.config import JsonDict

from chatgate.api.schemas import NOT_NULL, JsonInt, RequestBody, ResponseBody, not_null
from chatgate.authz import ROLE_NAMES

# Rules on values (a role outside the list, a username that is not one, an expiry out of
# range, control characters in names) are checked by ``chatgate.users.service`` and answer
# 400 with their own code (SPEC §3): the schema only describes them, so that a well-typed
# value reaches the rule instead of failing as a 422.
_ROLE: JsonDict = {"enum": list(ROLE_NAMES)}
MIN_EXPIRES_IN_DAYS = 1
MAX_EXPIRES_IN_DAYS = 3650


class UserCreate(RequestBody):
    username: str = Field(
        max_length=200, description="Lower-cased, then `[a-z0-9][a-z0-9._-]{0,63}`; unique."
    )
    role: str = Field(
        default="member",
        max_length=64,
        json_schema_extra=_ROLE,
        description="`admin`, `auditor` or `member` (`owner` cannot be granted: 403; any other "
        "value: 400 `role_invalid`).",
    )
    display_name: str = Field(
        default="", max_length=200, description="A name for people; may be empty."
    )


class UserUpdate(RequestBody):
    role: str | None = Field(
        default=None,
        max_length=64,
        json_schema_extra=not_null(_ROLE),
        description="The new role (`admin`, `auditor` or `member`; any other value: 400 "
        "`role_invalid`); absent = unchanged.",
    )
    disabled: bool | None = Field(
        json_schema_extra=NOT_NULL,
        default=None,
        description="`true` disables the user: their tokens stop working; absent = unchanged.",
    )
    display_name: str | None = Field(
        default=None, max_length=200, description="The new display name; absent = unchanged."
    )


class UserOut(ResponseBody):
    id: uuid.UUID = Field(description="The user's id.")
    username: str = Field(description="The unique, lower-case username.")
    display_name: str = Field(description="A name for people; may be empty.")
    role: str = Field(description="`owner`, `admin`, `auditor` or `member`.")
    disabled: bool = Field(description="A disabled user's tokens are refused.")
    created_at: datetime = Field(description="When the user was created, in UTC (ISO 8601).")
    updated_at: datetime = Field(description="When the user last changed, in UTC (ISO 8601).")


class TokenCreate(RequestBody):
    name: str = Field(
        max_length=100,
        json_schema_extra={"minLength": 1},
        description="What the token is for, e.g. the machine or script using it (trimmed; "
        "empty or with control characters: 400 `name_invalid`).",
    )
    expires_in_days: JsonInt | None = Field(
        default=None,
        json_schema_extra={"minimum": MIN_EXPIRES_IN_DAYS, "maximum": MAX_EXPIRES_IN_DAYS},
        description="Days until the token expires (1 to 3650; otherwise 400 "
        "`expires_in_days_invalid`); null or absent = never.",
    )


class TokenCreated(ResponseBody):
    id: uuid.UUID = Field(description="The token's id (to revoke it).")
    name: str = Field(description="The name given.")
    token: str = Field(description="The token (`cgt_…`): shown in this response only, never again.")
    expires_at: datetime | None = Field(
        description="When it expires, in UTC (ISO 8601); null = never."
    )


class TokenOut(ResponseBody):
    id: uuid.UUID = Field(description="The token's id.")
    user_id: uuid.UUID = Field(description="The user the token belongs to.")
    name: str = Field(description="What the token is for.")
    created_by: uuid.UUID | None = Field(
        description="Who created it (the user, or an admin); null when created by the CLI."
    )
    created_at: datetime = Field(description="When it was created, in UTC (ISO 8601).")
    last_used_at: datetime | None = Field(
        description="When it was last used (updated at most once a minute), in UTC (ISO 8601); "
        "null = never."
    )
    expires_at: datetime | None = Field(
        description="When it expires, in UTC (ISO 8601); null = never."
    )
