"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and slows streams).

Adds ``x-chatgate-request-id`` to every response, records request count and latency by
route template (never by raw path, so ids never become label values) and writes the access
line (``chatgate.requestlog``) once the response is finished.

It also hands every ``/v1`` path to the gateway's own router, so the hot path skips
FastAPI's exception, exit-stack and routing layers (SPEC §15); the gateway answers every
error under ``/v1`` itself, in OpenAI's shape.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatgate.ids import new_id
from chatgate.metrics import Metrics
from chatgate.requestlog import RequestTrace, current_trace, write_access_line

REQUEST_ID_HEADER = b"x-chatgate-request-id"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, gateway: ASGIApp | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        path: str = scope["path"]
        under_gateway = self.gateway is not None and (path == "/v1" or path.startswith("/v1/"))
        trace = RequestTrace()
        trace_token = current_trace.set(trace)
        try:
            if under_gateway and self.gateway is not None:
                await self.gateway(scope, receive, send_with_id)  # sets scope["route"]
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            if method not in KNOWN_METHODS:
                method = "other"  # a client must not be able to mint label values
            elapsed = time.perf_counter() - started
            self.metrics.http_requests.labels(template, method, str(status)).inc()
            self.metrics.http_latency.labels(template, method).observe(elapsed)
            current_trace.reset(trace_token)
            write_access_line(
                method=scope.get("method", ""),
                path=scope["path"],
                status=status,
                duration_s=elapsed,
                request_id=request_id,
                trace=trace,
            )
