"""Routing under ``/v1``: an exact lookup for the hot paths, templates for the rest, and an
OpenAI-shaped 404 or 405 for anything else (SPEC §9)."""

from __future__ import annotations

from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from chatgate.gateway.asgi import answer_unknown_endpoint


class GatewayRouter:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes
        self._exact = {
            (route.path, method): route
            for route in routes
            if "{" not in route.path
            for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves ``scope`` and sets ``scope["route"]`` to the route that served it (the
        request metrics label requests by its template)."""
        route = self._exact.get((scope["path"], scope["method"]))
        if route is not None:
            scope["route"] = route
            await route.app(scope, receive, send)
            return
        allowed: set[str] = set()
        for route in self._routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                scope.update(child)
                scope["route"] = route
                await route.app(scope, receive, send)
                return
            if match is Match.PARTIAL:
                allowed |= route.methods or set()
        await answer_unknown_endpoint(scope, send, frozenset(allowed - {"HEAD"}))
