"""The configuration version SQLite processes compare (SPEC §11; ``db.changes``).

On SQLite, every write that may change configuration (``Database.write`` with ``notify``)
stores a fresh random value in the ``config_version`` setting, inside its own transaction.
A process that sees the value change reloads its caches. (PostgreSQL announces changes
with triggers instead.) Writes that change no
configuration (usage rows, ``last_used_at``) do not touch it, so traffic alone never
causes reloads. The row is written last in a transaction, so it cannot take part in a
lock cycle.
"""

from __future__ import annotations

import secrets

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import Setting
from chatgate.ids import utcnow

CONFIG_VERSION = "config_version"


async def bump(session: AsyncSession) -> str:
    """Store a fresh version; returns it."""
    version = secrets.token_hex(8)
    values = {"name": CONFIG_VERSION, "value": version, "updated_at": utcnow()}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Setting).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Setting.name],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    await session.execute(statement)
    return version
