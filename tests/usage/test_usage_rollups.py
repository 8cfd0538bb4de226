"""GET /api/v1/usage over wide windows reads hourly and daily rollups kept by the usage
recorder: the totals are those of the usage rows (counts and tokens exact, the median
within 1 %), whatever the window's edges; ``group_by=day`` gives one entry per UTC day."""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.engine import Database
from chatgate.ids import new_id
from chatgate.store import settings as settings_store
from chatgate.store.usage import insert_usage_rows
from chatgate.usage.recorder import UsageRecorder, UsageRow
from chatgate.usage.rollups import ROLLUPS_FROM_SETTING, rebuild_rollups
from tests.support.helpers import Env, add_model, add_provider, gather_all
from tests.support.providers import pg_only
from tests.support.tcp_proxy import TcpProxy

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)
REQUESTS = 400
STEP = timedelta(minutes=11)  # 400 requests over about three days
# A window with partial hours at both ends, spanning whole hours and whole days.
SINCE = T0 + timedelta(hours=3, minutes=30)
UNTIL = T0 + timedelta(days=2, hours=7, minutes=20)
P50_PRECISION = 0.01


@dataclass
class World:
    rows: list[UsageRow]
    users: list[tuple[str, str]]  # (id, token)


async def build(env: Env) -> World:
    """Two members, two providers with one key each, three models. Every fifth request
    fails on p1 and is retried on p2 a second later; every seventh is refused."""
    users = [await env.new_user(f"user{n}") for n in range(2)]
    p1 = await add_provider(env, family="openai", name="p1", api_key="sk-p1-key")
    p2 = await add_provider(env, family="openai", name="p2", api_key="sk-p2-key")
    models = [
        await add_model(env, name=f"m{n}", model=f"up-{n}", provider_config_id=p1["id"])
        for n in range(3)
    ]
    keys = {}
    for provider in (p1, p2):
        listed = await env.client.get(
            f"/api/v1/providers/{provider['id']}/keys", headers=env.auth(env.owner_token)
        )
        keys[provider["id"]] = uuid.UUID(listed.json()[0]["id"])
    rows: list[UsageRow] = []
    for n in range(REQUESTS):
        at = T0 + n * STEP
        user = uuid.UUID(users[n % 2][0])
        model = uuid.UUID(models[n % 3]["id"])

        def attempt(provider: dict[str, Any], number: int, offset: int, **fields: Any) -> UsageRow:
            return UsageRow(
                request_id=f"req-{n}", user_id=user, model_config_id=model,  # noqa: B023
                provider_config_id=uuid.UUID(provider["id"]), key_id=keys[provider["id"]],
                key_source="central", status=fields.get("status", 200),
                error_class=fields.get("error_class"), attempt=number,
                latency_ms=float(20 + (n * 37) % 900), ttfb_ms=None,  # noqa: B023
                input_tokens=fields.get("tokens", 0), output_tokens=fields.get("tokens", 0) // 2,
                created_at=at + timedelta(seconds=offset),  # noqa: B023
            )  # fmt: skip

        if n % 7 == 0:
            refused = UsageRow(
                request_id=f"req-{n}", user_id=user, model_config_id=model,
                provider_config_id=None, key_id=None, key_source=None, status=403,
                error_class="no_key", attempt=0, latency_ms=0.0, ttfb_ms=None,
                input_tokens=None, output_tokens=None, created_at=at,
            )  # fmt: skip
            rows.append(refused)
        elif n % 5 == 0:
            rows.append(attempt(p1, 1, 0, status=500, error_class="upstream_5xx"))
            rows.append(attempt(p2, 2, 1, tokens=n))
        else:
            rows.append(attempt(p1, 1, 0, tokens=n))
    return World(rows, users)


GROUP_FIELDS: dict[str, Callable[[UsageRow], tuple[Any, ...]]] = {
    "user": lambda r: (str(r.user_id),),
    "model": lambda r: (str(r.model_config_id),),
    "provider_config": lambda r: (None if r.provider_config_id is None else str(r.provider_config_id),),
    "key": lambda r: (r.key_source, None if r.key_id is None else str(r.key_id)),
    "day": lambda r: (r.created_at.date().isoformat(),),
}  # fmt: skip
RESPONSE_FIELDS = {
    "user": ("user_id",),
    "model": ("model_config_id",),
    "provider_config": ("provider_config_id",),
    "key": ("key_source", "key_id"),
    "day": ("day",),
}


def expected(
    rows: Sequence[UsageRow], group_by: str, since: datetime | None, until: datetime | None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The totals computed straight from the rows: the oracle."""
    inside = [
        r
        for r in rows
        if (since is None or r.created_at >= since) and (until is None or r.created_at < until)
    ]
    groups: dict[tuple[Any, ...], list[UsageRow]] = defaultdict(list)
    for row in inside:
        groups[GROUP_FIELDS[group_by](row)].append(row)
    totals = {}
    for group, members in groups.items():
        latencies = [r.latency_ms for r in members if r.attempt >= 1]
        totals[group] = {
            "requests": len({r.request_id for r in members}),
            "attempts": len(latencies),
            "errors": sum(1 for r in members if r.error_class is not None),
            "input_tokens": sum(r.input_tokens or 0 for r in members),
            "output_tokens": sum(r.output_tokens or 0 for r in members),
            "p50_latency_ms": statistics.median(latencies) if latencies else None,
        }
    return totals


async def answered(
    env: Env, group_by: str, since: datetime | None, until: datetime | None, token: str = ""
) -> dict[tuple[Any, ...], dict[str, Any]]:
    params = {"group_by": group_by}
    if since is not None:
        params["since"] = since.isoformat()
    if until is not None:
        params["until"] = until.isoformat()
    response = await env.client.get(
        "/api/v1/usage", params=params, headers=env.auth(token or env.owner_token)
    )
    assert response.status_code == 200, response.text
    return {
        tuple(group[name] for name in RESPONSE_FIELDS[group_by]): {
            name: group[name] for name in expected_fields()
        }
        for group in response.json()
    }


def expected_fields() -> tuple[str, ...]:
    return ("requests", "attempts", "errors", "input_tokens", "output_tokens", "p50_latency_ms")


def assert_matches(
    found: dict[tuple[Any, ...], dict[str, Any]], wanted: dict[tuple[Any, ...], dict[str, Any]]
) -> None:
    assert found.keys() == wanted.keys()
    for group, totals in wanted.items():
        exact = {k: v for k, v in totals.items() if k != "p50_latency_ms"}
        assert {k: found[group][k] for k in exact} == exact, group
        if totals["p50_latency_ms"] is None:
            assert found[group]["p50_latency_ms"] is None
        else:
            assert found[group]["p50_latency_ms"] == pytest.approx(
                totals["p50_latency_ms"], rel=P50_PRECISION
            )


FLUSH_EVERY = 97  # rows per flush: later flushes add to rollup rows earlier ones wrote


async def record(env: Env, rows: Sequence[UsageRow]) -> None:
    recorder = UsageRecorder(env.runtime.db)
    for start in range(0, len(rows), FLUSH_EVERY):
        for row in rows[start : start + FLUSH_EVERY]:
            recorder.record(row)
        await recorder.flush()


WINDOWS = [
    pytest.param(SINCE, UNTIL, id="partial-hours-at-both-ends"),
    pytest.param(T0 + timedelta(days=1), T0 + timedelta(days=2), id="whole-days"),
    pytest.param(None, UNTIL, id="no-since"),
    pytest.param(SINCE, None, id="no-until"),
    pytest.param(None, None, id="everything"),
]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
async def test_wide_windows_answer_the_totals_of_the_usage_rows(
    env: Env, since: datetime | None, until: datetime | None
) -> None:
    world = await build(env)
    await record(env, world.rows)
    for group_by in ("model", "user", "provider_config", "key", "day"):
        assert_matches(
            await answered(env, group_by, since, until),
            expected(world.rows, group_by, since, until),
        )


async def test_days_are_listed_in_order_for_charts_and_members_get_their_own(env: Env) -> None:
    world = await build(env)
    await record(env, world.rows)
    response = await env.client.get(
        "/api/v1/usage", params={"group_by": "day"}, headers=env.auth(env.owner_token)
    )
    days = [group["day"] for group in response.json()]
    assert days == ["2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08"]
    assert set(response.json()[0]) == {"day", *expected_fields()}

    member_id, member_token = world.users[1]
    mine = [r for r in world.rows if str(r.user_id) == member_id]
    assert_matches(
        await answered(env, "day", None, None, member_token), expected(mine, "day", None, None)
    )
    narrow_since, narrow_until = T0 + timedelta(hours=20), T0 + timedelta(hours=30)
    assert_matches(
        await answered(env, "day", narrow_since, narrow_until),
        expected(world.rows, "day", narrow_since, narrow_until),
    )


async def insert_directly(env: Env, rows: Sequence[UsageRow]) -> None:
    """Rows written around the recorder (an import, or usage recorded before rollups)."""

    async def work(session: AsyncSession) -> None:
        await insert_usage_rows(session, [{"id": new_id(), **row._asdict()} for row in rows])

    await env.runtime.db.write(work, notify=False)


async def test_usage_recorded_before_rollups_existed_is_read_from_the_rows(env: Env) -> None:
    """An upgraded database: rows before ``usage_rollups_from`` have no rollups; the read
    takes them from the rows, and a rebuild makes rollups cover them."""
    world = await build(env)
    cut = T0 + timedelta(days=1, hours=5)
    await insert_directly(env, [r for r in world.rows if r.created_at < cut])

    async def mark(session: AsyncSession) -> None:
        settings_store.add_setting(session, ROLLUPS_FROM_SETTING, cut.isoformat())

    await env.runtime.db.write(mark, notify=False)
    await record(env, [r for r in world.rows if r.created_at >= cut])
    for group_by in ("model", "provider_config", "day"):
        assert_matches(
            await answered(env, group_by, SINCE, UNTIL),
            expected(world.rows, group_by, SINCE, UNTIL),
        )
    assert await rebuild_rollups(env.runtime.db) == len(world.rows)
    for group_by in ("key", "user"):
        assert_matches(
            await answered(env, group_by, None, None), expected(world.rows, group_by, None, None)
        )


@pg_only
async def test_recorders_of_several_processes_flushing_at_once_keep_rollups_exact(
    env: Env,
) -> None:
    world = await build(env)
    halves = [world.rows[0::2], world.rows[1::2]]
    recorders = [UsageRecorder(env.runtime.db) for _ in halves]
    for recorder, half in zip(recorders, halves, strict=True):
        for row in half:
            recorder.record(row)
    await gather_all([recorder.flush for recorder in recorders])
    for group_by in ("model", "user", "day"):
        assert_matches(
            await answered(env, group_by, None, None), expected(world.rows, group_by, None, None)
        )


@pg_only
async def test_rows_kept_through_a_database_outage_are_counted_once_when_written(
    env: Env,
) -> None:
    """A flush the database cannot take keeps its rows and their tallies; the next flush
    writes them as they were, so a request still counts once in every grouping."""
    world = await build(env)
    half = len(world.rows) // 2
    async with TcpProxy("127.0.0.1", 5432) as proxy:
        proxied = Database(env.runtime.settings.database_url.replace(":5432/", f":{proxy.port}/"))
        try:
            recorder = UsageRecorder(proxied)
            for row in world.rows[:half]:
                recorder.record(row)
            proxy.cut()
            await recorder.flush()  # refused: kept
            assert recorder.written == 0
            for row in world.rows[half:]:
                recorder.record(row)
            proxy.restore()
            await recorder.flush()
            assert recorder.written == len(world.rows)
        finally:
            await proxied.dispose()
    for group_by in ("model", "user", "provider_config", "key", "day"):
        assert_matches(
            await answered(env, group_by, SINCE, UNTIL),
            expected(world.rows, group_by, SINCE, UNTIL),
        )
