"""GET /api/v1/usage (SPEC §14): totals per user, model, provider config or key over a
window, with ``since`` inclusive and ``until`` exclusive; members see only their own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatgate.usage.recorder import UsageRecorder, UsageRow
from tests.support.helpers import Env, add_model, add_provider

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOUR_LATER = T0 + timedelta(hours=1)


@dataclass
class World:
    alice: str  # member ids and tokens
    alice_token: str
    bob: str
    bob_token: str
    m1: dict[str, Any]
    m2: dict[str, Any]
    p1: dict[str, Any]
    p2: dict[str, Any]
    k1: str
    k2: str


def row(
    request_id: str,
    user: str,
    model: str,
    provider: str | None,
    key: tuple[str | None, str | None],
    *,
    at: datetime,
    attempt: int = 1,
    status: int = 200,
    error_class: str | None = None,
    latency_ms: float = 0.0,
    tokens: tuple[int, int] | None = None,
) -> UsageRow:
    source, key_id = key
    return UsageRow(
        request_id=request_id,
        user_id=uuid.UUID(user),
        model_config_id=uuid.UUID(model),
        provider_config_id=uuid.UUID(provider) if provider else None,
        key_id=uuid.UUID(key_id) if key_id else None,
        key_source=source,
        status=status,
        error_class=error_class,
        attempt=attempt,
        latency_ms=latency_ms,
        ttfb_ms=None,
        input_tokens=tokens[0] if tokens else None,
        output_tokens=tokens[1] if tokens else None,
        created_at=at,
    )


async def seed(env: Env) -> World:
    """Five requests. r1 (alice, m1) fails on p1 and succeeds on p2; r2 (alice, m1) and r3
    (bob, m2, his own key) succeed; r4 (bob, m1) is refused before any attempt; r5 (alice,
    m2) is exactly at ``HOUR_LATER``, outside the window ``[T0, HOUR_LATER)``."""
    alice, alice_token = await env.new_user("alice")
    bob, bob_token = await env.new_user("bob")
    p1 = await add_provider(env, family="openai", name="p1", api_key="sk-p1-key")
    p2 = await add_provider(env, family="openai", name="p2", api_key="sk-p2-key")
    m1 = await add_model(env, name="m1", model="up-1", provider_config_id=p1["id"])
    m2 = await add_model(env, name="m2", model="up-2", provider_config_id=p2["id"])
    keys = {}
    for provider in (p1, p2):
        listed = await env.client.get(
            f"/api/v1/providers/{provider['id']}/keys", headers=env.auth(env.owner_token)
        )
        keys[provider["name"]] = listed.json()[0]["id"]
    k1, k2 = keys["p1"], keys["p2"]
    c1, c2 = ("central", k1), ("central", k2)
    recorder = UsageRecorder(env.runtime.db)
    for usage in (
        row("r1", alice, m1["id"], p1["id"], c1, at=T0, status=500,
            error_class="upstream_5xx", latency_ms=100.0),
        row("r1", alice, m1["id"], p2["id"], c2, at=T0 + timedelta(seconds=1), attempt=2,
            latency_ms=300.0, tokens=(10, 5)),
        row("r2", alice, m1["id"], p1["id"], c1, at=T0 + timedelta(seconds=2),
            latency_ms=200.0, tokens=(20, 10)),
        row("r3", bob, m2["id"], p2["id"], ("user", None), at=T0 + timedelta(seconds=3),
            latency_ms=50.0, tokens=(1, 1)),
        row("r4", bob, m1["id"], None, (None, None), at=T0 + timedelta(seconds=4), attempt=0,
            status=403, error_class="no_key"),
        row("r5", alice, m2["id"], p1["id"], c1, at=HOUR_LATER, latency_ms=1000.0,
            tokens=(100, 100)),
    ):  # fmt: skip
        recorder.record(usage)
    await recorder.flush()
    return World(alice, alice_token, bob, bob_token, m1, m2, p1, p2, k1, k2)


async def usage(env: Env, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await env.client.get("/api/v1/usage", params=params, headers=env.auth(token))
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


WINDOW = {"since": T0.isoformat(), "until": HOUR_LATER.isoformat()}
TOTALS = ("requests", "attempts", "errors", "input_tokens", "output_tokens", "p50_latency_ms")


def totals(group: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(group[name] for name in TOTALS)


async def test_grouped_by_model_by_default(env: Env) -> None:
    world = await seed(env)
    groups = await usage(env, env.owner_token, **WINDOW)
    assert [set(g) - set(TOTALS) for g in groups] == [{"model_config_id", "name"}] * 2
    assert [(g["name"], g["model_config_id"], *totals(g)) for g in groups] == [
        # m1: r1 (two attempts, one failed), r2, r4 (refused): median of 100, 200, 300
        ("m1", world.m1["id"], 3, 3, 2, 30, 15, 200.0),
        ("m2", world.m2["id"], 1, 1, 0, 1, 1, 50.0),
    ]


async def test_grouped_by_provider_config_the_median_of_an_even_count_is_interpolated(
    env: Env,
) -> None:
    world = await seed(env)
    groups = await usage(env, env.owner_token, group_by="provider_config", **WINDOW)
    assert [(g.get("provider_config_id"), g.get("name"), *totals(g)) for g in groups] == [
        (world.p1["id"], "p1", 2, 2, 1, 20, 10, 150.0),
        (world.p2["id"], "p2", 2, 2, 0, 11, 6, 175.0),
        (None, None, 1, 0, 1, 0, 0, None),  # refused before a config was chosen
    ]


async def test_grouped_by_user_and_by_key(env: Env) -> None:
    world = await seed(env)
    by_user = await usage(env, env.owner_token, group_by="user", **WINDOW)
    assert [(g["user_id"], g["username"], *totals(g)) for g in by_user] == [
        (world.alice, "alice", 2, 3, 1, 30, 15, 200.0),
        (world.bob, "bob", 2, 1, 1, 1, 1, 50.0),
    ]
    by_key = await usage(env, env.owner_token, group_by="key", **WINDOW)
    assert [set(g) - set(TOTALS) for g in by_key] == [{"key_source", "key_id"}] * 4
    assert sorted(
        ((g["key_source"] or "", g["key_id"] or ""), g["requests"], g["attempts"]) for g in by_key
    ) == [
        (("", ""), 1, 0),
        (("central", world.k1), 2, 2),
        (("central", world.k2), 1, 1),
        (("user", ""), 1, 1),
    ]


async def test_since_is_inclusive_and_until_exclusive(env: Env) -> None:
    await seed(env)
    everything = await usage(env, env.owner_token, group_by="user")
    assert sum(g["requests"] for g in everything) == 5
    at_t0 = await usage(
        env, env.owner_token, since=T0.isoformat(), until=(T0 + timedelta(seconds=1)).isoformat()
    )
    assert [(g["name"], g["attempts"], g["errors"]) for g in at_t0] == [("m1", 1, 1)]
    from_the_hour = await usage(env, env.owner_token, since=HOUR_LATER.isoformat())
    assert [(g["name"], g["requests"], g["input_tokens"]) for g in from_the_hour] == [
        ("m2", 1, 100)
    ]
    # Without a zone the time is UTC.
    naive = HOUR_LATER.replace(tzinfo=None).isoformat()
    assert await usage(env, env.owner_token, since=naive) == from_the_hour
    before = await usage(env, env.owner_token, until=T0.isoformat())
    assert before == []


async def test_members_see_only_their_own_usage_auditors_everyones(env: Env) -> None:
    world = await seed(env)
    mine = await usage(env, world.alice_token, group_by="user", **WINDOW)
    assert [(g["user_id"], g["requests"]) for g in mine] == [(world.alice, 2)]
    by_model = await usage(env, world.bob_token, **WINDOW)
    # Busiest first: as many requests each, m2's made more attempts.
    assert [(g["name"], g["requests"], g["attempts"]) for g in by_model] == [
        ("m2", 1, 1),
        ("m1", 1, 0),
    ]
    _, auditor = await env.new_user("auditor", "auditor")
    assert await usage(env, auditor, group_by="user", **WINDOW) == await usage(
        env, env.owner_token, group_by="user", **WINDOW
    )


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"group_by": "team"}, 422, "invalid_request"),
        ({"since": "last week"}, 422, "invalid_request"),
        ({"since": HOUR_LATER.isoformat(), "until": T0.isoformat()}, 400, "window_invalid"),
    ],
)
async def test_bad_parameters_are_refused(
    env: Env, params: dict[str, str], status: int, code: str
) -> None:
    response = await env.client.get(
        "/api/v1/usage", params=params, headers=env.auth(env.owner_token)
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_no_usage_is_an_empty_list(env: Env) -> None:
    assert await usage(env, env.owner_token) == []
    assert (await env.client.get("/api/v1/usage")).status_code == 401
