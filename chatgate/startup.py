"""Building a ``Runtime`` from settings: key ring, migrations, key registry, first owner.

Every refusal here is a ``StartupError`` with a message an operator can act on; the CLI
prints it and exits non-zero.
"""

from __future__ import annotations

from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.crypto.registry import sync_key_registry
from chatgate.db import migrate
from chatgate.db.engine import Database
from chatgate.metrics import Metrics
from chatgate.runtime import Runtime
from chatgate.settings import Deployment, Settings
from chatgate.users.service import bootstrap_owner

MIN_BOOTSTRAP_TOKEN_LENGTH = 32


class StartupError(Exception):
    pass


def load_keyring(settings: Settings) -> KeyRing:
    try:
        if settings.encryption_keys:
            return KeyRing.from_env_value(settings.encryption_keys)
        key_file = settings.key_file_path()
        if settings.is_sqlite and key_file is not None:
            return KeyRing.from_file(key_file, create=True)
    except KeyRingError as error:
        raise StartupError(str(error)) from None
    raise StartupError(
        "CHATGATE_ENCRYPTION_KEYS is required on PostgreSQL (replicas must share keys): "
        "set it to a comma-separated list of base64-encoded 32-byte keys"
    )


def check_bootstrap_token(settings: Settings) -> None:
    token = settings.bootstrap_token
    if token is not None and len(token) < MIN_BOOTSTRAP_TOKEN_LENGTH:
        raise StartupError(
            f"CHATGATE_BOOTSTRAP_TOKEN must be at least {MIN_BOOTSTRAP_TOKEN_LENGTH} characters"
        )


async def build_runtime(
    settings: Settings, *, run_migrations: bool = True
) -> tuple[Runtime, str | None]:
    """Prepare everything the server needs; returns the runtime and, on a fresh database,
    the owner's one-time token."""
    check_bootstrap_token(settings)
    keyring = load_keyring(settings)
    if run_migrations:
        await migrate.upgrade(settings.database_url)
    metrics = Metrics()
    db = Database(settings.database_url, query_observer=metrics.db_query_latency.observe)
    try:
        await db.write(lambda session: sync_key_registry(session, keyring))
    except KeyRingError as error:
        await db.dispose()
        raise StartupError(str(error)) from None
    token = await db.write(lambda session: bootstrap_owner(session, settings.bootstrap_token))
    runtime = Runtime(
        settings=settings, db=db, keyring=keyring, deployment=Deployment(), metrics=metrics
    )
    return runtime, token
