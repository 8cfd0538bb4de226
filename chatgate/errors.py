"""Error types with stable codes; one handler turns them into ``{code, message, detail}``."""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    """An error a client can act on. ``message`` never contains a secret."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


def bad_request(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(400, code, message, {"field": field} if field else None)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def conflict(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(409, code, message, {"field": field} if field else None)


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(403, code, message)


def invalid_request(field: str, message: str) -> ApiError:
    """422 for a body the schema rejects (SPEC §3 status rules)."""
    return ApiError(
        422, "invalid_request", f"{field}: {message}", [{"field": field, "message": message}]
    )


class BusyError(ApiError):
    """The database stayed locked through every retry; the client may retry."""

    def __init__(self) -> None:
        super().__init__(503, "busy", "the database is busy, retry the request")


class DatabaseUnavailableError(ApiError):
    """The database cannot be reached (refused, reset, timed out). Nothing was changed
    unless the transaction had committed; the client may retry once it is back."""

    def __init__(self) -> None:
        super().__init__(503, "database_unavailable", "the database cannot be reached, retry later")


def uuid_or_404(raw: str, what: str) -> uuid.UUID:
    """A path id that is not a UUID names nothing: 404, exactly like an unknown id."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found(what) from None
