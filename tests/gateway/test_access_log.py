"""The access line of a ``/v1`` request names the model, the config and key source that
answered and what went wrong before; upstream failures are warnings (SPEC §12). Never a
key, a token or prompt text."""

from __future__ import annotations

import logging
import shlex
from typing import Any

import pytest

from chatgate.logs import TextFormatter
from tests.gateway.conftest import two_openai_configs
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY_A = "sk-canary-log-a-0123456789"
KEY_B = "sk-canary-log-b-0123456789"
PROMPT = "prompt text that must never be logged 7f3a"


def _fields(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    return [dict(getattr(r, "fields", {})) for r in caplog.records if r.name == logger]


async def test_a_failed_over_request_logs_its_failed_attempt_and_the_one_that_answered(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    await two_openai_configs(env, fake.url + "/v1", fake2.url + "/v1", key_a=KEY_A, key_b=KEY_B)
    fake.script(status=503, error_message=f"overloaded, key {KEY_A}")
    caplog.set_level(logging.INFO)
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": PROMPT}]},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200
    request_id = response.headers["x-chatgate-request-id"]

    [line] = [f for f in _fields(caplog, "chatgate.access") if f["request_id"] == request_id]
    assert line == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "request_id": request_id,
        "model": "chat",
        "provider_config": "b",
        "key_source": "central",
        "attempts": 2,
        "failed_attempts": "503:service",
    }
    [warning] = _fields(caplog, "chatgate.upstream")
    assert (warning["provider_config"], warning["status"], warning["error_class"]) == (
        "a",
        503,
        "service",
    )
    assert warning["request_id"] == request_id
    logged = caplog.text + repr([getattr(r, "fields", None) for r in caplog.records])
    for secret in (KEY_A, KEY_B, PROMPT, env.owner_token):
        assert secret not in logged


async def test_api_requests_and_refusals_get_an_access_line_too(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    refused = await env.client.post(
        "/v1/chat/completions",
        json={"model": "nope", "messages": [{"role": "user", "content": PROMPT}]},
        headers=env.auth(env.owner_token),
    )
    me = await env.client.get("/api/v1/users/me", headers=env.auth(env.owner_token))
    lines = {f["request_id"]: f for f in _fields(caplog, "chatgate.access")}
    assert lines[refused.headers["x-chatgate-request-id"]]["status"] == 404
    assert "model" not in lines[refused.headers["x-chatgate-request-id"]]
    api_line = lines[me.headers["x-chatgate-request-id"]]
    assert (api_line["method"], api_line["path"], api_line["status"]) == (
        "GET",
        "/api/v1/users/me",
        200,
    )
    assert PROMPT not in caplog.text


def test_a_text_line_cannot_be_forged_by_a_path() -> None:
    forged = "/x\n2026-01-01T00:00:00.000Z INFO chatgate.access request path=/admin status=200"
    record = logging.LogRecord("chatgate.access", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"path": forged, "status": 404, "note": 'a "quoted" value'}
    line = TextFormatter().format(record)
    assert "\n" not in line
    fields = shlex.split(line.split(" request ", 1)[1])  # quoted values stay one token
    escaped = forged.replace("\n", "\\n")  # JSON string escaping, newline included
    assert fields == [f"path={escaped}", "status=404", 'note=a "quoted" value']
