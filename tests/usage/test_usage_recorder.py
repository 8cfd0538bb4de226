"""The usage queue (SPEC §15): never blocks a request, says when it drops, loses nothing on shutdown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from chatgate.db.tables import UsageEvent
from chatgate.ids import utcnow
from chatgate.usage.recorder import UsageRecorder, UsageRow
from tests.support.helpers import Env


def _row(attempt: int) -> UsageRow:
    return UsageRow(
        request_id=f"req-{attempt}",
        user_id=None,
        model_config_id=None,
        provider_config_id=None,
        key_id=None,
        key_source="central",
        status=200,
        error_class=None,
        attempt=attempt,
        latency_ms=1.5,
        ttfb_ms=0.5,
        input_tokens=3,
        output_tokens=4,
        created_at=utcnow(),
    )


async def _count(env: Env) -> int:
    async def read(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(UsageEvent)))

    return await env.runtime.db.read(read)


async def test_shutdown_drains_every_queued_row(env: Env) -> None:
    recorder = UsageRecorder(env.runtime.db)
    recorder.start()
    for attempt in range(1, 1201):  # more than two flush batches
        recorder.record(_row(attempt))
    await recorder.stop()
    assert await _count(env) == 1200
    assert recorder.dropped == 0


async def test_a_full_queue_drops_rows_and_counts_them_in_the_metric(env: Env) -> None:
    dropped_metric = env.runtime.metrics.usage_dropped
    recorder = UsageRecorder(env.runtime.db, on_drop=dropped_metric.inc, limit=10)
    for attempt in range(1, 16):
        recorder.record(_row(attempt))  # never awaits: a request is never blocked
    assert recorder.dropped == 5
    metrics = await env.client.get("/metrics", headers=env.auth(env.owner_token))
    assert "chatgate_usage_dropped_total 5.0" in metrics.text
    await recorder.stop()
    assert await _count(env) == 10
