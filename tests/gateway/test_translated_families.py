"""Anthropic and Gemini behind the OpenAI protocol, through the official SDK (sync and async)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, sdk
from tests.support.fake_upstream import FakeToolCall, FakeUpstream
from tests.support.helpers import Env

KEY = "sk-translated-0123456789abcdef"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


async def _family_model(env: Env, fake: FakeUpstream, family: str) -> None:
    provider = await add_provider(env, family=family, name=family, base_url=fake.url, api_key=KEY)
    await add_model(env, provider_config_id=provider["id"], model=f"{family}-up", name="chat")


@pytest.mark.parametrize(
    ("family", "path", "key_header"),
    [
        ("anthropic", "/v1/messages", "x-api-key"),
        ("google", "/v1beta/models/google-up:generateContent", "x-goog-api-key"),
    ],
)
async def test_translated_answer_round_trips_with_the_key_in_the_family_header(
    env: Env, fake: FakeUpstream, family: str, path: str, key_header: str
) -> None:
    await _family_model(env, fake, family)
    fake.script(text="Bonjour", usage=(8, 2))
    answer = await sdk(env).chat.completions.create(
        model="chat", messages=[{"role": "system", "content": "Be brief"}, *USER_MESSAGE]
    )
    assert answer.choices[0].message.content == "Bonjour"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "chat"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (8, 2)
    seen = fake.requests[0]
    assert seen.path == path
    assert seen.key_header == key_header
    assert seen.api_key == KEY
    assert KEY not in seen.path
    assert KEY not in str(seen.query)


@pytest.mark.parametrize("family", ["anthropic", "google"])
async def test_translated_stream_arrives_as_openai_chunks_with_usage(
    env: Env, fake: FakeUpstream, family: str
) -> None:
    await _family_model(env, fake, family)
    fake.script(text="alpha beta gamma delta", usage=(6, 4))
    stream = await sdk(env).chat.completions.create(
        model="chat", messages=USER_MESSAGE, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "alpha beta gamma delta"
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (6, 4)


@pytest.mark.parametrize("family", ["anthropic", "google"])
@pytest.mark.parametrize("stream", [False, True])
async def test_translated_tool_calls_round_trip(
    env: Env, fake: FakeUpstream, family: str, stream: bool
) -> None:
    await _family_model(env, fake, family)
    fake.script(
        tool_calls=[FakeToolCall(name="get_weather", arguments={"city": "Oslo"}, id="toolu_1")]
    )
    client = sdk(env)
    tools: Any = [WEATHER_TOOL]
    if stream:
        pieces = await client.chat.completions.create(
            model="chat", messages=USER_MESSAGE, tools=tools, stream=True
        )
        names: list[str] = []
        arguments = ""
        call_ids: list[str] = []
        finish = None
        async for chunk in pieces:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                if call.id:
                    call_ids.append(call.id)
                if call.function and call.function.name:
                    names.append(call.function.name)
                if call.function and call.function.arguments:
                    arguments += call.function.arguments
        assert names == ["get_weather"]
        assert json.loads(arguments) == {"city": "Oslo"}
        assert finish == "tool_calls"
        call_id = call_ids[0]
    else:
        answer = await client.chat.completions.create(
            model="chat", messages=USER_MESSAGE, tools=tools
        )
        call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert json.loads(call.function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
        assert answer.choices[0].finish_reason == "tool_calls"
        call_id = call.id
    # The tool result goes back in the next turn, translated to the family's shape.
    follow_up: Any = [
        *USER_MESSAGE,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    fake.script(text="It is sunny")
    final = await client.chat.completions.create(model="chat", messages=follow_up, tools=tools)
    assert final.choices[0].message.content == "It is sunny"
    sent = json.dumps(fake.requests[-1].json)
    assert "sunny" in sent
    assert "get_weather" in sent


async def test_an_unsupported_parameter_for_a_translated_family_is_400(
    env: Env, fake: FakeUpstream
) -> None:
    await _family_model(env, fake, "anthropic")
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE, n=3)
    assert raised.value.code == "unsupported_parameter"
    assert fake.requests == []


async def test_the_sync_sdk_works_against_a_real_server(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    await _family_model(env, fake, "anthropic")
    fake.script(text="sync hello")
    fake.script(text="sync stream")

    def call() -> tuple[str, str]:
        with openai.OpenAI(base_url=f"{live}/v1", api_key=env.owner_token, max_retries=0) as client:
            answer = client.chat.completions.create(model="chat", messages=USER_MESSAGE)  # type: ignore[arg-type]
            stream = client.chat.completions.create(
                model="chat", messages=USER_MESSAGE, stream=True
            )  # type: ignore[arg-type]
            streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            return answer.choices[0].message.content or "", streamed

    plain, streamed = await asyncio.to_thread(call)
    assert plain == "sync hello"
    assert streamed == "sync stream"
