"""Helpers shared by tests: the per-test world and race helpers."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.keyring import KeyRing
from chatgate.db.engine import Database
from chatgate.db.sealed import provider_key_context, user_key_context
from chatgate.db.tables import ProviderConfig, ProviderKey, UserProviderKey
from chatgate.ids import new_id, utcnow
from chatgate.runtime import Runtime
from chatgate.settings import Settings

TEST_KEY = base64.b64encode(b"k" * 32).decode()
PG_URL = os.environ.get(
    "CHATGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "encryption_keys": TEST_KEY,
        "bootstrap_token": None,
        "metrics_public": False,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Env:
    """One test's world: the runtime, an HTTP client bound to the app, the owner's token."""

    runtime: Runtime
    client: httpx.AsyncClient
    owner_token: str
    is_postgres: bool
    app: FastAPI  # the app under test (routes; gateway parts live in app.state.gateway)

    def auth(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    async def owner_id(self) -> uuid.UUID:
        response = await self.client.get("/api/v1/users/me", headers=self.auth(self.owner_token))
        assert response.status_code == 200, response.text
        return uuid.UUID(response.json()["id"])

    async def new_user(self, username: str, role: str = "member") -> tuple[str, str]:
        """Create a user through the API as the owner; returns (user id, token)."""
        owner = self.auth(self.owner_token)
        created = await self.client.post(
            "/api/v1/users", json={"username": username, "role": role}, headers=owner
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        minted = await self.client.post(
            f"/api/v1/users/{user_id}/tokens", json={"name": "t"}, headers=owner
        )
        assert minted.status_code == 201, minted.text
        return user_id, minted.json()["token"]


async def gather_all(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start every call at once (for race tests) and return their results in order."""
    return list(await asyncio.gather(*(call() for call in calls)))


@dataclass(frozen=True)
class PlantedSecrets:
    provider_config_id: uuid.UUID
    provider_key_ids: list[uuid.UUID]
    user_id: uuid.UUID
    plaintexts: dict[str, str]  # row identity (key id, or "user") -> the secret


async def plant_sealed_secrets(
    db: Database, keyring: KeyRing, user_id: uuid.UUID, *, central_keys: int = 2
) -> PlantedSecrets:
    """Store a provider config with ``central_keys`` sealed pool keys and one sealed user key,
    written straight to the tables (the provider endpoints are not needed for crypto tests)."""
    config_id = new_id()
    key_ids = [new_id() for _ in range(central_keys)]
    plaintexts = {str(key_id): f"sk-central-{key_id.hex}" for key_id in key_ids}
    plaintexts["user"] = f"sk-user-{user_id.hex}"

    async def work(session: AsyncSession) -> None:
        now = utcnow()
        session.add(
            ProviderConfig(
                id=config_id,
                family="openai",
                name=f"openai-{config_id.hex[-12:]}",
                display_name="",
                base_url="",
                enabled=True,
                central_api_key_enabled=True,
                allow_user_api_key=True,
                allow_central_api_key_fallback=False,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        for key_id in key_ids:
            session.add(
                ProviderKey(
                    id=key_id,
                    provider_config_id=config_id,
                    label="pool",
                    secret=keyring.seal(plaintexts[str(key_id)], provider_key_context(key_id)),
                    secret_hint=None,
                    enabled=True,
                    state="active",
                    created_at=now,
                )
            )
        session.add(
            UserProviderKey(
                user_id=user_id,
                provider_config_id=config_id,
                secret=keyring.seal(plaintexts["user"], user_key_context(user_id, config_id)),
                secret_hint=None,
                created_at=now,
                updated_at=now,
            )
        )

    await db.write(work)
    return PlantedSecrets(config_id, key_ids, user_id, plaintexts)


async def open_planted_secrets(
    db: Database, keyring: KeyRing, planted: PlantedSecrets
) -> dict[str, str]:
    """Open every planted secret with ``keyring`` (raises KeyRingError when one does not)."""

    async def work(session: AsyncSession) -> dict[str, str]:
        opened: dict[str, str] = {}
        for key_id in planted.provider_key_ids:
            row = await session.get(ProviderKey, key_id)
            assert row is not None
            opened[str(key_id)] = keyring.open(row.secret, provider_key_context(key_id))
        user_row = await session.get(UserProviderKey, (planted.user_id, planted.provider_config_id))
        assert user_row is not None
        opened["user"] = keyring.open(
            user_row.secret, user_key_context(planted.user_id, planted.provider_config_id)
        )
        return opened

    return await db.read(work)


CHATGATE_BIN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "chatgate")


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_environ(database_url: str, **extra: str) -> dict[str, str]:
    """A clean environment for a ``chatgate`` subprocess: only what the test sets."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHATGATE_") and key != "PYTHONPATH"
    }
    environ["CHATGATE_DATABASE_URL"] = database_url
    environ.update(extra)
    return environ


async def run_chatgate(
    *args: str, environ: dict[str, str], timeout: float = 60, cwd: Path | None = None
) -> CliResult:
    """Run the installed ``chatgate`` command as a subprocess and wait for it."""
    process = await asyncio.create_subprocess_exec(
        CHATGATE_BIN,
        *args,
        env=environ,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


async def add_provider(env: Env, **fields: Any) -> dict[str, Any]:
    """Create a provider config through the API as the owner; it must succeed."""
    response = await env.client.post(
        "/api/v1/providers", json=fields, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_model(env: Env, **fields: Any) -> dict[str, Any]:
    """Create a model config through the API as the owner (context_limit 8192 unless given)."""
    fields.setdefault("context_limit", 8192)
    response = await env.client.post(
        "/api/v1/models", json=fields, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


POLL_STEP_S = 0.01  # polling a condition, with a deadline


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``check`` until true, failing after ``timeout`` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_STEP_S)
