"""Request bodies of the session endpoints."""

from __future__ import annotations

from pydantic import Field

from chatgate.api.schemas import RequestBody


class SessionCreate(RequestBody):
    token: str = Field(
        min_length=1,
        max_length=512,
        repr=False,
        description="A chatgate token (`cgt_…`); the session acts as its user while it lives.",
    )
