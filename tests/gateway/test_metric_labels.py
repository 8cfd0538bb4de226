"""Metric labels stay a closed set whatever clients send (SPEC §12)."""

from __future__ import annotations

from tests.support.helpers import Env

KEY = "sk-first-secret-0123456789abcdef"


async def test_an_invented_http_method_does_not_become_a_metric_label(env: Env) -> None:
    await env.client.request("XMETHOD", "/api/v1/users/me")
    metrics = await env.client.get("/metrics", headers=env.auth(env.owner_token))
    assert "XMETHOD" not in metrics.text
    assert 'method="other"' in metrics.text
