"""Typed failures of the upstream layer.

The gateway maps each to an HTTP answer and a failover decision (SPEC §9); no message
here ever contains a key, because keys only travel in request headers and no header is
ever quoted.
"""

from __future__ import annotations

from typing import Literal

TimeoutPhase = Literal["connect", "first_byte", "idle"]


class UpstreamError(Exception):
    """Base class. ``body_sent`` tells whether the upstream may have received (and billed)
    the request; the gateway must not retry a non-streaming request when it is true and
    the failure was a timeout."""

    def __init__(self, message: str, *, body_sent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.body_sent = body_sent


class UpstreamConnectError(UpstreamError):
    """No connection was made: DNS failure, refused, TLS failure, or an address refused
    by the outbound policy. Nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, body_sent=False)


class UpstreamTimeout(UpstreamError):
    """A deadline passed in one phase: ``connect`` (nothing sent), ``first_byte`` (the
    request went out, no response head came) or ``idle`` (a response stalled)."""

    def __init__(self, phase: TimeoutPhase, *, body_sent: bool) -> None:
        super().__init__(f"upstream timed out ({phase.replace('_', ' ')})", body_sent=body_sent)
        self.phase: TimeoutPhase = phase


class UpstreamBodyTooLarge(UpstreamError):
    """A non-streaming response body exceeded the read limit (SPEC §9: 64 MiB → 502)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"upstream response body exceeds {limit_bytes} bytes", body_sent=True)
        self.limit_bytes = limit_bytes


class UpstreamProtocolError(UpstreamError):
    """The request went out but the exchange broke: the connection dropped, the HTTP was
    malformed, or a 2xx body could not be understood by the adapter."""

    def __init__(self, message: str) -> None:
        super().__init__(message, body_sent=True)


class UnsupportedParameter(Exception):
    """A request field a translated family cannot honour (gateway: 400
    ``unsupported_parameter``). ``field`` is a path such as ``messages[2].content[0]``."""

    def __init__(
        self, field: str, reason: str = "is not supported by this provider family"
    ) -> None:
        super().__init__(f"'{field}' {reason}")
        self.field = field
        self.reason = reason


class FamilyNotSupported(Exception):
    """The family has no adapter yet (bedrock; gateway: 400 ``family_not_supported``)."""

    def __init__(self, family: str) -> None:
        super().__init__(f"provider family '{family}' is not supported yet")
        self.family = family
