"""Helpers shared by tests: the per-test world and race helpers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chatgate.runtime import Runtime
from chatgate.settings import Settings

TEST_KEY = base64.b64encode(b"k" * 32).decode()


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

    def auth(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

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
