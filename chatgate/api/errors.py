"""Exception handlers: every error leaves as ``{code, message, detail}``, never a 500 for client input."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatgate.api.responses import JsonResponse
from chatgate.crypto.keyring import PrimaryKeyRevoked
from chatgate.errors import ApiError

log = logging.getLogger("chatgate.api")


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError) -> JsonResponse:
    problems = []
    for error in exc.errors():
        field = _field_path(tuple(error.get("loc", ())))
        kind = error.get("type", "")
        if kind == "json_invalid":
            message = "request body is not valid JSON"
            field = "body"
        elif kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "field required"
        else:
            message = str(error.get("msg", "invalid value"))
        problems.append({"field": field, "message": message})
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return JsonResponse(
        status_code=422,
        content={
            "code": "invalid_request",
            "message": f"{first['field']}: {first['message']}",
            "detail": problems,
        },
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path answers. The router's 405 names only the methods of the first
    route whose path matched, while one path is often several routes (``GET`` and ``POST
    /api/v1/models``); ``Allow`` must list them all (RFC 9110 §15.5.6)."""
    root, path = request.scope.get("root_path", ""), request.scope["path"]
    path = path.removeprefix(root) if root else path
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        regex = getattr(context, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(context.methods or ())
    return ", ".join(sorted(methods))


# Renders an error as a page for the browser UI, or None for the API's JSON body.
ErrorPage = Callable[[Request, ApiError], Response | None]


def install_error_handlers(app: FastAPI, error_page: ErrorPage | None = None) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        page = error_page(request, exc) if error_page is not None else None
        return page or JsonResponse(status_code=exc.status, content=exc.body())

    @app.exception_handler(PrimaryKeyRevoked)
    async def _revoked(_request: Request, _exc: PrimaryKeyRevoked) -> JsonResponse:
        return JsonResponse(
            status_code=503,
            content={
                "code": "encryption_key_revoked",
                "message": "this server's primary encryption key is revoked; secrets cannot be stored",
                "detail": None,
            },
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JsonResponse:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JsonResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body its JSON parser raised on for a reason other than
            # syntax (e.g. an integer literal longer than Python converts): still bad JSON.
            return JsonResponse(
                status_code=422,
                content={
                    "code": "invalid_request",
                    "message": "body: request body is not valid JSON",
                    "detail": [{"field": "body", "message": "request body is not valid JSON"}],
                },
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {"allow": _allowed_methods(request)}
        return JsonResponse(
            status_code=exc.status_code,
            content={"code": code, "message": str(exc.detail), "detail": None},
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JsonResponse:
        # The type only: an exception's text could carry data we must not echo.
        log.error("unexpected error: %s", type(exc).__name__)
        return JsonResponse(
            status_code=500,
            content={"code": "internal_error", "message": "internal server error", "detail": None},
        )
