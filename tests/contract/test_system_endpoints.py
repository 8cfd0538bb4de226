"""``/healthz``, ``/readyz`` and ``/metrics`` (SPEC §12)."""

from __future__ import annotations

import base64
import re

import httpx

from chatgate.app import create_app
from chatgate.crypto import KeyRing
from chatgate.crypto.keyring import key_digest
from chatgate.db import migrate
from chatgate.startup import build_runtime
from tests.support.helpers import Env, plant_sealed_secrets, settings_for


async def test_healthz_and_readyz_answer_anyone_when_everything_is_in_order(env: Env) -> None:
    health = await env.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await env.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["checks"]) == (
        "ready",
        {"database": "ok", "migrations": "ok", "encryption_keys": "ok", "change_feed": "ok"},
    )
    feed = body["change_feed"]
    assert feed["mode"] == ("listen" if env.is_postgres else "poll")
    assert (feed["connected"], feed["down_for_s"]) == (True, 0.0)


async def test_metrics_need_an_admin_or_auditor_token(env: Env) -> None:
    _, member = await env.new_user("bob")
    _, auditor = await env.new_user("eve", "auditor")
    assert (await env.client.get("/metrics")).status_code == 401
    assert (await env.client.get("/metrics", headers=env.auth(member))).status_code == 403
    for token in (auditor, env.owner_token):
        response = await env.client.get("/metrics", headers=env.auth(token))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")


async def test_public_metrics_setting_opens_metrics_to_anyone(env: Env) -> None:
    settings = settings_for(env.runtime.settings.database_url, metrics_public=True)
    runtime, _ = await build_runtime(settings, run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert "chatgate_http_requests_total" in response.text
    finally:
        await runtime.db.dispose()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (labels matched exactly), 0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


async def test_metrics_count_requests_latency_queries_and_auth_failures_without_ids(
    env: Env,
) -> None:
    member_id, member = await env.new_user("bob")
    owner = env.auth(env.owner_token)
    tokens = await env.client.get(f"/api/v1/users/{member_id}/tokens", headers=owner)
    token_id = tokens.json()[0]["id"]
    await env.client.get(f"/api/v1/users/{member_id}", headers=owner)
    await env.client.get(f"/api/v1/users/{member_id}", headers=env.auth(member))  # 403
    await env.client.get("/api/v1/users/me", headers=env.auth("cgt_" + "A" * 43))  # unknown
    await env.client.get("/api/v1/users/me")  # no token
    await env.client.patch(f"/api/v1/users/{member_id}", json={"disabled": True}, headers=owner)
    await env.client.get("/api/v1/users/me", headers=env.auth(member))  # disabled
    await env.client.get("/no/such/route")

    text = (await env.client.get("/metrics", headers=owner)).text
    route = "/api/v1/users/{user_id}"
    requests = "chatgate_http_requests_total"
    assert sample(text, requests, route=route, method="GET", status="200") == 1
    assert sample(text, requests, route=route, method="GET", status="403") == 1
    assert sample(text, requests, route="unmatched", method="GET", status="404") == 1
    latency = "chatgate_http_request_duration_seconds_count"
    assert sample(text, latency, route=route, method="GET") == 2
    assert sample(text, "chatgate_db_query_duration_seconds_count") > 0
    failures = "chatgate_auth_failures_total"
    assert sample(text, failures, reason="unknown_token") == 1
    assert sample(text, failures, reason="missing_token") == 1
    assert sample(text, failures, reason="user_disabled") == 1
    owner_id = (await env.client.get("/api/v1/users/me", headers=owner)).json()["id"]
    for secret_or_id in (member_id, owner_id, token_id, member, env.owner_token):
        assert secret_or_id not in text
        assert secret_or_id.replace("-", "") not in text


async def test_readyz_is_unready_while_the_schema_is_behind_head(
    scratch_database_url: str,
) -> None:
    runtime, _ = await build_runtime(settings_for(scratch_database_url))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/readyz")).status_code == 200
            await migrate.downgrade(scratch_database_url, "base")
            response = await client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["migrations"] == f"at None, head is {migrate.head_revision()}"
    finally:
        await runtime.db.dispose()


async def test_readyz_names_secrets_under_an_unknown_key_but_stays_ready(env: Env) -> None:
    stray_key = base64.b64encode(b"s" * 32).decode()
    await plant_sealed_secrets(
        env.runtime.db, KeyRing.from_env_value(stray_key), await env.owner_id(), central_keys=1
    )
    response = await env.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["key_undecryptable"] == {key_digest(b"s" * 32): 2}
