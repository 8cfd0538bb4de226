"""The SDK's exceptions: one per kind of answer a caller handles differently.

Every error the server returns carries its ``status``, stable ``code``, ``message`` and
``detail`` (SPEC §12). No exception ever holds the token: it is only in request headers,
which are never copied into a message.
"""

from __future__ import annotations

from typing import Any

import httpx


class ChatgateError(Exception):
    """An error answer from the server (any status without a more specific class)."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail


class BadRequest(ChatgateError):
    """400 (a rule refused a value) or 422 (the body's shape is wrong)."""


class Unauthorized(ChatgateError):
    """401: no token, or one that is unknown, expired or revoked."""


class Forbidden(ChatgateError):
    """403: the caller's role may not do this."""


class NotFound(ChatgateError):
    """404: no such thing (or one the caller may not see)."""


class Conflict(ChatgateError):
    """409: the change collides with the current state (a taken name, user keys at stake)."""


class ServerError(ChatgateError):
    """5xx: the server failed or is not ready; the request may be retried."""


class ChatgateConnectionError(Exception):
    """The server could not be reached, or the connection broke (no answer to read)."""


_BY_STATUS: dict[int, type[ChatgateError]] = {
    400: BadRequest,
    422: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_from_response(response: httpx.Response) -> ChatgateError:
    """The typed exception for an error answer. A body that is not chatgate's error shape
    (a proxy's HTML page, say) still gives its status and a short excerpt."""
    code, message, detail = "http_error", response.reason_phrase or "error", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code = body["code"]
        message = str(body.get("message") or message)
        detail = body.get("detail")
    elif isinstance(body, dict) and isinstance(body.get("error"), dict):
        # The /v1 gateway speaks OpenAI's error shape.
        error = body["error"]
        code = str(error.get("code") or error.get("type") or code)
        message = str(error.get("message") or message)
    elif response.text:
        message = response.text.strip()[:200]
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ChatgateError)
    return kind(status, code, message, detail)


def connection_error(base_url: str, error: httpx.TransportError) -> ChatgateConnectionError:
    """A one-line reason naming the server's URL (never a header, so never the token)."""
    reason = str(error).strip() or type(error).__name__
    return ChatgateConnectionError(f"cannot reach chatgate at {base_url}: {reason}")
