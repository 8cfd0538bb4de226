"""Helpers for user-key and catalog tests: admin setup through the API, a member's view,
and direct reads of what is stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import AuditEntry, ProviderKey, UserProviderKey
from tests.support.helpers import Env, add_model
from tests.support.helpers import add_provider as create_provider

__all__ = ["add_model"]  # re-exported for the tests of this folder

# A key long enough to get a hint (16+ characters).
USER_KEY = "sk-member-own-key-0123456789abcd"


async def add_provider(env: Env, **fields: Any) -> dict[str, Any]:
    """Create a provider config as the owner (an openai config with a central key unless
    told otherwise)."""
    fields.setdefault("family", "openai")
    if fields.get("central_api_key_enabled", True):
        fields.setdefault("api_key", f"sk-central-{uuid.uuid4().hex}")
    return await create_provider(env, **fields)


async def patch_provider(env: Env, provider_id: str, **fields: Any) -> dict[str, Any]:
    response = await env.client.patch(
        f"/api/v1/providers/{provider_id}", json=fields, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def put_key(env: Env, token: str, provider_id: str, key: Any = USER_KEY) -> httpx.Response:
    return await env.client.put(
        f"/api/v1/me/provider-keys/{provider_id}", json={"api_key": key}, headers=env.auth(token)
    )


async def delete_key(env: Env, token: str, provider_id: str) -> httpx.Response:
    return await env.client.delete(
        f"/api/v1/me/provider-keys/{provider_id}", headers=env.auth(token)
    )


async def my_keys(env: Env, token: str) -> list[dict[str, Any]]:
    response = await env.client.get("/api/v1/me/provider-keys", headers=env.auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def my_models(env: Env, token: str) -> list[dict[str, Any]]:
    response = await env.client.get("/api/v1/me/models", headers=env.auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def catalog(env: Env, token: str) -> dict[str, dict[str, Any]]:
    """The caller's /me/models by model name."""
    return {entry["name"]: entry for entry in await my_models(env, token)}


def availability(entry: dict[str, Any]) -> tuple[bool, str | None]:
    return entry["available"], entry["unavailable_reason"]


async def stored_user_keys(env: Env) -> list[UserProviderKey]:
    async def work(session: AsyncSession) -> list[UserProviderKey]:
        query = select(UserProviderKey).order_by(
            UserProviderKey.user_id, UserProviderKey.provider_config_id
        )
        return list((await session.execute(query)).scalars().all())

    return await env.runtime.db.read(work)


async def audit_entries(env: Env, target_type: str) -> list[AuditEntry]:
    async def work(session: AsyncSession) -> list[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type)
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
        return list((await session.execute(query)).scalars().all())

    return await env.runtime.db.read(work)


async def disable_pool_keys(env: Env, provider_id: str) -> None:
    """Disable every central key of a config, as an admin forcing the last key off would
    (§8), written straight to the table."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(ProviderKey)
            .where(ProviderKey.provider_config_id == uuid.UUID(provider_id))
            .values(enabled=False)
        )

    await env.runtime.db.write(work)
