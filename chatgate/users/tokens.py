"""API token format: ``cgt_`` + 43 base64url characters (256 random bits), stored as SHA-256."""

from __future__ import annotations

import base64
import hashlib
import secrets

TOKEN_PREFIX = "cgt_"  # noqa: S105 - a format prefix, not a secret


def generate_token() -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
