"""The schema is built by migrations only, matches the models, and round-trips (SPEC §2)."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from chatgate.db import migrate
from chatgate.db.tables import Base
from tests.support.helpers import cli_environ, run_chatgate


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def names(sync_conn: Connection) -> set[str]:
                return set(inspect(sync_conn).get_table_names())

            return await conn.run_sync(names)
    finally:
        await engine.dispose()


async def revision_of(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            from alembic.runtime.migration import MigrationContext

            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_round_trip_through_base(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    model_tables = set(Base.metadata.tables)
    await migrate.upgrade(url)
    # `alembic check`: raises when the models and the migrated schema differ.
    await migrate.run_alembic(url, command.check)
    assert await table_names(url) == model_tables | {"alembic_version"}
    assert await revision_of(url) == migrate.head_revision()

    await migrate.downgrade(url, "base")
    assert await table_names(url) <= {"alembic_version"}
    assert await revision_of(url) is None

    await migrate.upgrade(url)
    await migrate.run_alembic(url, command.check)
    assert await table_names(url) == model_tables | {"alembic_version"}
    assert await revision_of(url) == migrate.head_revision()


async def test_replicas_upgrading_at_once_are_serialised_by_the_migration_lock(
    scratch_database_url: str,
) -> None:
    """Two ``chatgate db upgrade`` processes start together on an empty database."""
    environ = cli_environ(scratch_database_url)
    results = await asyncio.gather(
        *(run_chatgate("--json", "db", "upgrade", environ=environ) for _ in range(2))
    )
    assert [r.code for r in results] == [0, 0], [r.stderr for r in results]
    assert {r.json()["revision"] for r in results} == {migrate.head_revision()}
    assert await revision_of(scratch_database_url) == migrate.head_revision()
    await migrate.run_alembic(scratch_database_url, command.check)
