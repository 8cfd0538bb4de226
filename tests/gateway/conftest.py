"""Fixtures for gateway tests: a fake upstream, config helpers and the official SDK client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import USER_MESSAGE
from tests.support.helpers import Env, add_model, add_provider

__all__ = [
    "USER_MESSAGE",
    "add_model",
    "add_provider",
    "put_user_key",
    "sdk",
    "two_openai_configs",
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
async def fake2() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


async def two_openai_configs(
    env: Env, first_url: str, second_url: str, *, key_a: str, key_b: str, **first_fields: Any
) -> None:
    """Configs ``a`` (older) and ``b`` of the openai family and an unbound model ``chat``
    that follows their precedence: ``a`` first, ``b`` as the failover candidate."""
    await add_provider(
        env, family="openai", name="a", base_url=first_url, api_key=key_a, **first_fields
    )
    await add_provider(env, family="openai", name="b", base_url=second_url, api_key=key_b)
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")


async def put_user_key(env: Env, token: str, provider_id: str, key: str) -> None:
    response = await env.client.put(
        f"/api/v1/me/provider-keys/{provider_id}", json={"api_key": key}, headers=env.auth(token)
    )
    assert response.status_code == 200, response.text


def sdk(env: Env, token: str | None = None) -> openai.AsyncOpenAI:
    """The official async SDK, talking to the app in-process."""
    return openai.AsyncOpenAI(
        base_url="http://chatgate.test/v1",
        api_key=token or env.owner_token,
        http_client=env.client,
        max_retries=0,
    )
