"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The database is built by running the migrations once per backend and per run; each test
starts from empty tables (truncated), with a fresh owner and token.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chatgate.app import create_app
from chatgate.db import migrate
from chatgate.db.engine import Database
from chatgate.db.tables import Base
from chatgate.settings import Deployment
from chatgate.startup import build_runtime
from tests.support.helpers import PG_URL, Env, settings_for
from tests.support.live import serve_on_loopback


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_pg_database() -> str:
    name = f"chatgate_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(PG_URL).render_as_string()} ({error}); "
            "start it (see README) or set CHATGATE_TEST_PG_URL. PostgreSQL tests never skip.",
            pytrace=False,
        )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated, empty database for one backend, dropped at the end of the run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "chatgate.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade(url)
        yield url
        return
    url = await _create_pg_database()
    try:
        await migrate.upgrade(url)
        yield url
    finally:
        await _drop_pg_database(url)


async def empty_tables(database_url: str) -> None:
    db = Database(database_url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]

    # DELETE, children first, on both databases: on PostgreSQL it is some 30 times quicker
    # than TRUNCATE for tables this small (TRUNCATE replaces each table's files), and this
    # runs before every test.
    async def work(session: Any) -> None:
        for name in tables:
            await session.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - fixed names

    try:
        await db.write(work)
    finally:
        await db.dispose()


@pytest.fixture
def deployment_environ() -> dict[str, str]:
    """The environment the test server's deployment keys and base URLs come from (the
    shell's are ignored). Override this fixture in a test module to give it some."""
    return {}


@pytest.fixture
async def env(database_url: str, deployment_environ: dict[str, str]) -> AsyncIterator[Env]:
    deployment = Deployment(environ=dict(deployment_environ))
    settings = settings_for(database_url)
    await empty_tables(database_url)
    runtime, token = await build_runtime(settings, run_migrations=False, deployment=deployment)
    assert token is not None
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://chatgate.test") as client,
    ):
        yield Env(
            runtime=runtime,
            client=client,
            owner_token=token,
            is_postgres=not runtime.db.is_sqlite,
            app=app,
        )
    await runtime.db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def scratch_database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """An empty database of the test's own, not migrated: for tests that migrate, downgrade
    or run the CLI, so the shared per-backend database is never disturbed."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch' / 'chatgate.db'}"
        return
    url = await _create_pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(url)


@pytest.fixture
async def live(env: Env) -> AsyncIterator[str]:
    """The test's app served by a real uvicorn on 127.0.0.1 (same event loop, same runtime),
    for clients that need real sockets: the sync SDK, disconnects mid-stream, a browser."""
    async with serve_on_loopback(env.app) as base_url:
        yield base_url
