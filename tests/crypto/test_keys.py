"""Where keys come from, what start-up refuses, rotation and status (SPEC §7)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto import KeyRing, KeyRingError
from chatgate.crypto.keyring import key_digest
from chatgate.db.engine import Database
from chatgate.db.sealed import provider_key_context
from chatgate.db.tables import ProviderKey
from chatgate.encryption import registry
from chatgate.settings import SettingsError, load_settings
from chatgate.startup import StartupError, build_runtime
from tests.support.helpers import (
    PG_URL,
    TEST_KEY,
    Env,
    open_planted_secrets,
    plant_sealed_secrets,
    settings_for,
)

NEW_KEY = base64.b64encode(b"n" * 32).decode()
STRAY_KEY = base64.b64encode(b"s" * 32).decode()


def digest_of(b64_key: str) -> str:
    return key_digest(base64.b64decode(b64_key))


async def test_embedded_default_creates_a_0600_key_file_on_first_start_and_reuses_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'chatgate.db'}"
    settings = settings_for(url, encryption_keys=None)
    runtime, token = await build_runtime(settings)
    await runtime.db.dispose()
    key_file = tmp_path / "data" / "encryption.key"
    assert token is not None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first_digest = runtime.keyring.primary_digest
    again, second_token = await build_runtime(settings)
    await again.db.dispose()
    assert second_token is None
    assert again.keyring.primary_digest == first_digest
    assert key_file.read_text().strip() != ""


async def test_a_key_file_readable_by_others_stops_start_up(tmp_path: Path) -> None:
    key_file = tmp_path / "encryption.key"
    key_file.write_text(NEW_KEY + "\n")
    key_file.chmod(0o644)
    url = f"sqlite+aiosqlite:///{tmp_path / 'chatgate.db'}"
    with pytest.raises(StartupError, match="chmod 600"):
        await build_runtime(settings_for(url, encryption_keys=None))
    assert not (tmp_path / "chatgate.db").exists()


async def test_postgresql_without_encryption_keys_refuses_to_start() -> None:
    with pytest.raises(StartupError) as error:
        await build_runtime(settings_for(PG_URL, encryption_keys=None))
    assert "CHATGATE_ENCRYPTION_KEYS is required on PostgreSQL" in str(error.value)


def test_malformed_encryption_keys_are_refused_when_settings_are_read_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    not_base64 = "this-is-not-base64!!"
    monkeypatch.setenv("CHATGATE_ENCRYPTION_KEYS", f"{TEST_KEY},{not_base64}")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("CHATGATE_ENCRYPTION_KEYS: entry 2 is not valid base64")
    assert not_base64 not in str(error.value)
    assert TEST_KEY not in str(error.value)
    monkeypatch.setenv("CHATGATE_ENCRYPTION_KEYS", base64.b64encode(b"x" * 16).decode())
    with pytest.raises(SettingsError, match="32 bytes"):
        load_settings()


async def test_an_active_digest_without_its_key_stops_start_up_naming_the_digest(
    env: Env,
) -> None:
    with pytest.raises(StartupError) as error:
        await build_runtime(
            settings_for(env.runtime.settings.database_url, encryption_keys=NEW_KEY),
            run_migrations=False,
        )
    assert digest_of(TEST_KEY) in str(error.value)
    states = await env.runtime.db.read(registry.digest_states)
    assert states == {digest_of(TEST_KEY): "active"}  # the refused start changed nothing


async def test_no_migrate_start_on_an_unmigrated_database_says_to_upgrade(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chatgate.db'}"
    with pytest.raises(StartupError, match="chatgate db upgrade"):
        await build_runtime(settings_for(url), run_migrations=False)


async def test_keys_status_counts_secrets_per_digest(env: Env) -> None:
    await plant_sealed_secrets(env.runtime.db, env.runtime.keyring, await env.owner_id())
    counts = await env.runtime.db.read(registry.secrets_per_digest)
    assert counts == {digest_of(TEST_KEY): 3}


async def test_rotate_reseals_every_secret_with_the_new_primary_and_revokes_the_old(
    env: Env,
) -> None:
    db = env.runtime.db
    planted = await plant_sealed_secrets(db, env.runtime.keyring, await env.owner_id())
    new_ring = KeyRing.from_env_value(f"{NEW_KEY},{TEST_KEY}")
    result = await registry.rotate(db, new_ring, batch_size=2)
    assert (result.resealed, result.undecryptable) == (3, 0)
    assert await db.read(registry.secrets_per_digest) == {digest_of(NEW_KEY): 3}
    assert await db.read(registry.digest_states) == {
        digest_of(NEW_KEY): "active",
        digest_of(TEST_KEY): "revoked",
    }
    only_new = KeyRing.from_env_value(NEW_KEY)
    assert await open_planted_secrets(db, only_new, planted) == planted.plaintexts
    again = await registry.rotate(db, new_ring)
    assert (again.resealed, again.undecryptable) == (0, 0)


async def test_rotate_leaves_a_secret_under_an_unknown_key_and_reports_it(env: Env) -> None:
    db = env.runtime.db
    await plant_sealed_secrets(db, env.runtime.keyring, await env.owner_id())
    stray = KeyRing.from_env_value(STRAY_KEY)
    stray_row = await plant_sealed_secrets(db, stray, await env.owner_id(), central_keys=1)

    async def drop_stray_user_key(session: AsyncSession) -> None:
        # Keep one stray secret: the pool key.
        from chatgate.db.tables import UserProviderKey

        row = await session.get(UserProviderKey, (stray_row.user_id, stray_row.provider_config_id))
        assert row is not None
        await session.delete(row)

    await db.write(drop_stray_user_key)
    result = await registry.rotate(db, KeyRing.from_env_value(f"{NEW_KEY},{TEST_KEY}"))
    assert (result.resealed, result.undecryptable) == (3, 1)
    assert await db.read(registry.secrets_per_digest) == {
        digest_of(NEW_KEY): 3,
        digest_of(STRAY_KEY): 1,
    }

    async def stray_digest(session: AsyncSession) -> str:
        row = await session.get(ProviderKey, stray_row.provider_key_ids[0])
        assert row is not None
        with pytest.raises(KeyRingError, match="key_undecryptable"):
            KeyRing.from_env_value(NEW_KEY).open(
                row.secret, provider_key_context(stray_row.provider_key_ids[0])
            )
        return row.secret.digest

    assert await db.read(stray_digest) == digest_of(STRAY_KEY)


async def test_a_server_whose_primary_was_revoked_by_rotation_turns_unready(env: Env) -> None:
    ready = await env.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["encryption_keys"] == "ok"
    other_process = Database(env.runtime.settings.database_url)
    try:
        await registry.rotate(other_process, KeyRing.from_env_value(f"{NEW_KEY},{TEST_KEY}"))
    finally:
        await other_process.dispose()
    unready = await env.client.get("/readyz")
    assert unready.status_code == 503
    assert unready.json()["status"] == "unready"
    assert digest_of(TEST_KEY) in unready.json()["checks"]["encryption_keys"]
    assert "revoked" in unready.json()["checks"]["encryption_keys"]


async def test_rotating_back_onto_a_revoked_key_makes_it_the_active_primary(env: Env) -> None:
    db = env.runtime.db
    planted = await plant_sealed_secrets(db, env.runtime.keyring, await env.owner_id())
    await registry.rotate(db, KeyRing.from_env_value(f"{NEW_KEY},{TEST_KEY}"))
    back = KeyRing.from_env_value(f"{TEST_KEY},{NEW_KEY}")
    result = await registry.rotate(db, back)
    assert result.resealed == 3
    assert await db.read(registry.digest_states) == {
        digest_of(NEW_KEY): "revoked",
        digest_of(TEST_KEY): "active",
    }
    assert await open_planted_secrets(db, env.runtime.keyring, planted) == planted.plaintexts


class _DeletesAKeyAfterTheFirstBatch(Database):
    """A database on which a server deletes a pool key while a rotation runs (between its
    first and second batch)."""

    def __init__(self, url: str, doomed: object) -> None:
        super().__init__(url)
        self.doomed = doomed
        self.writes = 0

    async def write(self, work: Any, *, notify: bool = True) -> Any:
        result = await super().write(work, notify=notify)
        self.writes += 1
        if self.writes == 2:  # activate_primary, then the first batch

            async def delete_key(session: AsyncSession) -> None:
                await session.execute(delete(ProviderKey).where(ProviderKey.id == self.doomed))

            await super().write(delete_key)
        return result


async def test_rotate_reseals_every_secret_even_when_rows_are_deleted_meanwhile(env: Env) -> None:
    planted = await plant_sealed_secrets(
        env.runtime.db, env.runtime.keyring, await env.owner_id(), central_keys=3
    )
    first, *rest = sorted(planted.provider_key_ids)
    db = _DeletesAKeyAfterTheFirstBatch(env.runtime.db.url, first)
    try:
        result = await registry.rotate(
            db, KeyRing.from_env_value(f"{NEW_KEY},{TEST_KEY}"), batch_size=1
        )
        # Before: paging by offset skipped the row after the deleted one, leaving it under
        # a key that the rotation then revoked.
        assert await db.read(registry.secrets_per_digest) == {digest_of(NEW_KEY): len(rest) + 1}
        assert (result.resealed, result.undecryptable) == (len(rest) + 2, 0)
    finally:
        await db.dispose()
