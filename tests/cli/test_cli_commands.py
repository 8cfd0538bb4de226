"""``chatgate`` commands that work on the database directly, run as the real installed
command against a database of their own (SPEC §12: exit codes, ``--json``)."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid

import httpx
from sqlalchemy import select

from chatgate.app import create_app
from chatgate.crypto import KeyRing
from chatgate.crypto.keyring import key_digest
from chatgate.db.engine import Database
from chatgate.db.tables import AuditEntry
from chatgate.encryption import registry
from chatgate.startup import build_runtime
from tests.support.helpers import (
    cli_environ,
    open_planted_secrets,
    plant_sealed_secrets,
    run_chatgate,
    settings_for,
)

OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"N" * 32).decode()
OLD_DIGEST = key_digest(b"o" * 32)
NEW_DIGEST = key_digest(b"N" * 32)
TOKEN_FORMAT = re.compile(r"cgt_[A-Za-z0-9_-]{43}")


async def test_users_tokens_and_keys_commands_work_on_the_database_directly(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    old_env = cli_environ(url, CHATGATE_ENCRYPTION_KEYS=OLD_KEY)
    rotated_env = cli_environ(url, CHATGATE_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")

    first = await run_chatgate("users", "create", "Alice", "--role", "admin", environ=old_env)
    assert first.code == 0, first.stderr
    # Human output; the first user is the owner whatever role was asked for.
    assert re.fullmatch(r"created alice \(owner\) [0-9a-f-]{36}\n", first.stdout)

    bob, duplicate, nobody = await asyncio.gather(
        run_chatgate("--json", "users", "create", "bob", "--role", "member", environ=old_env),
        run_chatgate("users", "create", "ALICE", environ=old_env),
        run_chatgate("tokens", "create", "nobody", environ=old_env),
    )
    assert (bob.code, bob.json()["role"]) == (0, "member"), bob.stderr
    assert duplicate.code == 4
    assert "taken" in duplicate.stderr
    assert nobody.code == 3
    assert "nobody" in nobody.stderr
    bob_id = uuid.UUID(bob.json()["id"])

    db = Database(url)
    try:
        planted = await plant_sealed_secrets(db, KeyRing.from_env_value(OLD_KEY), bob_id)
        minted, status = await asyncio.gather(
            run_chatgate("--json", "tokens", "create", "bob", "--name", "laptop", environ=old_env),
            run_chatgate("--json", "keys", "status", environ=old_env),
        )
        assert minted.code == 0, minted.stderr
        assert minted.json()["name"] == "laptop"
        assert TOKEN_FORMAT.fullmatch(minted.json()["token"])
        assert status.code == 0, status.stderr
        assert status.json() == {
            "keys": [
                {
                    "digest": OLD_DIGEST,
                    "state": "unknown",  # no server has registered it yet
                    "secrets": 3,
                    "primary": True,
                    "configured": True,
                }
            ]
        }

        rotated = await run_chatgate("--json", "keys", "rotate", environ=rotated_env)
        assert rotated.code == 0, rotated.stderr
        assert rotated.json() == {"resealed": 3, "undecryptable": 0, "primary": NEW_DIGEST}
        assert await db.read(registry.secrets_per_digest) == {NEW_DIGEST: 3}
        assert await db.read(registry.digest_states) == {
            NEW_DIGEST: "active",
            OLD_DIGEST: "revoked",
        }
        only_new = KeyRing.from_env_value(NEW_KEY)
        assert await open_planted_secrets(db, only_new, planted) == planted.plaintexts

        sources = await db.read(lambda s: s.execute(select(AuditEntry.action, AuditEntry.source)))
        assert {tuple(row) for row in sources} == {("user.create", "cli"), ("token.create", "cli")}
    finally:
        await db.dispose()

    # The token printed by the CLI signs in to a server on that database.
    runtime, bootstrap = await build_runtime(
        settings_for(url, encryption_keys=f"{NEW_KEY},{OLD_KEY}"), run_migrations=False
    )
    try:
        assert bootstrap is None  # users exist: no owner is bootstrapped
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(
                "/api/v1/users/me", headers={"authorization": f"Bearer {minted.json()['token']}"}
            )
        assert response.json()["username"] == "bob"
    finally:
        await runtime.db.dispose()


async def test_cli_input_the_api_would_refuse_is_a_usage_error_with_exit_2(
    scratch_database_url: str,
) -> None:
    environ = cli_environ(scratch_database_url, CHATGATE_ENCRYPTION_KEYS=OLD_KEY)
    created = await run_chatgate("users", "create", "alice", environ=environ)
    assert created.code == 0, created.stderr
    long_display_name, long_token_name = await asyncio.gather(
        run_chatgate("users", "create", "bob", "--display-name", "x" * 201, environ=environ),
        run_chatgate("tokens", "create", "alice", "--name", "n" * 101, environ=environ),
    )
    # Before: a traceback (exit 1), and a token name the API refuses stored (or a
    # database error on PostgreSQL).
    for result, field in ((long_display_name, "display_name"), (long_token_name, "name")):
        assert result.code == 2, (result.code, result.stderr)
        assert field in result.stderr
        assert "Traceback" not in result.stderr
