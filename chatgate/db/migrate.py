"""Apply, check and inspect migrations, serialised by a lock so replicas can start together.

PostgreSQL: a session-level advisory lock around the upgrade. SQLite: an exclusive file
lock next to the database (the embedded default is one machine).
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
MIGRATION_LOCK_ID = 0x63_68_61_74_67_61_74_65  # "chatgate"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@asynccontextmanager
async def _sqlite_file_lock(url: str) -> AsyncIterator[None]:
    """An exclusive lock file next to the database; waiting happens in a thread so the
    event loop keeps running (two upgrades in one process must not deadlock)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def run_alembic(url: str, action: Callable[[Config], Any]) -> None:
    """Run an Alembic command on ``url`` holding the migration lock."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    is_postgres = engine.dialect.name == "postgresql"
    file_lock = _noop() if is_postgres else _sqlite_file_lock(url)

    def _run(sync_conn: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        action(config)

    try:
        async with file_lock, engine.connect() as conn:
            if is_postgres:
                await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                await conn.commit()
            try:
                await conn.run_sync(_run)
                await conn.commit()
            finally:
                if is_postgres:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                    )
                    await conn.commit()
    finally:
        await engine.dispose()


@asynccontextmanager
async def _noop() -> AsyncIterator[None]:
    yield


async def upgrade(url: str, revision: str = "head") -> None:
    await run_alembic(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    await run_alembic(url, lambda config: command.downgrade(config, revision))


async def current_revision(session: AsyncSession) -> str | None:
    """The schema's revision, read directly: Alembic's ``MigrationContext`` would log two
    INFO lines on every call, and ``/readyz`` calls this on every probe."""
    conn = await session.connection()
    if not await conn.run_sync(lambda sync_conn: inspect(sync_conn).has_table(VERSION_TABLE)):
        return None
    rows = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalars()  # noqa: S608 - a constant
    return next(iter(rows.all()), None)
