"""Bodies of the user and token endpoints (SPEC §14)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from chatgate.api.schemas import NulFreeRequestBody, ResponseBody

GrantableRole = Literal["owner", "admin", "auditor", "member"]


class UserCreate(NulFreeRequestBody):
    username: str = Field(max_length=200)
    role: GrantableRole = "member"
    display_name: str = Field(default="", max_length=200)


class UserUpdate(NulFreeRequestBody):
    role: GrantableRole | None = None
    disabled: bool | None = None
    display_name: str | None = Field(default=None, max_length=200)


class UserOut(ResponseBody):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    disabled: bool
    created_at: datetime
    updated_at: datetime


class TokenCreate(NulFreeRequestBody):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenCreated(ResponseBody):
    id: uuid.UUID
    name: str
    token: str
    expires_at: datetime | None


class TokenOut(ResponseBody):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
