"""Pure checks of provider-config input (SPEC §3). Messages never contain a key."""

from __future__ import annotations

import math
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from chatgate.errors import bad_request
from chatgate.validation import has_control_characters

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MAX_KEY_BYTES = 10_240
HINT_MIN_LENGTH = 16
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def check_name(raw: str) -> str:
    """A provider-config name: trimmed, then a lower-case slug (not lower-cased for the
    client: names identify objects in config files, so a silent rewrite would drift)."""
    name = raw.strip()
    if not NAME_RE.fullmatch(name):
        raise bad_request(
            "name_invalid",
            "name must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit",
            "name",
        )
    return name


def normalize_base_url(raw: str) -> str:
    """Trimmed, scheme and host lower-cased, without trailing slashes (SPEC §3): the form
    origins are compared in, so ``HTTP://Box:8000/v1/`` and ``http://box:8000/v1`` are one
    upstream. ``""`` means the family default. The path keeps its case."""
    url = raw.strip().rstrip("/")
    if url == "":
        return ""
    problem = _base_url_problem(url)
    if problem is not None:
        raise bad_request("base_url_invalid", f"base_url {problem}", "base_url")
    parts = urlsplit(url)
    # No userinfo (refused above), so the netloc is the host and port: lower-casing it
    # lower-cases the host only.
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def _base_url_problem(url: str) -> str | None:
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http or https URL"
    if not parts.hostname:
        return "must name a host"
    if "%" in parts.netloc:
        return "must not percent-encode the host"
    if "\\" in parts.netloc:
        # WHATWG parsers read a backslash as "/", RFC 3986 ones refuse it: the host would
        # depend on who parses the URL.
        return "must not contain a backslash in the host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not carry credentials (user info)"
    if parts.query or "?" in url:
        return "must not carry a query"
    if parts.fragment or "#" in url:
        return "must not carry a fragment"
    if port is not None and port == 0:
        return "has an invalid port"
    return None


def origin_of(url: str | None) -> Origin | None:
    """(scheme, host, port) of an absolute URL; ``None`` when there is no URL."""
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 0))


def normalize_api_key(raw: str, field: str = "api_key") -> str:
    key = raw.strip()
    if key == "":
        raise bad_request("api_key_invalid", f"{field} is empty", field)
    if len(key.encode()) > MAX_KEY_BYTES:
        raise bad_request("api_key_invalid", f"{field} is longer than {MAX_KEY_BYTES} bytes", field)
    if has_control_characters(key):
        raise bad_request("api_key_invalid", f"{field} contains control characters", field)
    return key


def key_hint(key: str) -> str | None:
    """The last 4 characters of keys of at least 16 characters; shorter keys get none."""
    return key[-4:] if len(key) >= HINT_MIN_LENGTH else None


def check_key_policy(central: bool, user: bool, fallback: bool) -> None:
    """The database CHECK, with one message per way of violating it."""
    if not central and not user:
        raise bad_request(
            "key_policy_invalid",
            "enable central keys, user keys or both: a config needs at least one key source",
            "central_api_key_enabled",
        )
    if fallback and not central:
        raise bad_request(
            "key_policy_invalid",
            "allow_central_api_key_fallback needs central_api_key_enabled",
            "allow_central_api_key_fallback",
        )
    if fallback and not user:
        raise bad_request(
            "key_policy_invalid",
            "allow_central_api_key_fallback needs allow_user_api_key "
            "(the fallback is for users without their own key)",
            "allow_central_api_key_fallback",
        )


def check_timeout(value: float | None, field: str) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise bad_request("timeout_invalid", f"{field} must be a number greater than 0", field)
    return value
