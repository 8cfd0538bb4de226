"""Cursor pagination of lists that grow without bound (SPEC §14).

A cursor is opaque to clients: base64url JSON of the filters it was issued for and the
sort key of the last item served (``created_at``, ``id``). Sending it with other filters is
400 ``cursor_mismatch`` (the next page would silently belong to a different list); a cursor
that does not decode is 400 ``cursor_invalid``. ``limit`` is not a filter: a client may
change its page size between pages.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

import orjson
from fastapi import Query

from chatgate.errors import ApiError

DEFAULT_LIMIT: Final[int] = 50
MAX_LIMIT: Final[int] = 500
_VERSION: Final[int] = 1


_LIMIT_DESCRIPTION = f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."
_CURSOR_DESCRIPTION = "`next_cursor` of the previous page; send it with the same filters."
_CURSOR_MAX_LENGTH = 2048


def limit_query() -> Any:
    """The ``limit`` parameter of every paginated list: over 500 is 422."""
    return Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=_LIMIT_DESCRIPTION)


def cursor_query() -> Any:
    return Query(None, max_length=_CURSOR_MAX_LENGTH, description=_CURSOR_DESCRIPTION)


# The same parameters as annotations, for ``limit: Limit = DEFAULT_LIMIT``.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=_LIMIT_DESCRIPTION)]
Cursor = Annotated[
    str | None, Query(max_length=_CURSOR_MAX_LENGTH, description=_CURSOR_DESCRIPTION)
]


@dataclass(frozen=True, slots=True)
class Position:
    """The sort key of the last item of a page (its time — ``created_at``, or a chat's
    ``updated_at`` — and id): the next page starts after it."""

    created_at: datetime
    id: uuid.UUID


def encode_cursor(filters: Mapping[str, str | None], after: Position) -> str:
    document = {
        "v": _VERSION,
        "f": dict(sorted(filters.items())),
        "t": after.created_at.isoformat(),
        "i": str(after.id),
    }
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode().rstrip("=")


def _invalid() -> ApiError:
    return ApiError(400, "cursor_invalid", "the cursor is not one this list issued", None)


def decode_cursor(cursor: str, filters: Mapping[str, str | None]) -> Position:
    """The position a cursor resumes after; 400 when it was issued for other filters."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = orjson.loads(raw)
        if not isinstance(document, dict) or document.get("v") != _VERSION:
            raise _invalid()
        issued_for = document["f"]
        created_at = datetime.fromisoformat(document["t"])
        item_id = uuid.UUID(document["i"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise _invalid() from None
    if created_at.tzinfo is None:
        raise _invalid()
    if issued_for != dict(sorted(filters.items())):
        raise ApiError(
            400,
            "cursor_mismatch",
            "the cursor was issued for other filters; repeat the same filters, or start "
            "again without a cursor",
            {"field": "cursor"},
        )
    return Position(created_at, item_id)
