"""Deployment keys (SPEC §1, §5): only ever sent to the family's default base URL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

DEPLOYMENT = "sk-deployment-0123456789abcdef"


@pytest.fixture
def deployment_environ(fake: FakeUpstream) -> dict[str, str]:
    """The server gets an openai deployment key whose default base URL is the fake."""
    return {"CHATGATE_OPENAI_API_KEY": DEPLOYMENT, "CHATGATE_OPENAI_BASE_URL": fake.url + "/v1"}


async def _ask(env: Env, token: str) -> Any:
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(token),
    )


async def test_a_model_with_no_config_uses_the_deployment_key(env: Env, fake: FakeUpstream) -> None:
    await add_model(env, family="openai", model="gpt-up", name="chat")
    response = await _ask(env, env.owner_token)
    assert response.status_code == 200, response.text
    assert fake.requests[0].api_key == DEPLOYMENT
    assert response.headers["x-chatgate-provider-config"] == "deployment:openai"
    assert response.headers["x-chatgate-key-source"] == "deployment"


async def test_a_keyless_config_on_the_default_url_uses_the_deployment_key_but_a_custom_url_never_does(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    default_url = await add_provider(env, family="openai", name="default-url")
    await add_model(env, provider_config_id=default_url["id"], model="gpt-up", name="chat")
    response = await _ask(env, env.owner_token)
    assert response.status_code == 200, response.text
    assert fake.requests[0].api_key == DEPLOYMENT
    assert response.headers["x-chatgate-key-source"] == "deployment"
    # A config on another URL without its own key is refused at creation: the deployment
    # key is never sent anywhere but the family's default base URL.
    refused = await env.client.post(
        "/api/v1/providers",
        json={"family": "openai", "name": "custom", "base_url": fake2.url + "/v1"},
        headers=env.auth(env.owner_token),
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "central_key_missing"
    assert fake2.requests == []
