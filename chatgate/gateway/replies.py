"""What the attempt loop hands back to the ASGI endpoint."""

from __future__ import annotations

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
