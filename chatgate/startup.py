"""Building a ``Runtime`` from settings: key ring, migrations, key registry, first owner.

Every refusal here is a ``StartupError`` with a message an operator can act on; the CLI
prints it and exits non-zero.
"""

from __future__ import annotations

from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.db import migrate
from chatgate.db.engine import Database
from chatgate.encryption.registry import sync_key_registry
from chatgate.metrics import Metrics
from chatgate.runtime import Runtime
from chatgate.settings import Deployment, Settings
from chatgate.users.service import bootstrap_owner


class StartupError(Exception):
    pass


def load_keyring(settings: Settings) -> KeyRing:
    try:
        if settings.encryption_keys:
            try:
                return KeyRing.from_env_value(settings.encryption_keys)
            except KeyRingError as error:
                raise StartupError(f"CHATGATE_ENCRYPTION_KEYS: {error}") from None
        key_file = settings.key_file_path()
        if settings.is_sqlite and key_file is not None:
            return KeyRing.from_file(key_file, create=True)
    except KeyRingError as error:
        raise StartupError(str(error)) from None
    where = "on PostgreSQL (replicas must share keys)" if not settings.is_sqlite else "here"
    raise StartupError(
        f"CHATGATE_ENCRYPTION_KEYS is required {where}: "
        "set it to a comma-separated list of base64-encoded 32-byte keys "
        "(`chatgate keys generate` prints a new one)"
    )


async def _require_head(db: Database) -> None:
    """With ``--no-migrate`` the schema must already be current (someone else migrates)."""
    revision = await db.read(migrate.current_revision)
    head = migrate.head_revision()
    if revision != head:
        raise StartupError(
            f"the database schema is at revision {revision or 'none'}, this version needs "
            f"{head}: run `chatgate db upgrade` (or start without --no-migrate)"
        )


async def build_runtime(
    settings: Settings, *, run_migrations: bool = True, deployment: Deployment | None = None
) -> tuple[Runtime, str | None]:
    """Prepare everything the server needs; returns the runtime and, on a fresh database,
    the owner's one-time token."""
    keyring = load_keyring(settings)
    if run_migrations:
        await migrate.upgrade(settings.database_url)
    metrics = Metrics()
    db = Database(settings.database_url, query_observer=metrics.db_query_latency.observe)
    try:
        if not run_migrations:
            await _require_head(db)
        await db.write(lambda session: sync_key_registry(session, keyring))
    except KeyRingError as error:
        await db.dispose()
        raise StartupError(str(error)) from None
    except BaseException:
        await db.dispose()
        raise
    try:
        token = await db.write(lambda session: bootstrap_owner(session, settings.bootstrap_token))
    except BaseException:
        await db.dispose()
        raise
    runtime = Runtime(
        settings=settings,
        db=db,
        keyring=keyring,
        deployment=deployment or Deployment(),
        metrics=metrics,
    )
    return runtime, token
