"""The gateway through the official OpenAI SDK: answers, streams, tools, headers, usage."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, sdk
from tests.support.fake_upstream import FakeToolCall, FakeUpstream
from tests.support.helpers import Env

CENTRAL_KEY = "sk-central-0123456789abcdef"


async def _openai_model(env: Env, fake: FakeUpstream, **model: object) -> dict[str, object]:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=CENTRAL_KEY
    )
    return await add_model(
        env, provider_config_id=provider["id"], model="gpt-up", name="chat", **model
    )


async def test_non_streaming_answer_reaches_the_sdk_with_the_central_key_upstream(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    fake.script(text="Hello there", usage=(12, 3))
    answer = await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    assert answer.choices[0].message.content == "Hello there"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == 12
    seen = fake.requests[0]
    assert seen.path == "/v1/chat/completions"
    assert seen.api_key == CENTRAL_KEY
    assert seen.json["model"] == "gpt-up"  # the upstream id, not the public name


async def test_streamed_answer_arrives_in_chunks_and_ends_cleanly(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    fake.script(text="one two three four")
    stream = await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, stream=True
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert len(chunks) > 2
    # The client did not ask for usage: the usage chunk chatgate requested is stripped.
    assert all(chunk.usage is None for chunk in chunks)
    assert fake.requests[0].json["stream_options"] == {"include_usage": True}


async def test_stream_usage_is_relayed_when_the_client_asks(env: Env, fake: FakeUpstream) -> None:
    await _openai_model(env, fake)
    fake.script(text="hi", usage=(5, 1))
    stream = await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1
    assert usage[0].prompt_tokens == 5
    assert usage[0].completion_tokens == 1


async def test_tool_calls_round_trip_through_the_sdk(env: Env, fake: FakeUpstream) -> None:
    await _openai_model(env, fake)
    fake.script(
        tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Oslo"}, id="call_1")]
    )
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    answer = await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, tools=tools
    )  # type: ignore[arg-type]
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    assert fake.requests[0].json["tools"] == tools


async def test_model_options_are_defaults_under_request_values(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake, options={"temperature": 0.2, "max_tokens": 100, "top_p": 0.5})
    await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, temperature=0.9, max_completion_tokens=5
    )
    sent = fake.requests[0].json
    assert sent["temperature"] == 0.9  # the request wins
    assert sent["top_p"] == 0.5  # the option fills in
    assert "max_tokens" not in sent  # suppressed by max_completion_tokens
    assert sent["max_completion_tokens"] == 5


async def test_unknown_request_fields_pass_through_to_native_families(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, extra_body={"brand_new_parameter": {"x": 1}}
    )
    assert fake.requests[0].json["brand_new_parameter"] == {"x": 1}


async def test_model_can_be_addressed_by_id(env: Env, fake: FakeUpstream) -> None:
    model = await _openai_model(env, fake)
    answer = await sdk(env).chat.completions.create(model=str(model["id"]), messages=USER_MESSAGE)
    assert answer.choices[0].message.content


async def test_response_headers_name_the_config_and_key_source(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "acme"
    assert response.headers["x-chatgate-key-source"] == "central"
    assert response.headers["x-chatgate-request-id"]
    assert CENTRAL_KEY not in response.text
    assert fake.url not in response.text
    assert fake.url not in str(response.headers)


async def test_models_list_shows_the_callers_available_models_by_name(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    listed = await sdk(env).models.list()
    assert [m.id for m in listed.data] == ["chat"]
    assert listed.data[0].owned_by == "chatgate"


async def test_upstream_sees_the_loop_header_and_a_looped_request_is_refused(
    env: Env, fake: FakeUpstream
) -> None:
    await _openai_model(env, fake)
    await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    loop_id = fake.requests[0].headers["x-chatgate-loop"]
    assert loop_id
    looped = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers={**env.auth(env.owner_token), "x-chatgate-loop": loop_id},
    )
    assert looped.status_code == 508
    assert looped.json()["error"]["code"] == "loop_detected"
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": USER_MESSAGE}, "model"),
        ({"model": "chat"}, "messages"),
        ({"model": "chat", "messages": []}, "messages"),
        ({"model": "chat", "messages": USER_MESSAGE, "stream": "yes"}, "stream"),
        ({"model": 5, "messages": USER_MESSAGE}, "model"),
        ({"model": "chat", "messages": USER_MESSAGE, "extra_headers": {"a": "b"}}, "extra_headers"),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(
    env: Env, fake: FakeUpstream, body: dict[str, object], field: str
) -> None:
    await _openai_model(env, fake)
    response = await env.client.post(
        "/v1/chat/completions", json=body, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert field in error["message"]
    assert response.headers["x-should-retry"] == "false"
    assert fake.requests == []


async def test_missing_or_bad_token_is_401_in_openai_shape(env: Env) -> None:
    for headers in ({}, {"authorization": "Bearer cgt_nope"}, {"authorization": "Basic abc"}):
        response = await env.client.post(
            "/v1/chat/completions", json={"model": "x", "messages": USER_MESSAGE}, headers=headers
        )
        assert response.status_code == 401
        assert set(response.json()["error"]) == {"message", "type", "code"}
        assert response.headers["x-chatgate-request-id"]


async def test_unknown_model_is_404_and_a_body_that_is_not_json_is_400(env: Env) -> None:
    unknown = await env.client.post(
        "/v1/chat/completions",
        json={"model": "nope", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"
    broken = await env.client.post(
        "/v1/chat/completions", content=b"{not json", headers=env.auth(env.owner_token)
    )
    assert broken.status_code == 400


async def test_a_disabled_user_token_stops_working_at_once(env: Env, fake: FakeUpstream) -> None:
    await _openai_model(env, fake)
    user_id, token = await env.new_user("carol")
    ok = await env.client.get("/v1/models", headers=env.auth(token))
    assert ok.status_code == 200
    disabled = await env.client.patch(
        f"/api/v1/users/{user_id}", json={"disabled": True}, headers=env.auth(env.owner_token)
    )
    assert disabled.status_code == 200
    refused = await env.client.get("/v1/models", headers=env.auth(token))
    assert refused.status_code == 401


async def test_azure_gets_the_api_key_header_and_the_deployment_as_model(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="azure", name="azure-eu", base_url=fake.url + "/openai/v1", api_key=CENTRAL_KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="my-gpt-deployment", name="chat")
    answer = await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    assert answer.choices[0].message.content
    seen = fake.requests[0]
    assert seen.path == "/openai/v1/chat/completions"
    assert seen.key_header == "api-key"
    assert seen.api_key == CENTRAL_KEY
    assert "authorization" not in seen.headers
    assert seen.json["model"] == "my-gpt-deployment"
    assert "api-version" not in seen.query


async def test_a_bedrock_model_answers_400_family_not_supported(env: Env) -> None:
    await add_model(env, family="bedrock", model="anthropic.claude", name="chat")
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "family_not_supported"
