"""Input checks shared by several domains (provider and model configs, user keys).

Pure functions over request values; a failure is a 4xx that names the field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel

from chatgate.errors import bad_request, invalid_request
from chatgate.families import FAMILIES, normalize_family


def has_control_characters(text: str) -> bool:
    """Control characters (NUL among them, which PostgreSQL text cannot hold)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def check_text(value: str, field: str) -> str:
    """A name, display name or label: trimmed; a control character anywhere in it (NUL
    among them, which PostgreSQL text cannot hold) is a 400 ``<field>_invalid`` naming the
    field. A well-typed value a rule rejects, so never a 422 (SPEC §3)."""
    if has_control_characters(value):
        raise bad_request(f"{field}_invalid", f"{field} must not contain control characters", field)
    return value.strip()


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
