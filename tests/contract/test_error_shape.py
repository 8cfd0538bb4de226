"""Bad input is a 4xx ``{code, message, detail}`` naming the field, never a 500 (SPEC §12).

The status follows SPEC §3: 422 ``invalid_request`` for the shape of the body (not JSON, a
wrong type, a missing or unknown field), 400 with a code of its own for a well-typed value
a rule rejects, 404 for an id in a path that names nothing (malformed ones included).
"""

from __future__ import annotations

import uuid

import httpx

from tests.support.helpers import Env

HUGE_INT_LITERAL = "1" + "0" * 5000  # longer than Python converts from text by default

# (case, method, path, raw body, expected status, field the error must name; for a 400,
# "code:field")
CASES: list[tuple[str, str, str, str | None, int, str]] = [
    ("malformed JSON", "POST", "/api/v1/users", '{"username": ', 422, "body"),
    ("JSON array body", "POST", "/api/v1/users", '[{"username": "a"}]', 422, "body"),
    ("JSON string body", "POST", "/api/v1/users", '"alice"', 422, "body"),
    ("JSON null body", "POST", "/api/v1/users", "null", 422, "body"),
    ("empty body", "POST", "/api/v1/users", "", 422, "body"),
    ("null required field", "POST", "/api/v1/users", '{"username": null}', 422, "username"),
    ("missing required field", "POST", "/api/v1/users", '{"role": "member"}', 422, "username"),
    ("number for a string", "POST", "/api/v1/users", '{"username": 42}', 422, "username"),
    (
        "unknown role",
        "POST",
        "/api/v1/users",
        '{"username": "a", "role": "emperor"}',
        400,
        "role_invalid:role",
    ),
    (
        "unknown role on PATCH",
        "PATCH",
        "/api/v1/users/me",
        '{"role": "root"}',
        400,
        "role_invalid:role",
    ),
    ("number for a role", "POST", "/api/v1/users", '{"username": "a", "role": 1}', 422, "role"),
    ("unknown field", "POST", "/api/v1/users", '{"username": "a", "admin": true}', 422, "admin"),
    (
        "huge int literal",
        "POST",
        "/api/v1/users",
        '{"username": ' + HUGE_INT_LITERAL + "}",
        422,
        "body",
    ),
    (
        "huge int value",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "t", "expires_in_days": 99999999999999999999999999}',
        400,
        "expires_in_days_invalid:expires_in_days",
    ),
    (
        "zero days",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "t", "expires_in_days": 0}',
        400,
        "expires_in_days_invalid:expires_in_days",
    ),
    (
        "negative days",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "t", "expires_in_days": -3}',
        400,
        "expires_in_days_invalid:expires_in_days",
    ),
    (
        "over ten years",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "t", "expires_in_days": 3651}',
        400,
        "expires_in_days_invalid:expires_in_days",
    ),
    (
        "empty token name",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": ""}',
        400,
        "name_invalid:name",
    ),
    (
        "blank token name",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "   "}',
        400,
        "name_invalid:name",
    ),
    (
        "float for an int",
        "POST",
        "/api/v1/users/me/tokens",
        '{"name": "t", "expires_in_days": 1.5}',
        422,
        "expires_in_days",
    ),
    (
        "string for a bool",
        "PATCH",
        "/api/v1/users/me",
        '{"disabled": "false"}',
        422,
        "disabled",
    ),
    ("deeply nested", "PATCH", "/api/v1/users/me", "[" * 5000 + "]" * 5000, 422, "body"),
    ("non-UUID user id", "GET", "/api/v1/users/12345", None, 404, ""),
    ("non-UUID token id", "DELETE", "/api/v1/tokens/12345", None, 404, ""),
    ("malformed token id", "DELETE", "/api/v1/tokens/not-a-uuid", None, 404, ""),
    ("empty sign-in token", "POST", "/api/v1/sessions", '{"token": ""}', 401, ""),
    ("number for a token", "POST", "/api/v1/sessions", '{"token": 7}', 422, "token"),
    ("unknown route", "GET", "/api/v1/nowhere", None, 404, ""),
    ("wrong method", "PUT", "/api/v1/users", None, 405, ""),
]


def problems_with(response: httpx.Response, status: int, field: str) -> list[str]:
    if response.status_code != status:
        return [f"status {response.status_code}, wanted {status}: {response.text[:200]}"]
    error = response.json()
    if set(error) != {"code", "message", "detail"}:
        return [f"shape {sorted(error)}"]
    found = []
    if not (isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)):
        found.append(f"code/message not strings: {error}")
    if status == 422 and not (
        error["code"] == "invalid_request"
        and error["message"].startswith(f"{field}:")
        and error["detail"][0]["field"] == field
    ):
        found.append(f"does not name {field!r}: {error}")
    if status == 400:
        code, _, named = field.partition(":")
        if (error["code"], error["detail"]) != (code, {"field": named}):
            found.append(f"wanted {code} naming {named!r}: {error}")
    if status == 404 and error["code"] != "not_found":
        found.append(f"wanted not_found: {error}")
    return found


async def test_bad_requests_get_a_stable_error_naming_the_field(env: Env) -> None:
    headers = {**env.auth(env.owner_token), "content-type": "application/json"}
    failures: dict[str, list[str]] = {}
    for case, method, path, body, status, field in CASES:
        content = None if body is None else body.encode()
        response = await env.client.request(method, path, headers=headers, content=content)
        problems = problems_with(response, status, field)
        if problems:
            failures[case] = problems
    assert failures == {}


async def test_every_response_carries_a_request_id(env: Env) -> None:
    ok = await env.client.get("/healthz")
    bad = await env.client.post("/api/v1/users", content=b"{", headers=env.auth(env.owner_token))
    ids = {ok.headers["x-chatgate-request-id"], bad.headers["x-chatgate-request-id"]}
    assert len(ids) == 2


async def test_nul_and_control_characters_in_names_are_400_naming_the_field_not_500(
    env: Env,
) -> None:
    # PostgreSQL cannot store U+0000 in text: unchecked, these were 500s there. A string is
    # the right type, so a character a rule refuses is a 400 with the field's own code.
    headers = {**env.auth(env.owner_token), "content-type": "application/json"}
    cases = [
        (
            "POST",
            "/api/v1/users",
            '{"username": "nul", "display_name": "a\\u0000b"}',
            "display_name",
        ),
        (
            "POST",
            "/api/v1/users",
            '{"username": "bel", "display_name": "a\\u0007b"}',
            "display_name",
        ),
        ("POST", "/api/v1/users", '{"username": "n\\u0000ul"}', "username"),
        ("PATCH", "/api/v1/users/me", '{"display_name": "\\u0000"}', "display_name"),
        ("PATCH", "/api/v1/users/me", '{"display_name": "line\\nbreak"}', "display_name"),
        ("POST", "/api/v1/users/me/tokens", '{"name": "lap\\u0000top"}', "name"),
        ("POST", "/api/v1/users/me/tokens", '{"name": "lap\\u001btop"}', "name"),
    ]
    failures = {}
    for method, path, body, field in cases:
        response = await env.client.request(method, path, headers=headers, content=body.encode())
        problems = problems_with(response, 400, f"{field}_invalid:{field}")
        if problems:
            failures[f"{method} {path} {body}"] = problems
    assert failures == {}
    users = await env.client.get("/api/v1/users", headers=headers)
    assert [u["username"] for u in users.json()] == ["admin"]
    assert users.json()[0]["display_name"] == ""
    tokens = await env.client.get("/api/v1/users/me/tokens", headers=headers)
    assert [t["name"] for t in tokens.json()] == ["bootstrap"]


async def test_a_wrong_method_is_405_with_every_method_of_the_path_in_allow(env: Env) -> None:
    # One path is often several routes (GET and POST /api/v1/models); Allow lists them all.
    headers = env.auth(env.owner_token)
    cases = {
        "/api/v1/models": {"GET", "POST"},
        f"/api/v1/models/{uuid.uuid4()}": {"GET", "PATCH", "DELETE"},
        "/api/v1/users/me/tokens": {"GET", "POST"},
        f"/api/v1/me/provider-keys/{uuid.uuid4()}": {"PUT", "DELETE"},
        "/api/v1/users/me": {"GET", "PATCH"},
    }
    for path, methods in cases.items():
        response = await env.client.request("OPTIONS", path, headers=headers)
        assert response.status_code == 405, path
        assert response.json()["code"] == "method_not_allowed"
        allowed = response.headers.get_list("allow")
        assert len(allowed) == 1, (path, allowed)
        assert set(allowed[0].split(", ")) - {"HEAD"} == methods, (path, allowed)
