"""Input checks shared by several domains (provider and model configs, user keys).

Pure functions over request values; a failure is a 4xx that names the field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from chatgate.errors import bad_request, invalid_request
from chatgate.families import FAMILIES, normalize_family


def refuse_nul(value: str | None) -> str | None:
    """U+0000 cannot be stored in PostgreSQL text (the write would fail with a 500) and
    SQLite would keep it: a 422 naming the field on both. Fields whose rule gives a code of
    its own (names, base URLs, keys, model ids) reject it there instead."""
    if value is not None and "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


def has_control_characters(text: str) -> bool:
    """Control characters (NUL among them, which PostgreSQL text cannot hold)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def parse_family(raw: str, field: str = "family") -> str:
    family = normalize_family(raw)
    if family is None:
        raise bad_request(
            "family_invalid",
            f"unknown provider family; valid families are: {', '.join(FAMILIES)}",
            field,
        )
    return family


def refuse_nulls(body: BaseModel, fields: Iterable[str], message: str = "must not be null") -> None:
    """PATCH: absent means unchanged; for these fields ``null`` means nothing, so it is a
    422 naming the field rather than a silent no-op or a clear."""
    for field in fields:
        if field in body.model_fields_set and getattr(body, field) is None:
            raise invalid_request(field, message)
