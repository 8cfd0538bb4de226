"""The API describes itself (SPEC §12): ``/openapi.json`` is complete and true, ``/docs``
works offline.

The document is walked as a client generator or a person reading ``/docs`` would: every
operation summarised, every field and parameter described, success bodies typed, errors
in the shape chatgate really sends. A few real requests check that the statuses and the
error body the document promises are the ones the server answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from chatgate.ids import new_id
from tests.support.helpers import Env

ERROR_REF = "#/components/schemas/ErrorBody"
OPENAI_ERROR_REF = "#/components/schemas/OpenAIErrorBody"
METHODS = ("get", "put", "post", "patch", "delete")
DOCUMENTED_PREFIXES = ("/api/v1/", "/v1/")


async def openapi(env: Env) -> dict[str, Any]:
    response = await env.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def refs(node: Any) -> set[str]:
    """Every ``$ref`` under ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    return set()


def is_typed(schema: dict[str, Any]) -> bool:
    """A body a client can generate code for: a model, or an array of models."""
    if "$ref" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


async def test_every_operation_has_a_written_summary(env: Env) -> None:
    document = await openapi(env)
    # FastAPI falls back to the function's name ("List Users"): that is not a summary.
    generated = {
        (method, context.path_format): context.original_route.name.replace("_", " ").title()
        for context in iter_route_contexts(env.app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    missing = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if not operation.get("summary") or operation["summary"] == generated.get((method, path))
    ]
    assert missing == []
    assert len(list(operations(document))) >= 30


async def test_success_responses_are_typed_and_204_has_no_body(env: Env) -> None:
    document = await openapi(env)
    problems = []
    for method, path, operation in operations(document):
        if not path.startswith(DOCUMENTED_PREFIXES):
            continue
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path} documents no success"
        for status, response in successes.items():
            content = response.get("content")
            if status == "204":
                if content:
                    problems.append(f"{method} {path} 204 documents a body")
                continue
            if content and set(content) == {"text/event-stream"}:
                # A stream of server-sent events (a chat reply): its events are described
                # in words; there is no JSON body to type.
                if not response.get("description"):
                    problems.append(f"{method} {path} {status}: undescribed stream")
                continue
            schema = (content or {}).get("application/json", {}).get("schema", {})
            if not is_typed(schema):
                problems.append(f"{method} {path} {status}: {schema or 'no schema'}")
    assert problems == []


async def test_every_field_and_parameter_is_described(env: Env) -> None:
    document = await openapi(env)
    undescribed = [
        f"{name}.{prop}"
        for name, schema in document["components"]["schemas"].items()
        for prop, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    undescribed += [
        f"{method} {path} parameter {parameter['name']}"
        for method, path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
    # Written for API users: no references to the internal spec, no reStructuredText.
    assert "§" not in str(document)
    assert "``" not in str(document)


async def test_api_errors_are_documented_with_chatgates_error_body(env: Env) -> None:
    document = await openapi(env)
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "detail"}
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message", "detail"}
    # FastAPI's 422 shape is not what chatgate answers: it must not be promised anywhere.
    assert "HTTPValidationError" not in str(document)
    problems = []
    for method, path, operation in operations(document):
        if not path.startswith("/api/v1/"):
            continue
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        if not errors:
            problems.append(f"{method} {path}: no error responses")
        for status, response in errors.items():
            body = response.get("content", {}).get("application/json", {})
            if body.get("schema") != {"$ref": ERROR_REF}:
                problems.append(f"{method} {path} {status}: {body.get('schema')}")
            # The example Swagger UI shows has the body's real shape.
            if set(body.get("example", {})) != {"code", "message", "detail"}:
                problems.append(f"{method} {path} {status} example: {body.get('example')}")
        if operation.get("security") and "401" not in errors:
            problems.append(f"{method} {path}: needs a token but documents no 401")
    assert problems == []


async def test_the_statuses_the_server_answers_are_the_documented_ones(env: Env) -> None:
    document = await openapi(env)
    owner = env.auth(env.owner_token)
    _, member = await env.new_user("doc-member", "member")
    created = await env.client.post(
        "/api/v1/providers",
        json={"family": "openai", "name": "docs", "api_key": "sk-x"},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    calls: list[tuple[str, str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/providers/{provider_id}", f"/api/v1/providers/{new_id()}", owner),
        ("GET", "/api/v1/providers", "/api/v1/providers", {}),
        ("GET", "/api/v1/providers", "/api/v1/providers", env.auth(member)),
        ("POST", "/api/v1/providers", "/api/v1/providers", owner),  # {} below: 422
        ("PATCH", "/api/v1/users/{user_id}", "/api/v1/users/me", owner),
        ("DELETE", "/api/v1/tokens/{token_id}", "/api/v1/tokens/not-a-uuid", owner),
    ]
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/providers"): {},
        ("PATCH", "/api/v1/users/{user_id}"): {"role": "member"},  # self-demotion: 403
    }
    extra = [
        # a rule (400) and a conflict (409) on the same operation
        ("POST", "/api/v1/providers", {"family": "openai", "base_url": "ftp://x"}),
        ("POST", "/api/v1/providers", {"family": "openai", "name": "docs", "api_key": "k"}),
    ]
    seen: list[tuple[str, str, int]] = []
    for method, template, url, headers in calls:
        body = bodies.get((method, template))
        response = await env.client.request(method, url, headers=headers, json=body)
        seen.append((method, template, response.status_code))
        assert set(response.json()) == {"code", "message", "detail"}, response.text
    for method, template, body in extra:
        response = await env.client.request(method, template, headers=owner, json=body)
        seen.append((method, template, response.status_code))
        assert set(response.json()) == {"code", "message", "detail"}, response.text
    assert sorted({status for *_, status in seen}) == [400, 401, 403, 404, 409, 422]
    undocumented = [
        f"{method} {template} answered {status}"
        for method, template, status in seen
        if str(status) not in document["paths"][template][method.lower()]["responses"]
    ]
    assert undocumented == []


async def test_bearer_scheme_is_declared_and_matches_authentication(env: Env) -> None:
    document = await openapi(env)
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    secured = {(m, p) for m, p, op in operations(document) if op.get("security")}
    assert ("GET", "/healthz") not in secured
    assert ("GET", "/api/v1/users/me") in secured
    assert ("POST", "/v1/chat/completions") in secured
    # What "Authorize" sends is what the server accepts; without it, the documented 401.
    me = await env.client.get("/api/v1/users/me", headers=env.auth(env.owner_token))
    assert me.status_code == 200
    anonymous = await env.client.get("/api/v1/users/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    # Signing in is the one /api/v1 operation taken without a token (it takes one in its body).
    assert ("POST", "/api/v1/sessions") not in secured
    for method, path, _ in operations(document):
        if path.startswith("/api/v1/") and (method, path) != ("POST", "/api/v1/sessions"):
            assert (method, path) in secured, f"{method} {path} needs a token, undeclared"


async def test_gateway_is_documented_in_openai_shapes(env: Env) -> None:
    document = await openapi(env)
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"] == [{"bearerAuth": []}]
    assert chat["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatCompletionRequest"
    }
    ok = chat["responses"]["200"]["content"]
    assert set(ok) == {"application/json", "text/event-stream"}
    models = document["paths"]["/v1/models"]["get"]
    assert models["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIModelList"
    }
    for operation in (chat, models):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert "401" in errors
        for response in errors.values():
            assert response["content"]["application/json"]["schema"] == {"$ref": OPENAI_ERROR_REF}
    schemas = document["components"]["schemas"]
    assert set(schemas["OpenAIError"]["properties"]) == {"message", "type", "code"}
    request = schemas["ChatCompletionRequest"]
    assert {"model", "messages"} <= set(request["required"])
    assert request.get("additionalProperties") is True  # other OpenAI fields pass through
    # The documented error shape is the one the gateway answers.
    refused = await env.client.get("/v1/models")
    assert refused.status_code == 401
    assert set(refused.json()["error"]) == {"message", "type", "code"}
    # Only routes that exist are documented.
    served = {
        re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for route in env.app.routes
        if hasattr(route, "path")
    }
    assert {p for p in document["paths"] if p.startswith("/v1/")} <= served
    assert "/v1/models/{model}" in document["paths"]


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize(
    ("page", "marker", "assets"),
    [
        ("/docs", "SwaggerUIBundle", {"js": "SwaggerUIBundle", "css": ".swagger-ui"}),
        ("/redoc", "<redoc", {"js": "Redoc"}),
    ],
)
async def test_docs_pages_load_only_files_chatgate_serves(
    env: Env, page: str, marker: str, assets: dict[str, str]
) -> None:
    response = await env.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # The browser itself refuses anything from elsewhere (ReDoc's bundle asks its vendor's
    # CDN for a logo).
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "http" not in policy
    html = response.text
    assert marker in html
    assert "/openapi.json" in html
    urls = {a or b for a, b in ASSET.findall(html)}
    remote = sorted(u for u in urls if re.match(r"^(?:[a-z]+:)?//", u, re.IGNORECASE))
    assert remote == [], "the docs must work without internet access"
    fetched: dict[str, str] = {}
    for url in sorted(u for u in urls if u.startswith("/docs/static/")):
        asset = await env.client.get(url)
        assert asset.status_code == 200, url
        kind = "js" if url.endswith(".js") else "css" if url.endswith(".css") else "other"
        if kind != "other":
            assert len(asset.content) > 10_000, url  # the real bundle, not a stub
            fetched[kind] = asset.text
    for kind, needle in assets.items():
        assert needle in fetched.get(kind, ""), f"{page}: no local {kind} containing {needle}"
