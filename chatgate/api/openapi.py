"""The self-describing API: ``/openapi.json``, ``/docs`` and ``/redoc`` (SPEC §12).

Rules this module keeps, each checked by ``tests/contract/test_openapi.py``:

- Errors are documented with the body chatgate really sends, ``ErrorBody``
  (``{code, message, detail}``), FastAPI's ``HTTPValidationError`` never appears: chatgate's
  handler answers 422 in its own shape (``chatgate.api.errors``).
- Who may call an operation is read from its ``Requires`` dependency, the same declaration
  that enforces it, so the document's security, 401 and 403 cannot drift from behaviour.
  Documentation only: authentication itself stays in ``chatgate.api.deps``.
- Plain ASGI routes (the ``/v1`` gateway), invisible to FastAPI, are described by the
  function ``install_openapi`` is given (``chatgate.gateway.openapi``, wired in
  ``create_app``: ``api`` never imports the gateway), for the routes the app really serves.
- The docs pages load Swagger UI and ReDoc from files chatgate serves itself (the
  ``fastapi-offline`` package ships them), never from a CDN: ``/docs`` works offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

from chatgate.api.deps import Requires
from chatgate.api.schemas import ErrorBody
from chatgate.authz import Permission

ERROR_SCHEMA_REF = "#/components/schemas/ErrorBody"
BEARER_SCHEME = "bearerAuth"
DOCS_STATIC = "/docs/static"
# The docs pages load nothing from elsewhere, and the browser enforces it: ReDoc's bundle
# would otherwise fetch its logo from its vendor's CDN. 'unsafe-inline' only because
# FastAPI's pages start Swagger UI / ReDoc from an inline <script> (and the bundles inject
# styles); blob: for ReDoc's search worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)

# The default meaning of each error status on /api/v1 (SPEC §3 status rules, §13);
# operations add the codes that are theirs.
ERROR_MEANINGS: dict[int, str] = {
    400: "A value of the right type breaks a rule; `code` names the rule.",
    401: "No bearer token, or one that is unknown, expired or revoked, or whose user is "
    "disabled (`unauthenticated`).",
    403: "The caller's role does not allow this (`forbidden`).",
    404: "No such resource, or one the caller may not see (`not_found`).",
    409: "Conflicts with the current state; `code` says how.",
    422: "The body or a parameter does not match the schema: not JSON, a wrong JSON type, a "
    "missing or unknown field, a value over its length limit (`invalid_request`); "
    "`detail` lists `{field, message}` per problem.",
    503: "The service cannot do this now; `code` says why (e.g. `busy`: retry).",
}

TAGS: list[dict[str, str]] = [
    {"name": "users", "description": "Users and their API tokens."},
    {"name": "providers", "description": "Provider configs and their central key pools."},
    {"name": "models", "description": "Model configs: what clients ask for as `model`."},
    {"name": "me", "description": "What the caller sees and owns: models, own provider keys."},
    {"name": "audit", "description": "The audit log: who changed what, and when."},
    {"name": "usage", "description": "Requests, attempts, errors, tokens and latency."},
    {"name": "chats", "description": "The caller's conversations with models, stored."},
    {"name": "settings", "description": "Installation-wide settings (chat retention)."},
    {"name": "system", "description": "Health, readiness and metrics."},
    {
        "name": "gateway (OpenAI-compatible)",
        "description": "The `/v1` gateway for OpenAI SDKs; errors in OpenAI's shape.",
    },
]

DESCRIPTION = """\
chatgate's administration API (`/api/v1`) and its OpenAI-compatible gateway (`/v1`).

**Authentication**: `Authorization: Bearer <token>` with a chatgate token (`cgt_…`), as
printed by `chatgate tokens create` or `POST /api/v1/users/{user_id}/tokens`. Use
*Authorize* to try operations here.

**Errors** under `/api/v1` are `{code, message, detail}` (`ErrorBody`) with a stable `code`;
under `/v1` they are OpenAI's `{"error": {message, type, code}}`.
"""

# Path and query parameters mean the same wherever they appear (one concept, one name), so
# their descriptions live here rather than in each route's signature.
PARAMETER_DESCRIPTIONS: dict[str, str] = {
    "user_id": "A user's id (UUID), or `me` for the caller.",
    "token_id": "A token's id (UUID); any other value answers 404.",
    "provider_id": "A provider config's id (UUID); any other value answers 404.",
    "provider_config_id": "A provider config's id (UUID).",
    "key_id": "A central pool key's id (UUID); any other value answers 404.",
    "model_id": "A model config's id (UUID); any other value answers 404.",
    "chat_id": "A chat's id (UUID); any other value, or another user's chat, answers 404.",
    "force": "`true` allows removing or disabling the config's last usable key "
    "(otherwise 409 `last_usable_key`).",
}


# What an example of each status shows when the operation names no code of its own; the
# messages of 401, 403 and 422 are the ones chatgate really sends.
_DEFAULT_EXAMPLES: dict[int, dict[str, str]] = {
    401: {"code": "unauthenticated", "message": "a valid bearer token is required"},
    403: {"code": "forbidden", "message": "your role does not allow this"},
    404: {"code": "not_found", "message": "… not found"},
}
_CODE = re.compile(r"`([a-z][a-z0-9_]*)`")


def _example(status: int, description: str) -> dict[str, Any]:
    """An example body for the status: the first code the description names (with its
    explanation as the message), else the status's usual one. Swagger UI would otherwise
    show ``"string"`` placeholders."""
    default = _DEFAULT_EXAMPLES.get(status)
    named = _CODE.search(description)
    if status == 422:
        problem = {"field": "name", "message": "field required"}
        return {"code": "invalid_request", "message": "name: field required", "detail": [problem]}
    if default is not None and (named is None or named.group(1) == default["code"]):
        return {"code": default["code"], "message": default["message"], "detail": None}
    if named is None:
        return {"code": "error", "message": description, "detail": None}
    explained = re.match(r":\s*([^;]+?)\.?(?:;|$)", description[named.end() :])
    message = explained.group(1) if explained else "what went wrong, for people"
    return {"code": named.group(1), "message": message, "detail": None}


def error_responses(*errors: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status with ``ErrorBody``, described by its
    default meaning or by the text given with it (``(409, "`name_taken`: ...")``).

    401, 403 and 422 are added for every route from its permission and parameters (see
    ``install_openapi``); list them here only to describe them more precisely."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        status, description = error if isinstance(error, tuple) else (error, None)
        text = description or ERROR_MEANINGS[status]
        responses[status] = {
            "model": ErrorBody,
            "description": text,
            "content": {"application/json": {"example": _example(status, text)}},
        }
    return responses


# For operations that seal a secret (chatgate.api.errors answers PrimaryKeyRevoked so).
SECRETS_UNAVAILABLE = (
    503,
    "`encryption_key_revoked`: this server's primary encryption key is revoked; secrets "
    "cannot be stored.",
)

NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Done; no content."}}


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_MEANINGS[status],
        "content": {
            "application/json": {
                "schema": {"$ref": ERROR_SCHEMA_REF},
                "example": _example(status, ERROR_MEANINGS[status]),
            }
        },
    }


def _permission_of(route: Any) -> Permission | None:
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Requires):
            return dependency.call.permission
    return None


def _may_answer_422(route: APIRoute) -> bool:
    """Whether validation can fail: a body, or a parameter that is not any string."""
    if route.body_field is not None:
        return True
    return any(field.field_info.annotation is not str for field in get_flat_params(route.dependant))


_WHO = {
    Permission.AUTHENTICATED: "any signed-in user",
    Permission.ADMIN_READ: "admin, auditor",
    Permission.ADMIN_WRITE: "admin",
    Permission.METRICS: "admin, auditor (anyone when `CHATGATE_METRICS_PUBLIC=true`)",
}


def _document_route(
    operation: dict[str, Any], route: APIRoute, permission: Permission | None, metrics_public: bool
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    public = permission in (None, Permission.PUBLIC) or (
        permission is Permission.METRICS and metrics_public
    )
    if not public:
        operation["security"] = [{BEARER_SCHEME: []}]
        responses.setdefault("401", _error_response(401))
        if permission is not Permission.AUTHENTICATED:
            responses.setdefault("403", _error_response(403))
        if permission is not None:
            who = f"**Who may call**: {_WHO[permission]}."
            text = operation.get("description")
            operation["description"] = f"{text}\n\n{who}" if text else who
    for response in responses.values():
        example = response.get("content", {}).get("application/json", {}).get("example")
        if isinstance(example, dict) and "code" in example:
            # FastAPI drops None values from the responses routes declare: restore detail.
            example.setdefault("detail", None)
    validation = responses.get("422")
    if validation is not None and "HTTPValidationError" in str(validation):
        del responses["422"]  # FastAPI's default: its shape is not chatgate's
    if _may_answer_422(route):
        responses.setdefault("422", _error_response(422))
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0]))


def _describe_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if not parameter.get("description"):
            description = PARAMETER_DESCRIPTIONS.get(parameter["name"])
            if description is not None:
                parameter["description"] = description


# Given the (method, path) of the plain routes the app serves, their OpenAPI paths and the
# component schemas those reference.
DescribeRawRoutes = Callable[[set[tuple[str, str]]], tuple[dict[str, Any], dict[str, Any]]]


def build_openapi(
    app: FastAPI, *, metrics_public: bool, describe_raw_routes: DescribeRawRoutes
) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
        tags=TAGS,
    )
    paths: dict[str, Any] = document.setdefault("paths", {})
    served: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        methods = context.methods or set()
        if not isinstance(route, APIRoute):
            if isinstance(getattr(context.endpoint, "permission", None), Permission):
                served.update((method, context.path or "") for method in methods)
            continue
        if not route.include_in_schema:
            continue
        permission = _permission_of(route)
        for method in methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            _document_route(operation, route, permission, metrics_public)
            _describe_parameters(operation)
    raw_paths, raw_schemas = describe_raw_routes(served)
    paths.update(raw_paths)
    components: dict[str, Any] = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas.update(raw_schemas)
    for schema in schemas.values():
        # Model docstrings are the schemas' descriptions; they quote code as ``x`` (house
        # style), which Markdown renders as `x`.
        if isinstance(schema.get("description"), str):
            schema["description"] = schema["description"].replace("``", "`")
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template=ERROR_SCHEMA_REF))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A chatgate token (`cgt_…`). The same token works for `/api/v1` "
            "and, as the OpenAI SDK's API key, for `/v1`.",
        }
    }
    return document


def install_openapi(app: FastAPI, describe_raw_routes: DescribeRawRoutes) -> None:
    """Replace FastAPI's document and docs pages (create the app with ``docs_url=None,
    redoc_url=None``). Call after every route is added: the document is built once.
    ``describe_raw_routes`` documents the plain ASGI routes that declare a permission."""
    metrics_public = bool(app.state.runtime.settings.metrics_public)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(
                app, metrics_public=metrics_public, describe_raw_routes=describe_raw_routes
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    static = files("fastapi_offline") / "static"
    app.mount(DOCS_STATIC, StaticFiles(directory=str(static)), name="docs-static")

    # Plain Starlette routes, like FastAPI's own docs routes: public pages outside the
    # permission system (the route matrix test lists them), root_path aware.
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            oauth2_redirect_url=None,
        )
        page.headers["content-security-policy"] = DOCS_CSP
        return page

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["content-security-policy"] = DOCS_CSP
        return page

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
