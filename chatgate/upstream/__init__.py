"""Everything that talks to upstream providers.

``http`` is the one shared HTTP client (no client-library type leaves it); ``adapters``
holds one adapter per family behind one interface. Keys are opened by the caller, passed
in a :class:`Target`, and only ever written into request headers; upstream text reaches
clients only through :func:`extract_error_message` (redacted, capped).
"""

from __future__ import annotations

from chatgate.upstream.adapters import (
    Adapter,
    StreamTranslator,
    Target,
    Usage,
    adapter_for,
    extract_error_message,
)
from chatgate.upstream.errors import (
    FamilyNotSupported,
    UnsupportedParameter,
    UpstreamBodyTooLarge,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from chatgate.upstream.http import (
    MAX_NON_STREAM_BODY_BYTES,
    HttpRequest,
    Timeouts,
    UpstreamClient,
    UpstreamResponse,
    retry_after_seconds,
)

__all__ = [
    "MAX_NON_STREAM_BODY_BYTES",
    "Adapter",
    "FamilyNotSupported",
    "HttpRequest",
    "StreamTranslator",
    "Target",
    "Timeouts",
    "UnsupportedParameter",
    "UpstreamBodyTooLarge",
    "UpstreamClient",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "UpstreamTimeout",
    "Usage",
    "adapter_for",
    "extract_error_message",
    "retry_after_seconds",
]
