"""Cursor pagination of unbounded lists (SPEC §14).

``limit`` defaults to 50 (at most 500; more is 422). A cursor is opaque to clients: the
position after the last row sent, plus the filters of the list it came from — sent with
different filters it answers 400 ``cursor_mismatch``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import orjson
from fastapi import Query

from chatgate.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description="At most this many items (1 to 500, default 50)."),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="`next_cursor` of the previous page; send the same filters with it.",
    ),
]


def encode_cursor(position: list[str], filters: dict[str, Any]) -> str:
    raw = orjson.dumps({"p": position, "f": filters}, option=orjson.OPT_SORT_KEYS)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, filters: dict[str, Any]) -> list[str]:
    """The position a cursor carries; 400 when it is not one of ours or its filters differ."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = orjson.loads(raw)
        position = document["p"]
        carried = document["f"]
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise ApiError(
            400, "cursor_invalid", "cursor: not a cursor this list gave", {"field": "cursor"}
        ) from None
    if (
        not isinstance(position, list)
        or not all(isinstance(p, str) for p in position)
        or not isinstance(carried, dict)
    ):
        raise ApiError(
            400, "cursor_invalid", "cursor: not a cursor this list gave", {"field": "cursor"}
        )
    if carried != filters:
        raise ApiError(
            400,
            "cursor_mismatch",
            "cursor: it was issued for different filters; send the same filters or no cursor",
            {"field": "cursor"},
        )
    return position
