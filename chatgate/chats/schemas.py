"""Bodies of the chat and retention endpoints (SPEC §10, §14)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from chatgate.api.schemas import NulFreeRequestBody, RequestBody, ResponseBody

TITLE_MAX = 200
CONTENT_MAX = 1_000_000


class ChatCreate(NulFreeRequestBody):
    model_config_id: uuid.UUID | None = Field(
        default=None,
        strict=False,
        description="The model config to chat with; absent = the default model.",
    )
    title: str = Field(default="", max_length=TITLE_MAX, description="A title; may be empty.")


class ChatUpdate(NulFreeRequestBody):
    title: str | None = Field(
        default=None, max_length=TITLE_MAX, description="The new title; absent = unchanged."
    )
    archived: bool | None = Field(
        default=None,
        description="`true` archives the chat (archived chats are purged after the retention "
        "window); absent = unchanged.",
    )
    model_config_id: uuid.UUID | None = Field(
        default=None,
        strict=False,
        description="The model config for the next replies; absent = unchanged.",
    )


class ChatOut(ResponseBody):
    id: uuid.UUID = Field(description="The chat's id.")
    title: str = Field(description="The chat's title (may be empty).")
    model_config_id: uuid.UUID | None = Field(description="The model config that answers.")
    archived: bool = Field(description="Archived chats are purged after the retention window.")
    created_at: datetime = Field(description="When the chat was created.")
    updated_at: datetime = Field(description="When the chat last changed (a message, a patch).")


class ChatPage(BaseModel):
    items: list[ChatOut] = Field(description="Newest first by `updated_at`, then id.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class MessageCreate(NulFreeRequestBody):
    content: str = Field(
        min_length=1, max_length=CONTENT_MAX, description="The user's message (not empty)."
    )


class MessageUsage(BaseModel):
    input_tokens: int | None = Field(description="Tokens the upstream counted as input.")
    output_tokens: int | None = Field(description="Tokens the upstream counted as output.")


class MessageOut(BaseModel):
    id: uuid.UUID = Field(description="The message's id.")
    role: str = Field(description="`user` or `assistant`.")
    content: str = Field(description="The text (for a `partial` reply: the text received).")
    status: str = Field(
        description="`complete`; `partial` (the client left or the upstream failed after some "
        "text); `error` (the upstream failed before any text)."
    )
    model_config_id: uuid.UUID | None = Field(description="The model config that answered.")
    provider_config_id: uuid.UUID | None = Field(
        description="The provider config that answered (null for a user message, or a "
        "deployment key without a config)."
    )
    key_source: str | None = Field(description="`user`, `central` or `deployment`; null if none.")
    usage: MessageUsage | None = Field(description="Token usage of a reply, when known.")
    created_at: datetime = Field(description="When the message was stored.")


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="Oldest first by `created_at`, then id.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class RetentionOut(BaseModel):
    retention_days: int = Field(
        description="Archived chats not updated for this many days are purged; 0 = never."
    )


class RetentionPut(RequestBody):
    retention_days: int = Field(description="0..3650 (0 disables purging).")
