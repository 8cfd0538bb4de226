"""What the attempt loop hands back to the ASGI endpoint."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JsonReply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


@dataclass(slots=True)
class StreamReply:
    headers: list[tuple[bytes, bytes]]
    first: bytes
    rest: AsyncGenerator[bytes, None]  # closed by the endpoint, which closes the upstream
    # Which attempt answered: the provider config (None for a deployment key without a
    # config) and the key source; chats store them with the reply (SPEC §10).
    provider_config_id: uuid.UUID | None = None
    key_source: str | None = None
