"""Migration 0006 (usage rollups) on a database that already holds usage: reads before
the next whole hour keep using the usage rows, so the usage recorded earlier still counts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db import migrate
from chatgate.db.engine import Database
from chatgate.ids import new_id, utcnow
from chatgate.store import settings as settings_store
from chatgate.store.usage import insert_usage_rows
from chatgate.usage.rollup import ceil_hour
from chatgate.usage.rollups import ROLLUPS_FROM_SETTING, rollups_from


def usage_row(at: datetime) -> dict[str, object]:
    return {
        "id": new_id(), "request_id": "before-the-upgrade", "user_id": uuid.uuid4(),
        "model_config_id": uuid.uuid4(), "provider_config_id": None, "key_id": None,
        "key_source": None, "status": 200, "error_class": None, "attempt": 1,
        "latency_ms": 12.5, "ttfb_ms": None, "input_tokens": 3, "output_tokens": 4,
        "created_at": at,
    }  # fmt: skip


async def test_usage_recorded_before_the_upgrade_keeps_being_read_from_the_rows(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    await migrate.upgrade(url, "0005")
    db = Database(url)
    try:

        async def seed(session: AsyncSession) -> None:
            await insert_usage_rows(session, [usage_row(utcnow() - timedelta(days=3))])

        await db.write(seed, notify=False)
        before = utcnow()
        await migrate.upgrade(url)
        marker = await db.read(rollups_from)
        assert marker is not None
        assert ceil_hour(before) <= marker <= ceil_hour(utcnow())
        assert marker.tzinfo is not None
        await migrate.downgrade(url, "0005")
        setting = await db.read(lambda s: settings_store.get_setting(s, ROLLUPS_FROM_SETTING))
        assert setting is None
    finally:
        await db.dispose()


async def test_a_database_without_usage_needs_no_marker(scratch_database_url: str) -> None:
    await migrate.upgrade(scratch_database_url)
    db = Database(scratch_database_url)
    try:
        assert await db.read(rollups_from) is None
    finally:
        await db.dispose()
