"""``chatgate.client``: the Python SDK for a chatgate server (SPEC §12).

``Client`` (sync) and ``AsyncClient`` cover every ``/api/v1`` operation plus ``/healthz``,
``/readyz`` and ``/metrics``, returning the API's own response models; ``openai()`` gives an
OpenAI SDK client for the gateway under ``/v1``. Rules: the token is only ever sent in the
``Authorization`` header — never in a repr, an exception or a log line; errors are typed
(``chatgate.client.errors``).
"""

from chatgate.client.aio import AsyncClient
from chatgate.client.errors import (
    BadRequest,
    ChatgateConnectionError,
    ChatgateError,
    Conflict,
    Forbidden,
    NotFound,
    ServerError,
    Unauthorized,
)
from chatgate.client.sync import Client
from chatgate.configdoc.schemas import ConfigChange, ConfigDocument

__all__ = [
    "AsyncClient",
    "BadRequest",
    "ChatgateConnectionError",
    "ChatgateError",
    "Client",
    "ConfigChange",
    "ConfigDocument",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ServerError",
    "Unauthorized",
]
