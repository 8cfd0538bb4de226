"""What the client gets from odd upstream replies: an absurd Retry-After, a redirect, an
error after an attempt, silence before the first streamed byte (SPEC §9)."""

from __future__ import annotations

from tests.gateway.conftest import add_model, add_provider, two_openai_configs
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ask_chat
from tests.support.helpers import Env

KEY = "sk-first-secret-0123456789abcdef"


async def test_an_absurd_retry_after_from_upstream_is_capped_not_a_crash(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    for index, value in enumerate(("inf", "1e300", "99999999999999999")):
        # One upstream model each: a cooldown belongs to the (key, upstream model) pair.
        await add_model(
            env, provider_config_id=provider["id"], model=f"gpt-{index}", name=f"chat{index}"
        )
        fake.script(status=429, retry_after=value)
        response = await ask_chat(env, model=f"chat{index}")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) in range(1, 24 * 3600 + 1)
    assert len(fake.requests) == 3


async def test_an_error_after_an_attempt_names_the_config_and_key_source(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=400, error_message="bad temperature")
    response = await ask_chat(env)
    assert response.status_code == 400
    assert response.headers["x-chatgate-provider-config"] == "acme"
    assert response.headers["x-chatgate-key-source"] == "central"


async def test_an_upstream_redirect_is_not_followed_nor_relayed(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await two_openai_configs(env, fake.url + "/v1", fake2.url + "/v1", key_a=KEY, key_b=KEY + "b")
    fake.script(status=302, redirect_to="http://169.254.169.254/steal")
    response = await ask_chat(env)
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"


async def test_a_stream_that_stalls_before_its_first_byte_ends_in_504(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="acme",
        base_url=fake.url + "/v1",
        api_key=KEY,
        idle_timeout_s=0.2,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    script = fake.script(text="one two", stall_after=0)
    response = await ask_chat(env, stream=True)
    script.release.set()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
