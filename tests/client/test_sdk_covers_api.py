"""The SDK covers the API (SPEC §12 "covering every endpoint"): every operation of the
server's OpenAPI document has an SDK method on both clients, so a new endpoint without one
fails here.

Exempt: the gateway under ``/v1`` (``/v1/models``, ``/v1/chat/completions``, …). It speaks
the OpenAI wire protocol, and ``client.openai()`` hands out the official OpenAI SDK pointed
at it — re-implementing OpenAI's client would only drift from it.
"""

from __future__ import annotations

from typing import Any

from chatgate.client import AsyncClient, Client
from chatgate.client.binding import async_op, sync_op
from chatgate.client.operations import OPERATIONS
from tests.support.helpers import Env

METHODS = ("get", "put", "post", "patch", "delete")
GATEWAY_PREFIX = "/v1/"  # the OpenAI-compatible gateway: client.openai()


def served_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item and not path.startswith(GATEWAY_PREFIX)
    }


async def test_every_api_operation_has_a_method_on_both_clients(env: Env) -> None:
    response = await env.client.get("/openapi.json")
    assert response.status_code == 200
    served = served_operations(response.json())
    assert ("GET", "/api/v1/providers") in served  # the document is the one we think

    missing = sorted(served - OPERATIONS.keys())
    assert not missing, f"API operations without an SDK method: {missing}"
    unserved = sorted(OPERATIONS.keys() - served)
    assert not unserved, f"SDK methods for operations the server does not have: {unserved}"

    for name in OPERATIONS.values():
        sync_method = vars(Client).get(name)
        async_method = vars(AsyncClient).get(name)
        assert isinstance(sync_method, sync_op), f"Client has no method {name}"
        assert isinstance(async_method, async_op), f"AsyncClient has no method {name}"
        # Both run the one description of the operation.
        assert sync_method.build is async_method.build
        assert sync_method.build.__name__ == name
