"""Anthropic Messages: request translation, and answers translated back to OpenAI's
shapes through the real client and a fake upstream."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatgate.upstream import UnsupportedParameter, UpstreamClient, adapter_for
from chatgate.upstream.adapters.anthropic import AnthropicStream, translate_request
from tests.support.fake_upstream import FakeToolCall, FakeUpstream
from tests.support.upstream import (
    KEY,
    exchange,
    sse_documents,
    streamed_text,
    streamed_tool_calls,
    target_for,
    user_body,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_path_headers_and_model(fake: FakeUpstream, client: UpstreamClient) -> None:
    await exchange(client, target_for(fake, "anthropic", model="claude-up"), user_body())
    [seen] = fake.requests
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in seen.headers
    assert KEY not in seen.path
    assert not seen.query
    assert seen.json["model"] == "claude-up"


def test_conversation_translation() -> None:
    body = {
        "model": "public",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "t2",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "18C"},
            {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "24C"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                ],
            },
        ],
        "max_completion_tokens": 300,
        "temperature": 0.2,
        "stop": "END",
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "user": "u-42",
        "seed": 7,  # ignored
    }
    payload = translate_request(body, "claude-up", stream=True)
    assert payload["system"] == "Be brief.\n\nUse metric units."
    assert payload["max_tokens"] == 300
    assert payload["temperature"] == 0.2
    assert payload["stop_sequences"] == ["END"]
    assert payload["stream"] is True
    assert payload["metadata"] == {"user_id": "u-42"}
    assert "seed" not in payload
    assert payload["tools"] == [
        {
            "name": "weather",
            "description": "Current weather",
            "input_schema": WEATHER_TOOL["function"]["parameters"],  # type: ignore[index]
        }
    ]
    assert payload["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert payload["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",  # both results and the next question in one user turn
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "t2", "content": "24C"},
                {"type": "text", "text": "And this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                },
            ],
        },
    ]


def test_max_tokens_defaults_when_absent() -> None:
    assert translate_request(user_body(), "m", stream=False)["max_tokens"] == 4096
    assert translate_request(user_body(max_tokens=55), "m", stream=False)["max_tokens"] == 55


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    payload = translate_request(
        user_body(tools=[WEATHER_TOOL], tool_choice=choice), "m", stream=False
    )
    assert payload["tool_choice"] == expected


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"audio": {"voice": "x"}}, "audio"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"a_parameter_from_the_future": 1}, "a_parameter_from_the_future"),
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
    ],
)
def test_unsupported_fields_are_rejected_by_name(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(UnsupportedParameter) as caught:
        translate_request(user_body(**extra), "m", stream=False)
    assert caught.value.field == field


def test_neutral_values_and_nulls_are_accepted() -> None:
    body = user_body(
        n=1,
        logprobs=False,
        response_format={"type": "text"},
        temperature=None,
        presence_penalty=0.5,
    )
    assert "temperature" not in translate_request(body, "m", stream=False)


def test_unsupported_content_part_is_named() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    with pytest.raises(UnsupportedParameter) as caught:
        translate_request(body, "m", stream=False)
    assert caught.value.field == "messages[0].content[0]"


async def test_text_answer(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="Bonjour!", usage=(12, 3))
    result = await exchange(client, target_for(fake, "anthropic"), user_body())
    document = json.loads(result.body)
    assert document["object"] == "chat.completion"
    assert document["id"].startswith("chatcmpl-")
    assert document["model"] == "public-model"
    assert document["choices"][0]["message"]["content"] == "Bonjour!"
    assert document["choices"][0]["finish_reason"] == "stop"
    assert document["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


async def test_tool_call_answer(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="", tool_calls=[FakeToolCall("weather", {"city": "Paris"}, id="toolu_1")])
    result = await exchange(client, target_for(fake, "anthropic"), user_body(tools=[WEATHER_TOOL]))
    choice = json.loads(result.body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"] == "toolu_1"
    assert call["function"]["name"] == "weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
    ],
)
async def test_stop_reasons(
    fake: FakeUpstream, client: UpstreamClient, stop_reason: str, finish_reason: str
) -> None:
    fake.script(finish_reason=stop_reason)
    result = await exchange(client, target_for(fake, "anthropic"), user_body())
    assert json.loads(result.body)["choices"][0]["finish_reason"] == finish_reason


async def test_streamed_text_with_usage(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="One two three", usage=(30, 4))
    result = await exchange(
        client, target_for(fake, "anthropic"), user_body(), stream=True, wants_usage=True
    )
    documents = sse_documents(result.body)
    assert documents[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert streamed_text(documents) == "One two three"
    assert documents[-3]["choices"][0]["finish_reason"] == "stop"
    assert documents[-2]["choices"] == []
    assert documents[-2]["usage"] == {
        "prompt_tokens": 30,
        "completion_tokens": 4,
        "total_tokens": 34,
    }
    assert documents[-1] == "[DONE]"
    assert all(doc["object"] == "chat.completion.chunk" for doc in documents[:-1])
    assert len({doc["id"] for doc in documents[:-1]}) == 1
    assert result.translator is not None
    assert result.translator.finished_ok


async def test_streamed_tool_calls_without_usage_chunk(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(
        text="Checking.",
        tool_calls=[
            FakeToolCall("weather", {"city": "Paris"}, id="toolu_a"),
            FakeToolCall("weather", {"city": "Rome"}, id="toolu_b"),
        ],
        usage=(5, 9),
    )
    result = await exchange(
        client, target_for(fake, "anthropic"), user_body(tools=[WEATHER_TOOL]), stream=True
    )
    documents = sse_documents(result.body)
    assert streamed_text(documents) == "Checking."
    calls = streamed_tool_calls(documents)
    assert calls[0] == {
        "id": "toolu_a",
        "name": "weather",
        "arguments": json.dumps({"city": "Paris"}),
    }
    assert calls[1]["id"] == "toolu_b"
    assert json.loads(calls[1]["arguments"]) == {"city": "Rome"}
    assert documents[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert documents[-1] == "[DONE]"
    assert not any(doc != "[DONE]" and doc["choices"] == [] for doc in documents)
    assert result.translator is not None
    usage = result.translator.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (5, 9)


def _anthropic_events() -> bytes:
    def event(name: str, document: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(document)}\n\n".encode()

    return b"".join(
        [
            event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {"usage": {"input_tokens": 4, "cache_read_input_tokens": 6}},
                },
            ),
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "thinking", "thinking": ""},
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": "hmm"},
                },
            ),
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": "héllo "},
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": "wörld"},
                },
            ),
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 2,
                    "content_block": {
                        "type": "tool_use",
                        "id": "toolu_x",
                        "name": "f",
                        "input": {},
                    },
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": '{"a": '},
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 2,
                    "delta": {"type": "input_json_delta", "partial_json": "[1, 2]}"},
                },
            ),
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use"},
                    "usage": {"output_tokens": 15},
                },
            ),
            event("message_stop", {"type": "message_stop"}),
        ]
    )


def _translate(pieces: list[bytes]) -> tuple[list[Any], AnthropicStream]:
    translator = AnthropicStream(public_model="p", client_wants_usage=True)
    out = b"".join(translator.feed(piece) for piece in pieces) + translator.finish()
    return sse_documents(out), translator


def _without_ids(documents: list[Any]) -> list[Any]:
    return [doc if doc == "[DONE]" else {**doc, "id": "", "created": 0} for doc in documents]


def test_stream_translation_is_independent_of_chunk_boundaries() -> None:
    stream = _anthropic_events()
    reference, translator = _translate([stream])
    assert streamed_text(reference) == "héllo wörld"  # multi-byte characters survive splits
    assert streamed_tool_calls(reference) == {
        0: {"id": "toolu_x", "name": "f", "arguments": '{"a": [1, 2]}'}
    }
    assert translator.usage is not None
    assert (translator.usage.input_tokens, translator.usage.output_tokens) == (10, 15)
    for size in (1, 2, 5, 33):
        documents, _ = _translate([stream[i : i + size] for i in range(0, len(stream), size)])
        assert _without_ids(documents) == _without_ids(reference)


def test_error_event_ends_the_stream_without_done() -> None:
    translator = AnthropicStream(public_model="p", client_wants_usage=True, api_key=KEY)
    out = translator.feed(b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n')
    error = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": f"Overloaded for {KEY}"},
    }
    out += translator.feed(b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n")
    out += translator.feed(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    out += translator.finish()
    documents = sse_documents(out)
    assert documents[-1] == {
        "error": {
            "message": "Overloaded for <redacted>",
            "type": "api_error",
            "code": "upstream_error",
        }
    }
    assert "[DONE]" not in documents
    assert translator.ended_with_error
    assert not translator.finished_ok


def test_cut_stream_emits_no_done() -> None:
    translator = AnthropicStream(public_model="p", client_wants_usage=False)
    stream = _anthropic_events()
    out = translator.feed(stream[: stream.index(b"event: message_delta")]) + translator.finish()
    assert b"[DONE]" not in out
    assert not translator.finished_ok
    assert not translator.ended_with_error


def test_parse_usage_of_a_whole_body() -> None:
    usage = adapter_for("anthropic").parse_usage(b'{"usage":{"input_tokens":3,"output_tokens":8}}')
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (3, 8)


async def test_stream_written_in_tiny_pieces(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(
        text="Split across many writes",
        tool_calls=[FakeToolCall("weather", {"city": "Oslo"}, id="toolu_s")],
        write_size=3,
    )
    result = await exchange(client, target_for(fake, "anthropic"), user_body(), stream=True)
    documents = sse_documents(result.body)
    assert streamed_text(documents) == "Split across many writes"
    assert json.loads(streamed_tool_calls(documents)[0]["arguments"]) == {"city": "Oslo"}
    assert documents[-1] == "[DONE]"
