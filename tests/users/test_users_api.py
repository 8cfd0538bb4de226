"""Users and tokens through the API (SPEC §13, §14)."""

from __future__ import annotations

from tests.helpers import Env


async def test_owner_token_reads_own_profile(env: Env) -> None:
    response = await env.client.get("/api/v1/users/me", headers=env.auth(env.owner_token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "admin"
    assert body["role"] == "owner"
    assert response.headers["x-chatgate-request-id"]


async def test_usernames_are_lower_cased_and_unique_case_insensitively(env: Env) -> None:
    owner = env.auth(env.owner_token)
    first = await env.client.post("/api/v1/users", json={"username": "  Alice "}, headers=owner)
    assert first.status_code == 201
    assert first.json()["username"] == "alice"
    second = await env.client.post("/api/v1/users", json={"username": "ALICE"}, headers=owner)
    assert second.status_code == 409
    assert second.json()["code"] == "username_taken"
