"""Request bodies of the session endpoints."""

from __future__ import annotations

from pydantic import Field

from chatgate.api.schemas import RequestBody


class SessionCreate(RequestBody):
    # No minimum length: an empty token is a token that signs nobody in (401), like any
    # other wrong one, not a malformed body.
    token: str = Field(
        max_length=512,
        repr=False,
        description="A chatgate token (`cgt_…`); the session acts as its user while it lives.",
    )
