"""Helpers for provider- and model-config tests: an admin API client, deployment keys,
direct database reads, and the PostgreSQL-only marker for race tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.sealed import provider_key_context, user_key_context
from chatgate.db.tables import AuditEntry, ModelConfig, ProviderKey, UserProviderKey
from chatgate.ids import new_id, utcnow
from chatgate.settings import Deployment
from tests.support.helpers import Env

# Race tests run only on PostgreSQL (SQLite serialises every writer with BEGIN IMMEDIATE,
# so a race there proves nothing): the session database fixture is parametrised for the
# postgresql backend only, so these tests are never collected for SQLite — no skips.
pg_only: Callable[[Any], Any] = lambda test: pytest.mark.pg_only(  # noqa: E731
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)(test)
)


class Api:
    """The owner's view of the admin API, plus direct database access for setup/checks."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.client = env.client
        self.headers = env.auth(env.owner_token)
        # Start every test without deployment keys, whatever the process environment holds.
        self.set_deployment()

    def set_deployment(self, environ: dict[str, str] | None = None, **keys: str) -> None:
        """Deployment keys by family (``openai="sk-…"``, ``openai_compat=…``)."""
        values = dict(environ or {})
        for family, key in keys.items():
            values[f"CHATGATE_{family.upper()}_API_KEY"] = key
        self.env.runtime.deployment = Deployment(values)

    async def create_provider(
        self, family: str = "openai", *, headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        return await self.client.post(
            "/api/v1/providers", json={"family": family, **fields}, headers=headers or self.headers
        )

    async def provider(self, family: str = "openai", **fields: Any) -> dict[str, Any]:
        """Create a config that must succeed (a stored key unless told otherwise)."""
        fields.setdefault("api_key", f"sk-{family}-{uuid.uuid4().hex}")
        response = await self.create_provider(family, **fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def patch_provider(self, provider_id: str, **fields: Any) -> httpx.Response:
        return await self.client.patch(
            f"/api/v1/providers/{provider_id}", json=fields, headers=self.headers
        )

    async def get_provider(self, provider_id: str) -> httpx.Response:
        return await self.client.get(f"/api/v1/providers/{provider_id}", headers=self.headers)

    async def list_providers(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/providers", headers=self.headers)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    async def delete_provider(self, provider_id: str) -> httpx.Response:
        return await self.client.delete(f"/api/v1/providers/{provider_id}", headers=self.headers)

    async def create_model(
        self, *, headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        fields.setdefault("context_limit", 8192)
        return await self.client.post(
            "/api/v1/models", json=fields, headers=headers or self.headers
        )

    async def model(self, **fields: Any) -> dict[str, Any]:
        response = await self.create_model(**fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def patch_model(self, model_id: str, **fields: Any) -> httpx.Response:
        return await self.client.patch(
            f"/api/v1/models/{model_id}", json=fields, headers=self.headers
        )

    async def get_model(self, model_id: str) -> httpx.Response:
        return await self.client.get(f"/api/v1/models/{model_id}", headers=self.headers)

    async def list_models(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/models", headers=self.headers)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    async def delete_model(self, model_id: str) -> httpx.Response:
        return await self.client.delete(f"/api/v1/models/{model_id}", headers=self.headers)

    # -- direct database access ---------------------------------------------------------

    async def model_row(self, model_id: str) -> ModelConfig:
        async def work(session: AsyncSession) -> ModelConfig:
            row = await session.get(ModelConfig, uuid.UUID(model_id))
            assert row is not None
            return row

        return await self.env.runtime.db.read(work)

    async def all_models(self) -> list[ModelConfig]:
        async def work(session: AsyncSession) -> list[ModelConfig]:
            query = select(ModelConfig).order_by(ModelConfig.created_at, ModelConfig.id)
            return list((await session.execute(query)).scalars().all())

        return await self.env.runtime.db.read(work)

    async def pool(self, provider_id: str) -> list[ProviderKey]:
        async def work(session: AsyncSession) -> list[ProviderKey]:
            query = (
                select(ProviderKey)
                .where(ProviderKey.provider_config_id == uuid.UUID(provider_id))
                .order_by(ProviderKey.created_at, ProviderKey.id)
            )
            return list((await session.execute(query)).scalars().all())

        return await self.env.runtime.db.read(work)

    def open_key(self, key: ProviderKey) -> str:
        return self.env.runtime.keyring.open(key.secret, provider_key_context(key.id))

    async def add_pool_key(self, provider_id: str, secret: str, *, enabled: bool = True) -> None:
        """Add a central key directly (the key-pool endpoints belong to another issue)."""
        keyring = self.env.runtime.keyring

        async def work(session: AsyncSession) -> None:
            key_id = new_id()
            session.add(
                ProviderKey(
                    id=key_id,
                    provider_config_id=uuid.UUID(provider_id),
                    label="extra",
                    secret=keyring.seal(secret, provider_key_context(key_id)),
                    secret_hint=None,
                    enabled=enabled,
                    state="active",
                    cooldown_until=None,
                    last_error=None,
                    created_at=utcnow(),
                    created_by=None,
                    last_used_at=None,
                )
            )

        await self.env.runtime.db.write(work)

    async def add_user_key(self, user_id: str, provider_id: str, secret: str) -> None:
        keyring = self.env.runtime.keyring
        uid, pid = uuid.UUID(user_id), uuid.UUID(provider_id)

        async def work(session: AsyncSession) -> None:
            now = utcnow()
            session.add(
                UserProviderKey(
                    user_id=uid,
                    provider_config_id=pid,
                    secret=keyring.seal(secret, user_key_context(uid, pid)),
                    secret_hint=None,
                    created_at=now,
                    updated_at=now,
                )
            )

        await self.env.runtime.db.write(work)

    async def user_keys(self, provider_id: str) -> list[UserProviderKey]:
        async def work(session: AsyncSession) -> list[UserProviderKey]:
            query = (
                select(UserProviderKey)
                .where(UserProviderKey.provider_config_id == uuid.UUID(provider_id))
                .order_by(UserProviderKey.user_id)
            )
            return list((await session.execute(query)).scalars().all())

        return await self.env.runtime.db.read(work)

    async def audit(self, action_prefix: str = "") -> list[AuditEntry]:
        async def work(session: AsyncSession) -> list[AuditEntry]:
            query = (
                select(AuditEntry)
                .where(AuditEntry.action.startswith(action_prefix))
                .order_by(AuditEntry.created_at, AuditEntry.id)
            )
            return list((await session.execute(query)).scalars().all())

        return await self.env.runtime.db.read(work)


def live_defaults(models: list[ModelConfig]) -> list[ModelConfig]:
    return [m for m in models if m.is_default and not m.deleted]


@pytest.fixture
def api(env: Env) -> Api:
    return Api(env)


@pytest.fixture
def pg_api(env: Env) -> Api:
    """``api`` for tests decorated with ``pg_only`` (asserts the backend, never skips)."""
    assert env.is_postgres, "pg_api is for @pg_only tests"
    return Api(env)
