"""Connection tests (SPEC §8): POST /api/v1/providers/{id}/test and /providers/test make
one cheap authenticated call per key against a real (fake) upstream and report status and
the upstream's message, redacted and capped, without ever changing a key's state."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, add_provider

KEY_A = "sk-connection-test-key-a-0123456789"
KEY_B = "sk-connection-test-key-b-0123456789"
KEY_OFF = "sk-connection-test-key-off-012345678"


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def pool_of(env: Env, base_url: str) -> tuple[str, list[dict[str, Any]]]:
    """A config with keys A and B enabled and a third disabled; its id and key list."""
    owner = env.auth(env.owner_token)
    provider = await add_provider(
        env, family="openai-compat", name="box", base_url=base_url, api_key=KEY_A
    )
    for secret, enabled in ((KEY_B, True), (KEY_OFF, False)):
        added = await env.client.post(
            f"/api/v1/providers/{provider['id']}/keys",
            json={"api_key": secret, "label": secret[-12:], "enabled": enabled},
            headers=owner,
        )
        assert added.status_code == 201, added.text
    return provider["id"], await keys_of(env, provider["id"])


async def keys_of(env: Env, provider_id: str) -> list[dict[str, Any]]:
    listed = await env.client.get(
        f"/api/v1/providers/{provider_id}/keys", headers=env.auth(env.owner_token)
    )
    assert listed.status_code == 200, listed.text
    keys: list[dict[str, Any]] = listed.json()
    return keys


async def audit_count(env: Env) -> int:
    page = await env.client.get(
        "/api/v1/audit-log", params={"limit": 500}, headers=env.auth(env.owner_token)
    )
    return len(page.json()["items"])


async def run_test(env: Env, provider_id: str, **body: Any) -> dict[str, Any]:
    response = await env.client.post(
        f"/api/v1/providers/{provider_id}/test",
        json=body or None,
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_every_enabled_key_is_tested_and_nothing_changes(
    env: Env, fake: FakeUpstream
) -> None:
    provider_id, keys = await pool_of(env, fake.url + "/v1")
    audited = await audit_count(env)

    result = await run_test(env, provider_id)

    assert result["ok"] is True
    assert [(k["id"], k["ok"], k["status"]) for k in result["keys"]] == [
        (keys[0]["id"], True, 200),
        (keys[1]["id"], True, 200),
    ]
    assert sorted((r.method, r.path, r.api_key) for r in fake.requests) == [
        ("GET", "/v1/models", KEY_A),
        ("GET", "/v1/models", KEY_B),
    ]
    assert await keys_of(env, provider_id) == keys  # no state, no last_used_at
    assert await audit_count(env) == audited


async def test_a_rejected_key_reports_401_redacted_and_stays_active(
    env: Env, fake: FakeUpstream
) -> None:
    provider_id, keys = await pool_of(env, fake.url + "/v1")
    fake.script(status=401, error_message=f"Incorrect API key provided: {KEY_A}", times=2)

    result = await run_test(env, provider_id, key_id=keys[0]["id"])

    assert result["ok"] is False
    [entry] = result["keys"]
    assert (entry["id"], entry["ok"], entry["status"]) == (keys[0]["id"], False, 401)
    assert entry["message"] == "Incorrect API key provided: <redacted>"
    assert KEY_A not in str(result)
    after = await keys_of(env, provider_id)
    assert after == keys
    assert after[0]["state"] == "active"  # a real 401 would have made it invalid


async def test_a_disabled_key_can_be_tested_by_id_and_unknown_ids_are_404(
    env: Env, fake: FakeUpstream
) -> None:
    provider_id, keys = await pool_of(env, fake.url + "/v1")
    result = await run_test(env, provider_id, key_id=keys[2]["id"])
    assert [(k["id"], k["ok"]) for k in result["keys"]] == [(keys[2]["id"], True)]
    assert [r.api_key for r in fake.requests] == [KEY_OFF]
    assert (await keys_of(env, provider_id))[2]["enabled"] is False
    owner = env.auth(env.owner_token)
    for path, body in (
        (
            f"/api/v1/providers/{provider_id}/test",
            {"key_id": "01a24ca3-0000-7000-8000-000000000000"},
        ),
        ("/api/v1/providers/01a24ca3-0000-7000-8000-000000000000/test", None),
        ("/api/v1/providers/not-an-id/test", None),
    ):
        response = await env.client.post(path, json=body, headers=owner)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


async def test_a_base_url_missing_v1_is_named(env: Env, fake: FakeUpstream) -> None:
    fake.serve_only_under = "/v1"
    provider_id, _ = await pool_of(env, fake.url)

    result = await run_test(env, provider_id)

    assert result["ok"] is False
    for entry in result["keys"]:
        assert entry["status"] == 404
        assert entry["ok"] is False
        assert entry["message"] == (
            f"{fake.url}/models answered 404 but {fake.url}/v1/models answers (HTTP 200): "
            f"the base URL lacks /v1, use {fake.url}/v1"
        )


async def test_a_404_that_v1_does_not_fix_is_reported_as_is(env: Env, fake: FakeUpstream) -> None:
    fake.default.status = 404
    fake.default.error_message = "no such route"
    provider_id, _ = await pool_of(env, fake.url)
    result = await run_test(env, provider_id)
    assert [(k["status"], k["message"]) for k in result["keys"]] == [(404, "no such route")] * 2


async def test_an_unreachable_upstream_has_no_status(env: Env) -> None:
    provider_id, keys = await pool_of(env, f"http://127.0.0.1:{closed_port()}/v1")
    result = await run_test(env, provider_id)
    assert result["ok"] is False
    for entry in result["keys"]:
        assert entry["status"] is None
        assert entry["message"].startswith("cannot connect to upstream 127.0.0.1")
    assert await keys_of(env, provider_id) == keys


async def test_upstream_messages_are_capped_at_1_kib(env: Env, fake: FakeUpstream) -> None:
    provider_id, keys = await pool_of(env, fake.url + "/v1")
    fake.script(status=403, error_message="é" * 4000)
    result = await run_test(env, provider_id, key_id=keys[0]["id"])
    message = result["keys"][0]["message"]
    assert len(message.encode()) <= 1024
    assert message.startswith("éé")


async def test_unsaved_settings_are_tested_and_nothing_is_stored(
    env: Env, fake: FakeUpstream
) -> None:
    owner = env.auth(env.owner_token)
    audited = await audit_count(env)
    response = await env.client.post(
        "/api/v1/providers/test",
        json={"family": "openai-compat", "base_url": fake.url + "/v1/", "api_key": KEY_A},
        headers=owner,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ok": True,
        "keys": [
            {"id": None, "ok": True, "status": 200, "message": "the upstream accepted the key"}
        ],
    }
    assert [(r.path, r.api_key) for r in fake.requests] == [("/v1/models", KEY_A)]
    assert (await env.client.get("/api/v1/providers", headers=owner)).json() == []
    assert await audit_count(env) == audited

    fake.serve_only_under = "/v1"
    missing_v1 = await env.client.post(
        "/api/v1/providers/test",
        json={"family": "openai-compat", "base_url": fake.url, "api_key": KEY_A},
        headers=owner,
    )
    assert missing_v1.status_code == 200
    assert f"use {fake.url}/v1" in missing_v1.json()["keys"][0]["message"]


@pytest.mark.parametrize(
    ("family", "path", "header", "value"),
    [
        ("anthropic", "/v1/models", "x-api-key", KEY_A),
        ("google", "/v1beta/models", "x-goog-api-key", KEY_A),
        ("azure", "/openai/v1/models", "api-key", KEY_A),
        ("openrouter", "/api/v1/key", "authorization", f"Bearer {KEY_A}"),
    ],
)
async def test_each_family_gets_its_own_cheap_call(
    env: Env, fake: FakeUpstream, family: str, path: str, header: str, value: str
) -> None:
    base = {"azure": "/openai/v1", "openrouter": "/api/v1"}.get(family, "")
    response = await env.client.post(
        "/api/v1/providers/test",
        json={"family": family, "base_url": fake.url + base, "api_key": KEY_A},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    [request] = fake.requests
    assert (request.method, request.path, request.headers[header]) == ("GET", path, value)
    assert request.body == b""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"family": "nope", "api_key": KEY_A}, "family_invalid"),
        ({"family": "openai-compat", "api_key": KEY_A}, "base_url_required"),
        ({"family": "openai", "base_url": "ftp://x", "api_key": KEY_A}, "base_url_invalid"),
        ({"family": "openai", "api_key": "  "}, "api_key_invalid"),
    ],
)
async def test_unsaved_settings_are_validated_like_a_new_config(
    env: Env, body: dict[str, str], code: str
) -> None:
    response = await env.client.post(
        "/api/v1/providers/test", json=body, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert KEY_A not in response.text


async def test_only_admins_may_test(env: Env) -> None:
    _, auditor = await env.new_user("auditor", "auditor")
    response = await env.client.post(
        "/api/v1/providers/test",
        json={"family": "openai", "api_key": KEY_A},
        headers=env.auth(auditor),
    )
    assert response.status_code == 403
