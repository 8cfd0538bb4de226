"""What the attempt loop does when an upstream fails at each point before the client has
seen a byte (SPEC §5, §9): a 2xx whose body cannot be read ends the request (the upstream
has done, and billed, the work); a stream that fails before its first chunk fails over."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import add_model, add_provider, two_openai_configs
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ask_chat, usage_rows
from tests.support.helpers import Env

KEY_A = "sk-config-a-0123456789abcdef"
KEY_B = "sk-config-b-0123456789abcdef"


async def _two_configs(env: Env, fake: FakeUpstream, fake2: FakeUpstream, **fields: Any) -> None:
    await two_openai_configs(
        env, fake.url + "/v1", fake2.url + "/v1", key_a=KEY_A, key_b=KEY_B, **fields
    )


async def _attempts(env: Env) -> list[tuple[int, int, str | None]]:
    return [(row.attempt, row.status, row.error_class) for row in await usage_rows(env)]


# -- a 2xx answer that cannot be read: the request ends, no failover ------------------------


async def test_a_2xx_answer_that_breaks_off_is_502_without_failover(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2)
    fake.script(body_parts=3, drop_after=1)
    response = await ask_chat(env)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "broke off" in error["message"]
    assert "provider config a" in error["message"]
    assert KEY_A not in response.text
    assert fake2.requests == []  # the upstream may have billed it: never asked twice
    assert await _attempts(env) == [(1, 200, "protocol")]


async def test_a_translated_2xx_answer_that_is_not_json_is_502_without_failover(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    # Families chatgate translates (Anthropic here) must parse the answer; OpenAI-style
    # answers are relayed as they come.
    await add_provider(env, family="anthropic", name="a", base_url=fake.url, api_key=KEY_A)
    await add_provider(env, family="anthropic", name="b", base_url=fake2.url, api_key=KEY_B)
    await add_model(env, family="anthropic", provider_config_id=None, model="up", name="chat")
    fake.script(raw_body=b"<html>surprise</html>", content_type="text/html")
    response = await ask_chat(env)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "unreadable" in error["message"]
    assert fake2.requests == []
    assert await _attempts(env) == [(1, 200, "protocol")]


async def test_a_2xx_answer_that_stalls_mid_body_is_504_without_failover(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2, idle_timeout_s=0.3)
    script = fake.script(body_parts=3, stall_after=1)
    response = await ask_chat(env)
    script.release.set()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert fake2.requests == []
    assert await _attempts(env) == [(1, 200, "timeout")]


# -- a stream that fails before its first chunk: the next config answers --------------------


async def test_a_stream_dropped_before_its_first_chunk_fails_over(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2)
    fake.script(drop_after=0)
    fake2.script(text="from b")
    response = await ask_chat(env, stream=True)
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"
    assert "from" in response.text
    assert response.text.rstrip().endswith("data: [DONE]")
    assert await _attempts(env) == [(1, 200, "service"), (2, 200, None)]


async def test_an_empty_stream_fails_over(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2)
    fake.script(raw_chunks=[])
    fake2.script(text="from b")
    response = await ask_chat(env, stream=True)
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"
    assert await _attempts(env) == [(1, 200, "empty_stream"), (2, 200, None)]


async def test_a_stream_silent_before_its_first_chunk_fails_over(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2, idle_timeout_s=0.2)
    script = fake.script(stall_after=0)
    fake2.script(text="from b")
    response = await ask_chat(env, stream=True)
    script.release.set()
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"
    assert await _attempts(env) == [(1, 200, "timeout"), (2, 200, None)]


async def test_a_stream_failing_before_its_first_chunk_everywhere_is_502(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake, fake2)
    fake.script(drop_after=0)
    fake2.script(raw_chunks=[])
    response = await ask_chat(env, stream=True)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert KEY_A not in response.text
    assert KEY_B not in response.text
    assert await _attempts(env) == [(1, 200, "service"), (2, 200, "empty_stream")]
