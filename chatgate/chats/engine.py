"""What chats need from the gateway, as an interface (the gateway implements it in
``chatgate.gateway.chat_replies``; this package never imports ``gateway``).

A reply goes through the gateway's own path — model visibility, availability (§5, §6),
the attempt loop with failover, the adapters and usage recording (§9) — so chats and
``/v1/chat/completions`` cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ReplyModel:
    """The model config that answers a chat, as the gateway's snapshot has it."""

    id: uuid.UUID
    name: str
    context_limit: int
    compression_threshold: int


@dataclass(frozen=True, slots=True)
class ReplyFailure:
    """Why a reply failed: the gateway's status and code (§9), a message for people."""

    status: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ReplyEnd:
    """The last item of a reply: which config and key source answered, the usage, and the
    failure when there was one."""

    provider_config_id: uuid.UUID | None
    key_source: str | None
    input_tokens: int | None
    output_tokens: int | None
    failure: ReplyFailure | None


class ReplyRefused(Exception):
    """The model cannot answer this user now (unknown, invisible or unavailable)."""

    def __init__(self, failure: ReplyFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class PreparedReply(Protocol):
    """A model checked as available for one user; opaque to chats."""

    @property
    def model(self) -> ReplyModel: ...


class ReplyEngine(Protocol):
    async def visible_model(
        self, user_id: uuid.UUID, model_config_id: uuid.UUID
    ) -> ReplyModel | None:
        """The enabled, live model when ``user_id`` may see it (§6), else None."""
        ...

    async def default_model(self, user_id: uuid.UUID) -> ReplyModel | bool | None:
        """The default model when visible to the user; None when there is no default;
        False when there is one the user may not see."""
        ...

    async def prepare(
        self, user_id: uuid.UUID, model_config_id: uuid.UUID, request_id: str
    ) -> PreparedReply:
        """Raises ``ReplyRefused`` with the gateway's status and code when the model is
        unknown to the user or unavailable (the refusal is recorded in usage)."""
        ...

    def run(
        self, prepared: PreparedReply, messages: list[dict[str, Any]], request_id: str
    ) -> AsyncGenerator[str | ReplyEnd, None]:
        """The reply: text pieces, then one ``ReplyEnd``. Closing the generator early
        closes the upstream request."""
        ...
