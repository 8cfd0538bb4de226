"""What a web session is (SPEC §12): the cookie, its secret's hash, and how long it lives.

The cookie carries a random secret, never a token; the database keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

COOKIE_NAME = "chatgate_session"
IDLE_TIMEOUT = timedelta(hours=12)
# last_seen_at moves at most this often per session (one write a minute, not one a request).
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_SECRET_LENGTH = 128
CSRF_HEADER = "x-chatgate-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def new_session_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_session_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
