"""API tokens: the format (``cgt_`` + 43 base64url characters, 256 random bits), the
SHA-256 they are stored and looked up by, the one bearer-header parser, and the one set of
reasons an authentication fails (the ``chatgate_auth_failures_total`` labels) shared by
``/api`` and ``/v1``."""

from __future__ import annotations

import base64
import hashlib
import secrets
from enum import StrEnum

TOKEN_PREFIX = "cgt_"  # noqa: S105 - a format prefix, not a secret


def generate_token() -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthFailure(StrEnum):
    """Why a request was not authenticated (a metrics label)."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 - a label: no ``Authorization: Bearer``
    MALFORMED = "malformed"  # longer than any token chatgate issues
    UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 - a label: never issued, revoked, expired
    USER_DISABLED = "user_disabled"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None
