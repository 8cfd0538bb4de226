"""A pool key the upstream rejected with 401 is not tried again, and serves again once an
admin replaces its secret (SPEC §8)."""

from __future__ import annotations

from tests.gateway.conftest import add_model, add_provider
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ask_chat
from tests.support.helpers import Env

KEY = "sk-first-secret-0123456789abcdef"


async def test_a_key_rejected_with_401_serves_again_once_the_admin_replaces_its_secret(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=401, error_message="invalid api key")
    rejected = await ask_chat(env)
    assert rejected.status_code == 502
    assert rejected.json()["error"]["code"] == "upstream_auth_failed"
    still_invalid = await ask_chat(env)
    assert still_invalid.status_code == 502
    assert len(fake.requests) == 1  # the invalid key is not tried again
    replaced = await env.client.patch(
        f"/api/v1/providers/{provider['id']}",
        json={"api_key": "sk-second-secret-0123456789abcdef"},
        headers=env.auth(env.owner_token),
    )
    assert replaced.status_code == 200, replaced.text
    recovered = await ask_chat(env)
    assert recovered.status_code == 200
    assert fake.requests[-1].api_key == "sk-second-secret-0123456789abcdef"
