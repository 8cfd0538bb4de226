"""Gemini generateContent / streamGenerateContent: request translation, answers
translated back, and thought signatures carried through tool call ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatgate.upstream import UnsupportedParameter, UpstreamClient, adapter_for
from chatgate.upstream.adapters.google import SKIP_SIGNATURE, GoogleStream, translate_request
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
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}


async def test_paths_and_key_header(fake: FakeUpstream, client: UpstreamClient) -> None:
    target = target_for(fake, "google", model="gemini-2.5-flash")
    await exchange(client, target, user_body())
    await exchange(client, target, user_body(), stream=True)
    plain, streamed = fake.requests
    assert plain.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert plain.query == {}
    assert streamed.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert streamed.query == {"alt": "sse"}
    for seen in (plain, streamed):
        assert seen.headers["x-goog-api-key"] == KEY
        assert "authorization" not in seen.headers
        assert KEY not in seen.path
        assert KEY not in json.dumps(seen.query)


def test_conversation_translation() -> None:
    body = {
        "model": "public",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "18C"},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}}
                ],
            },
        ],
        "max_tokens": 200,
        "temperature": 0.4,
        "top_p": 0.9,
        "stop": ["END", "STOP"],
        "seed": 3,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "object"}},
        },
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": True,  # ignored
    }
    payload = translate_request(body)
    assert payload["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert payload["generationConfig"] == {
        "temperature": 0.4,
        "topP": 0.9,
        "seed": 3,
        "maxOutputTokens": 200,
        "stopSequences": ["END", "STOP"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }
    assert payload["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "Current weather",
                    "parametersJsonSchema": WEATHER_TOOL["function"]["parameters"],  # type: ignore[index]
                }
            ]
        }
    ]
    assert payload["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}
    }
    assert payload["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me check."},
                # A call from a history without a signature gets the documented skip value.
                {
                    "functionCall": {"name": "weather", "args": {"city": "Paris"}},
                    "thoughtSignature": SKIP_SIGNATURE,
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "weather", "response": {"result": "18C"}}},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 3}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"function_call": "auto"}, "function_call"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"brand_new_option": True}, "brand_new_option"),
        ({"response_format": {"type": "xml"}}, "response_format"),
    ],
)
def test_unsupported_fields_are_rejected_by_name(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(UnsupportedParameter) as caught:
        translate_request(user_body(**extra))
    assert caught.value.field == field


def test_image_urls_gemini_cannot_fetch_are_rejected() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
            }
        ]
    }
    with pytest.raises(UnsupportedParameter) as caught:
        translate_request(body)
    assert caught.value.field == "messages[0].content[0].image_url"


def test_tool_message_for_an_unknown_call_is_rejected() -> None:
    body = {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}
    with pytest.raises(UnsupportedParameter) as caught:
        translate_request(body)
    assert caught.value.field == "messages[0].tool_call_id"


async def test_text_answer(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="Ciao!", usage=(9, 2))
    result = await exchange(client, target_for(fake, "google"), user_body())
    document = json.loads(result.body)
    assert document["object"] == "chat.completion"
    assert document["model"] == "public-model"
    assert document["choices"][0]["message"]["content"] == "Ciao!"
    assert document["choices"][0]["finish_reason"] == "stop"
    assert document["usage"] == {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}


@pytest.mark.parametrize(
    ("reason", "finish_reason"),
    [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter")],
)
async def test_finish_reasons(
    fake: FakeUpstream, client: UpstreamClient, reason: str, finish_reason: str
) -> None:
    fake.script(finish_reason=reason)
    result = await exchange(client, target_for(fake, "google"), user_body())
    assert json.loads(result.body)["choices"][0]["finish_reason"] == finish_reason


async def test_tool_call_round_trip_keeps_the_thought_signature(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    target = target_for(fake, "google")
    fake.script(
        text="",
        tool_calls=[FakeToolCall("weather", {"city": "Paris"}, thought_signature="c2lnbmF0dXJl")],
    )
    first = json.loads((await exchange(client, target, user_body(tools=[WEATHER_TOOL]))).body)
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}

    # The client sends the conversation back as OpenAI clients do: ids echoed verbatim.
    follow_up = user_body(
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            choice["message"],
            {"role": "tool", "tool_call_id": call["id"], "content": "18C"},
        ],
    )
    await exchange(client, target, follow_up)
    model_turn = fake.requests[1].json["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"] == [
        {
            "functionCall": {"name": "weather", "args": {"city": "Paris"}},
            "thoughtSignature": "c2lnbmF0dXJl",
        }
    ]
    assert fake.requests[1].json["contents"][2]["parts"][0]["functionResponse"]["name"] == "weather"


async def test_streamed_text_with_usage(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="Uno due tre", usage=(14, 6))
    result = await exchange(
        client, target_for(fake, "google"), user_body(), stream=True, wants_usage=True
    )
    documents = sse_documents(result.body)
    assert documents[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert streamed_text(documents) == "Uno due tre"
    assert documents[-3]["choices"][0]["finish_reason"] == "stop"
    assert documents[-2]["usage"] == {
        "prompt_tokens": 14,
        "completion_tokens": 6,
        "total_tokens": 20,
    }
    assert documents[-1] == "[DONE]"
    assert result.translator is not None
    assert result.translator.finished_ok


async def test_streamed_tool_calls(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(
        text="",
        tool_calls=[
            FakeToolCall("weather", {"city": "Paris"}),
            FakeToolCall("weather", {"city": "Rome"}),
        ],
    )
    result = await exchange(
        client, target_for(fake, "google"), user_body(tools=[WEATHER_TOOL]), stream=True
    )
    documents = sse_documents(result.body)
    calls = streamed_tool_calls(documents)
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [
        {"city": "Paris"},
        {"city": "Rome"},
    ]
    assert all(
        call["id"].startswith("call_") and call["name"] == "weather" for call in calls.values()
    )
    assert calls[0]["id"] != calls[1]["id"]
    assert documents[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert documents[-1] == "[DONE]"


def _gemini_events() -> bytes:
    events = [
        {
            "candidates": [
                {"content": {"parts": [{"text": "thinking…", "thought": True}], "role": "model"}}
            ]
        },
        {
            "candidates": [{"content": {"parts": [{"text": "Grüß "}], "role": "model"}}],
            "usageMetadata": {"promptTokenCount": 5},
        },
        {
            "candidates": [
                {"content": {"parts": [{"text": "dich"}], "role": "model"}, "finishReason": "STOP"}
            ],
            "usageMetadata": {
                "promptTokenCount": 5,
                "candidatesTokenCount": 2,
                "thoughtsTokenCount": 10,
            },
        },
    ]
    return b"".join(b"data: " + json.dumps(event).encode() + b"\r\n\r\n" for event in events)


def _translate(pieces: list[bytes]) -> tuple[list[Any], GoogleStream]:
    translator = GoogleStream(public_model="p", client_wants_usage=True)
    out = b"".join(translator.feed(piece) for piece in pieces) + translator.finish()
    return sse_documents(out), translator


def test_stream_translation_is_independent_of_chunk_boundaries() -> None:
    stream = _gemini_events()
    reference, translator = _translate([stream])
    assert streamed_text(reference) == "Grüß dich"  # thought parts are not passed on
    assert translator.usage is not None
    assert (translator.usage.input_tokens, translator.usage.output_tokens) == (5, 12)
    for size in (1, 3, 17):
        documents, _ = _translate([stream[i : i + size] for i in range(0, len(stream), size)])
        strip = [d if d == "[DONE]" else {**d, "id": "", "created": 0} for d in documents]
        expected = [d if d == "[DONE]" else {**d, "id": "", "created": 0} for d in reference]
        assert strip == expected


def test_error_in_stream_ends_it_without_done() -> None:
    translator = GoogleStream(public_model="p", client_wants_usage=False, api_key=KEY)
    out = translator.feed(
        b'data: {"error": {"code": 503, "message": "busy ' + KEY.encode() + b'"}}\r\n\r\n'
    )
    out += translator.finish()
    documents = sse_documents(out)
    assert documents == [
        {
            "error": {
                "message": "busy <redacted>",
                "type": "api_error",
                "code": "upstream_error",
            }
        }
    ]
    assert translator.ended_with_error
    assert not translator.finished_ok


def test_stream_without_finish_reason_is_not_finished() -> None:
    stream = _gemini_events()
    cut = stream[: stream.rindex(b"data: ")]
    documents, translator = _translate([cut])
    assert "[DONE]" not in documents
    assert not translator.finished_ok


def test_parse_usage_of_a_whole_body() -> None:
    body = (
        b'{"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":3,"thoughtsTokenCount":4}}'
    )
    usage = adapter_for("google").parse_usage(body)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (7, 7)


async def test_stream_written_in_tiny_pieces(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="Split across many writes", write_size=2)
    result = await exchange(client, target_for(fake, "google"), user_body(), stream=True)
    documents = sse_documents(result.body)
    assert streamed_text(documents) == "Split across many writes"
    assert documents[-1] == "[DONE]"
