"""Chat retention: the setting, the purge and ``chatgate chats purge`` (SPEC §10)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from chatgate.app import create_app
from chatgate.authz import Actor
from chatgate.chats import retention
from chatgate.db.engine import Database
from chatgate.db.tables import AuditEntry, Chat, ChatMessage, User
from chatgate.ids import new_id, utcnow
from chatgate.settings import Deployment
from chatgate.startup import build_runtime
from chatgate.store import chats as chat_store
from tests.conftest import empty_tables
from tests.support.helpers import TEST_KEY, Env, cli_environ, eventually, run_chatgate, settings_for
from tests.support.providers import pg_only

PATH = "/api/v1/settings/chat-retention-days"


async def test_retention_days_bounds_and_who_may_set_them(env: Env) -> None:
    _, member = await env.new_user("alice")
    owner = env.auth(env.owner_token)
    default = await env.client.get(PATH, headers=env.auth(member))
    assert (default.status_code, default.json()) == (200, {"retention_days": 30})

    for value in (-1, 3651):
        response = await env.client.put(PATH, json={"retention_days": value}, headers=owner)
        assert response.status_code == 400, value
        assert response.json()["code"] == "retention_days_invalid"
    for value in ("x", 1.5, None):
        response = await env.client.put(PATH, json={"retention_days": value}, headers=owner)
        assert response.status_code == 422, value
    for value in (0, 3650, 7):
        response = await env.client.put(PATH, json={"retention_days": value}, headers=owner)
        assert response.status_code == 204, value
        read = await env.client.get(PATH, headers=env.auth(member))
        assert read.json() == {"retention_days": value}

    refused = await env.client.put(PATH, json={"retention_days": 1}, headers=env.auth(member))
    assert refused.status_code == 403
    assert (await env.client.get(PATH, headers=owner)).json() == {"retention_days": 7}

    async def audit(session: Any) -> list[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.action == "setting.update")
        return list((await session.execute(query.order_by(AuditEntry.created_at))).scalars())

    rows = await env.runtime.db.read(audit)
    assert [r.after for r in rows] == [
        {"retention_days": 0},
        {"retention_days": 3650},
        {"retention_days": 7},
    ]


async def _plant_chats(db: Database, owner_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """1,005 archived chats past a 30-day window (with a message each), plus chats that
    must stay: archived but recent, and old but not archived."""
    now = utcnow()
    groups: dict[str, list[uuid.UUID]] = {"expired": [], "recent": [], "live": []}

    async def work(session: Any) -> None:
        def chat(group: str, updated_days_ago: float, archived: bool, n: int) -> None:
            chat_id = new_id()
            at = now - timedelta(days=updated_days_ago, seconds=n)
            session.add(
                Chat(
                    id=chat_id,
                    user_id=owner_id,
                    title=f"{group} {n}",
                    model_config_id=None,
                    archived=archived,
                    created_at=at,
                    updated_at=at,
                    reply_lease_until=None,
                )
            )
            groups[group].append(chat_id)

        for n in range(1005):
            chat("expired", 31, True, n)
        for n in range(3):
            chat("recent", 29, True, n)
            chat("live", 400, False, n)
        await session.flush()
        for chat_id in groups["expired"][:5] + groups["live"]:
            session.add(
                ChatMessage(
                    id=new_id(),
                    chat_id=chat_id,
                    role="user",
                    content="hi",
                    status="complete",
                    model_config_id=None,
                    provider_config_id=None,
                    key_source=None,
                    input_tokens=None,
                    output_tokens=None,
                    created_at=now,
                    updated_at=now,
                )
            )

    await db.write(work, notify=False)
    return groups


async def _remaining(db: Database) -> tuple[set[uuid.UUID], int]:
    async def read(session: Any) -> tuple[set[uuid.UUID], int]:
        ids = set((await session.execute(select(Chat.id))).scalars())
        messages = (await session.execute(select(func.count()).select_from(ChatMessage))).scalar()
        return ids, int(messages or 0)

    return await db.read(read)


async def test_the_purge_deletes_expired_archived_chats_in_batches(env: Env) -> None:
    groups = await _plant_chats(env.runtime.db, await env.owner_id())
    batches: list[int] = []
    before = env.runtime.metrics.chats_purged._value.get()
    result = await retention.purge(
        env.runtime.db, Actor.system(), progress=batches.append, metrics=env.runtime.metrics
    )
    assert result.deleted == 1005
    assert batches == [1000, 5]
    ids, messages = await _remaining(env.runtime.db)
    assert ids == set(groups["recent"]) | set(groups["live"])
    assert messages == 3  # the expired chats' messages went with them
    assert env.runtime.metrics.chats_purged._value.get() - before == 1005

    async def audit(session: Any) -> list[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.action == "chats.purge")
        return list((await session.execute(query)).scalars())

    rows = await env.runtime.db.read(audit)
    assert len(rows) == 1
    assert rows[0].source == "system"
    assert rows[0].after is not None
    assert (rows[0].after["deleted"], rows[0].after["retention_days"]) == (1005, 30)

    # A second pass finds nothing; 0 days turns purging off altogether.
    assert (await retention.purge(env.runtime.db, Actor.system())).deleted == 0
    put = await env.client.put(PATH, json={"retention_days": 0}, headers=env.auth(env.owner_token))
    assert put.status_code == 204
    off = await retention.purge(env.runtime.db, Actor.system(), now=utcnow() + timedelta(days=999))
    assert (off.deleted, off.cutoff) == (0, None)


async def test_chatgate_chats_purge_runs_one_pass_on_the_database(
    env: Env, database_url: str
) -> None:
    groups = await _plant_chats(env.runtime.db, await env.owner_id())
    environ = cli_environ(database_url, CHATGATE_ENCRYPTION_KEYS=TEST_KEY)
    result = await run_chatgate("chats", "purge", environ=environ, timeout=120)
    assert result.code == 0, result.stderr
    assert "deleted 1005 archived chat(s) not updated for 30 day(s)" in result.stdout
    assert "purging" in result.stderr  # the progress bar
    ids, _ = await _remaining(env.runtime.db)
    assert ids == set(groups["recent"]) | set(groups["live"])
    again = await run_chatgate("--json", "chats", "purge", environ=environ, timeout=120)
    assert again.code == 0, again.stderr
    assert again.json()["deleted"] == 0


@pg_only
async def test_only_one_process_purges_at_a_time(env: Env) -> None:
    groups = await _plant_chats(env.runtime.db, await env.owner_id())
    other = Database(env.runtime.settings.database_url)
    holding = asyncio.Event()
    finish = asyncio.Event()

    async def another_purger(session: Any) -> None:
        assert await chat_store.try_purge_lock(session)
        holding.set()
        await finish.wait()

    try:
        holder = asyncio.create_task(other.write(another_purger, notify=False))
        await asyncio.wait_for(holding.wait(), timeout=10)
        busy = await retention.purge(env.runtime.db, Actor.system())
        assert (busy.deleted, busy.skipped_busy) == (0, True)
        finish.set()
        await holder
    finally:
        finish.set()
        await other.dispose()
    done = await retention.purge(env.runtime.db, Actor.system())
    assert (done.deleted, done.skipped_busy) == (1005, False)
    ids, _ = await _remaining(env.runtime.db)
    assert ids == set(groups["recent"]) | set(groups["live"])


async def test_the_server_purges_on_its_interval(database_url: str) -> None:
    settings = settings_for(database_url, chat_purge_interval_s=0.05)
    await empty_tables(database_url)
    runtime, _ = await build_runtime(settings, run_migrations=False, deployment=Deployment({}))
    app = create_app(runtime)
    try:
        async with app.router.lifespan_context(app):

            async def owner(session: Any) -> uuid.UUID:
                return uuid.UUID(str((await session.execute(select(User.id))).scalar_one()))

            groups = await _plant_chats(runtime.db, await runtime.db.read(owner))

            async def purged() -> bool:
                ids, _ = await _remaining(runtime.db)
                return ids == set(groups["recent"]) | set(groups["live"])

            await eventually(purged, timeout=30, what="the server's purge")
    finally:
        await runtime.db.dispose()
