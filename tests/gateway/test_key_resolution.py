"""Which key the upstream sees for each row of the SPEC §5 table, through the gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, put_user_key
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

CENTRAL = "sk-central-0123456789abcdef"
USER_KEY = "sk-user-own-0123456789abcdef"
DEPLOYMENT = "sk-deployment-0123456789abcdef"


async def _ask(env: Env, token: str) -> Any:
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(token),
    )


@pytest.mark.parametrize(
    (
        "policy",
        "user_has_key",
        "expected_key",
        "expected_source",
        "expected_status",
        "expected_code",
    ),
    [
        # allow_user_api_key and the user has a key → the user's key
        (
            {"central_api_key_enabled": False, "allow_user_api_key": True},
            True,
            USER_KEY,
            "user",
            200,
            None,
        ),
        (
            {"allow_user_api_key": True, "allow_central_api_key_fallback": True},
            True,
            USER_KEY,
            "user",
            200,
            None,
        ),
        # central key and (no user keys or fallback) → central
        ({}, False, CENTRAL, "central", 200, None),
        (
            {"allow_user_api_key": True, "allow_central_api_key_fallback": True},
            False,
            CENTRAL,
            "central",
            200,
            None,
        ),
        # central key, user keys allowed, no fallback, no user key → user_api_key_required
        ({"allow_user_api_key": True}, False, None, None, 403, "user_api_key_required"),
        # user keys allowed, no central key → user_api_key_required
        (
            {"central_api_key_enabled": False, "allow_user_api_key": True},
            False,
            None,
            None,
            403,
            "user_api_key_required",
        ),
    ],
)
async def test_the_key_table_decides_which_key_the_upstream_sees(
    env: Env,
    fake: FakeUpstream,
    policy: dict[str, Any],
    user_has_key: bool,
    expected_key: str | None,
    expected_source: str | None,
    expected_status: int,
    expected_code: str | None,
) -> None:
    fields: dict[str, Any] = {
        "family": "openai",
        "name": "acme",
        "base_url": fake.url + "/v1",
        **policy,
    }
    if policy.get("central_api_key_enabled", True):
        fields["api_key"] = CENTRAL
    provider = await add_provider(env, **fields)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, token = await env.new_user("member")
    if user_has_key:
        await put_user_key(env, token, str(provider["id"]), USER_KEY)
    response = await _ask(env, token)
    assert response.status_code == expected_status, response.text
    if expected_status == 200:
        assert fake.requests[-1].api_key == expected_key
        assert response.headers["x-chatgate-key-source"] == expected_source
    else:
        assert response.json()["error"]["code"] == expected_code
        assert fake.requests == []


async def test_a_family_without_configs_or_deployment_key_answers_503_missing_api_key(
    env: Env,
) -> None:
    await add_model(env, family="openai", model="gpt-up", name="chat")
    response = await _ask(env, env.owner_token)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "missing_api_key"


async def test_a_model_bound_to_a_disabled_config_is_403_and_never_uses_a_sibling(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    bound = await add_provider(
        env, family="openai", name="a", base_url=fake.url + "/v1", api_key=CENTRAL
    )
    await add_provider(
        env, family="openai", name="b", base_url=fake2.url + "/v1", api_key=CENTRAL + "b"
    )
    await add_model(env, provider_config_id=bound["id"], model="gpt-up", name="chat")
    disabled = await env.client.patch(
        f"/api/v1/providers/{bound['id']}",
        json={"enabled": False},
        headers=env.auth(env.owner_token),
    )
    assert disabled.status_code == 200
    response = await _ask(env, env.owner_token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "provider_disabled"
    assert fake.requests == []
    assert fake2.requests == []
