"""Gateway errors in OpenAI's shape (SPEC §9): ``{"error": {"message", "type", "code"}}``.

Every gateway error carries ``x-should-retry: false`` (SDKs would otherwise multiply
attempts) except 429, which carries ``Retry-After`` instead. Messages name provider
configs, never keys or upstream URLs.
"""

from __future__ import annotations

import math

import orjson

from chatgate.upstream.adapters.base import error_event

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    508: "invalid_request_error",
}


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        error_type: str | None = None,
        answered_by: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.error_type = error_type or _TYPES.get(status, "api_error")
        # (provider config label, key source) of the last attempt, when one was made (§9).
        self.answered_by = answered_by

    def body(self) -> bytes:
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.error_type, "code": self.code}}
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        if self.answered_by is not None:
            label, key_source = self.answered_by
            headers.append((b"x-chatgate-provider-config", label.encode()))
            headers.append((b"x-chatgate-key-source", key_source.encode()))
        if self.status == 429:
            seconds = max(1, math.ceil(self.retry_after_s or 1))
            headers.append((b"retry-after", str(seconds).encode()))
        else:
            headers.append((b"x-should-retry", b"false"))
        return headers

    def stream_event(self) -> bytes:
        """The one event that ends a stream cut after its first byte."""
        return error_event(self.message, code=self.code, error_type=self.error_type)


def invalid_field(field: str, message: str) -> GatewayError:
    return GatewayError(400, "invalid_request_error", f"{field}: {message}")
