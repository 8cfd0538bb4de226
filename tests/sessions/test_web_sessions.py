"""Web sign-in (SPEC §12): a token becomes an HttpOnly, SameSite=Strict cookie; writes
signed in by cookie need ``x-chatgate-csrf: 1``; sign-out and revoking the token end it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from chatgate.authz.sessions import COOKIE_NAME
from chatgate.db.tables import WebSession
from chatgate.ids import utcnow
from tests.support.helpers import Env


def cookie_header(secret: str) -> dict[str, str]:
    """The session cookie as a browser sends it (the client's own jar cleared first)."""
    return {"cookie": f"{COOKIE_NAME}={secret}"}


async def sign_in(env: Env, token: str) -> httpx.Response:
    return await env.client.post("/api/v1/sessions", json={"token": token})


async def test_signing_in_sets_a_strict_httponly_cookie_that_authenticates(env: Env) -> None:
    response = await sign_in(env, env.owner_token)
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain http here; https gets Secure
    assert "max-age=43200" in cookie.lower()  # 12 hours
    assert env.owner_token not in cookie  # the cookie holds its own secret, not the token
    me = await env.client.get("/api/v1/users/me")  # the client keeps the cookie
    assert (me.status_code, me.json()["username"]) == (200, "admin")


async def test_a_bad_token_gets_no_session(env: Env) -> None:
    refused = await sign_in(env, "cgt_" + "x" * 43)
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
    assert "set-cookie" not in refused.headers
    shape = await env.client.post("/api/v1/sessions", json={"token": 42})
    assert shape.status_code == 422


async def test_cookie_writes_need_the_csrf_header_and_bearer_writes_do_not(env: Env) -> None:
    assert (await sign_in(env, env.owner_token)).status_code == 204
    body = {"username": "mia", "role": "member"}
    refused = await env.client.post("/api/v1/users", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_required")
    created = await env.client.post("/api/v1/users", json=body, headers={"x-chatgate-csrf": "1"})
    assert created.status_code == 201, created.text
    # Reads need no header; a bearer token needs none either (it cannot be sent cross-site).
    assert (await env.client.get("/api/v1/users")).status_code == 200
    env.client.cookies.clear()
    by_token = await env.client.post(
        "/api/v1/users",
        json={"username": "ola", "role": "member"},
        headers=env.auth(env.owner_token),
    )
    assert by_token.status_code == 201


async def test_signing_out_ends_the_session_even_with_a_copied_cookie(env: Env) -> None:
    assert (await sign_in(env, env.owner_token)).status_code == 204
    copied = env.client.cookies.get(COOKIE_NAME)
    assert copied
    out = await env.client.delete("/api/v1/sessions/current", headers={"x-chatgate-csrf": "1"})
    assert out.status_code == 204
    assert (
        'chatgate_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    env.client.cookies.clear()
    replayed = await env.client.get("/api/v1/users/me", headers=cookie_header(copied))
    assert replayed.status_code == 401


async def test_revoking_the_token_or_disabling_the_user_ends_their_sessions(env: Env) -> None:
    user_id, member = await env.new_user("mia")
    assert (await sign_in(env, member)).status_code == 204
    assert (await env.client.get("/api/v1/users/me")).json()["username"] == "mia"
    cookie = cookie_header(env.client.cookies[COOKIE_NAME])
    env.client.cookies.clear()
    owner = env.auth(env.owner_token)
    disabled = await env.client.patch(
        f"/api/v1/users/{user_id}", json={"disabled": True}, headers=owner
    )
    assert disabled.status_code == 200
    assert (await env.client.get("/api/v1/users/me", headers=cookie)).status_code == 401
    await env.client.patch(f"/api/v1/users/{user_id}", json={"disabled": False}, headers=owner)
    assert (await env.client.get("/api/v1/users/me", headers=cookie)).status_code == 200
    [token] = (await env.client.get(f"/api/v1/users/{user_id}/tokens", headers=owner)).json()
    revoked = await env.client.delete(f"/api/v1/tokens/{token['id']}", headers=owner)
    assert revoked.status_code == 204
    assert (await env.client.get("/api/v1/users/me", headers=cookie)).status_code == 401


async def test_a_session_idle_for_12_hours_has_ended(env: Env) -> None:
    assert (await sign_in(env, env.owner_token)).status_code == 204
    assert (await env.client.get("/api/v1/users/me")).status_code == 200

    async def age(session: Any) -> None:
        await session.execute(
            update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=12, seconds=1))
        )

    await env.runtime.db.write(age)
    assert (await env.client.get("/api/v1/users/me")).status_code == 401


async def test_a_used_session_stays_alive(env: Env) -> None:
    assert (await sign_in(env, env.owner_token)).status_code == 204

    async def age(session: Any) -> None:
        await session.execute(
            update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=11, minutes=59))
        )

    async def last_seen(session: Any) -> Any:
        return await session.scalar(select(WebSession.last_seen_at))

    await env.runtime.db.write(age)
    before = utcnow()
    assert (await env.client.get("/api/v1/users/me")).status_code == 200
    # Used 1 minute before its end, it starts a new 12-hour window.
    assert await env.runtime.db.read(last_seen) >= before
