"""Native Chat Completions families: paths, key headers, pass-through bodies, and the
stream relay that reads (and, when unwanted, strips) the usage chunk."""

from __future__ import annotations

import json

import pytest

from chatgate.upstream import UpstreamClient, UpstreamProtocolError, adapter_for
from chatgate.upstream.adapters.chat_completions import RelayTranslator
from tests.support.fake_upstream import FakeToolCall, FakeUpstream
from tests.support.upstream import (
    GENEROUS,
    KEY,
    exchange,
    sse_documents,
    streamed_text,
    streamed_tool_calls,
    target_for,
    user_body,
)

NATIVE = ["openai", "openai-compat", "openrouter", "vercel", "azure"]


@pytest.mark.parametrize("family", NATIVE)
async def test_path_and_key_header(fake: FakeUpstream, client: UpstreamClient, family: str) -> None:
    await exchange(client, target_for(fake, family), user_body())
    [seen] = fake.requests
    assert seen.path == "/v1/chat/completions"
    if family == "azure":
        assert seen.key_header == "api-key"
        assert seen.headers["api-key"] == KEY
        assert "authorization" not in seen.headers
    else:
        assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in seen.path
    assert not seen.query
    assert seen.headers["x-chatgate-loop"] == "inst-1"


async def test_body_passes_through_with_upstream_model(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    body = user_body(temperature=0.3, some_future_parameter={"x": [1, 2]}, n=2)
    await exchange(client, target_for(fake, "openai", model="gpt-up"), body)
    sent = fake.requests[0].json
    assert sent == {**body, "model": "gpt-up"}
    assert body["model"] == "public-model"  # the caller's dict is not modified


async def test_non_stream_body_is_relayed_byte_for_byte(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    raw = b'{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":4}}'
    fake.script(raw_body=raw)
    result = await exchange(client, target_for(fake, "openrouter"), user_body())
    assert result.body == raw
    usage = adapter_for("openrouter").parse_usage(result.body)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (5, 4)


async def test_stream_always_asks_for_usage(fake: FakeUpstream, client: UpstreamClient) -> None:
    body = user_body(stream=True, stream_options={"include_usage": False, "other": 1})
    await exchange(client, target_for(fake, "vercel"), body, stream=True)
    sent = fake.requests[0].json
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True, "other": 1}


async def test_usage_chunk_is_stripped_when_not_wanted(
    fake: FakeUpstream, client: UpstreamClient
) -> None:
    fake.script(text="Hello there world", usage=(21, 9))
    result = await exchange(client, target_for(fake, "openai"), user_body(), stream=True)
    documents = sse_documents(result.body)
    assert streamed_text(documents) == "Hello there world"
    assert documents[-1] == "[DONE]"
    assert all(doc.get("choices") for doc in documents[:-1])  # no usage-only chunk
    assert result.translator is not None
    assert result.translator.finished_ok
    usage = result.translator.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (21, 9)


async def test_usage_chunk_is_kept_when_wanted(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(usage=(3, 2))
    result = await exchange(
        client, target_for(fake, "openai"), user_body(), stream=True, wants_usage=True
    )
    documents = sse_documents(result.body)
    assert documents[-2]["choices"] == []
    assert documents[-2]["usage"]["total_tokens"] == 5


async def test_tool_call_stream_is_relayed(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="", tool_calls=[FakeToolCall("lookup", {"city": "Paris"}, id="call_1")])
    result = await exchange(client, target_for(fake, "azure"), user_body(), stream=True)
    calls = streamed_tool_calls(sse_documents(result.body))
    assert calls == {
        0: {"id": "call_1", "name": "lookup", "arguments": json.dumps({"city": "Paris"})}
    }


async def test_cut_stream_is_not_finished(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(drop_after=3)
    adapter = adapter_for("openai")
    translator = adapter.stream_translator(public_model="p", client_wants_usage=False)
    request = adapter.build_request(
        target_for(fake, "openai"), user_body(), stream=True, extra_headers={}
    )
    relayed = bytearray()

    async def relay() -> None:
        async with client.send(request, GENEROUS) as response:
            async for chunk in response.iter_chunks():
                relayed.extend(translator.feed(chunk))

    with pytest.raises(UpstreamProtocolError):
        await relay()
    relayed += translator.finish()
    assert relayed.count(b"data: ") == 3
    assert not translator.finished_ok
    assert not translator.ended_with_error  # the gateway appends its error event


def _native_stream(*, usage_in_every_chunk: bool = True, newline: bytes = b"\n") -> bytes:
    def event(document: object) -> bytes:
        return b"data: " + json.dumps(document).encode() + newline + newline

    usage_null = {"usage": None} if usage_in_every_chunk else {}
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        event(
            {
                **base,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
                **usage_null,
            }
        ),
        event(
            {
                **base,
                "choices": [{"index": 0, "delta": {"content": 'say "usage": 1 [DONE]'}}],
                **usage_null,
            }
        ),
        event(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **usage_null}
        ),
        event(
            {
                **base,
                "choices": [],
                "usage": {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14},
            }
        ),
        b": keep-alive comment" + newline + newline,
        b"data: [DONE]" + newline + newline,
    ]
    return b"".join(chunks)


def _relay(stream: bytes, pieces: list[bytes], *, strip: bool) -> tuple[bytes, RelayTranslator]:
    translator = RelayTranslator(strip_usage=strip)
    out = b"".join(translator.feed(piece) for piece in pieces) + translator.finish()
    assert b"".join(pieces) == stream
    return out, translator


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("strip", [True, False])
def test_relay_is_independent_of_chunk_boundaries(newline: bytes, strip: bool) -> None:
    stream = _native_stream(newline=newline)
    whole, reference = _relay(stream, [stream], strip=strip)
    assert reference.finished_ok
    assert reference.usage is not None
    assert (reference.usage.input_tokens, reference.usage.output_tokens) == (8, 6)
    assert (b'"prompt_tokens"' in whole) is not strip
    for size in (1, 2, 3, 7, 64):
        pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
        split, translator = _relay(stream, pieces, strip=strip)
        assert split == whole
        assert translator.usage == reference.usage
        assert translator.finished_ok


def test_relay_keeps_bytes_it_does_not_need_to_touch() -> None:
    stream = _native_stream(usage_in_every_chunk=False)
    out, _ = _relay(stream, [stream], strip=False)
    assert out == stream


def test_relay_text_mentioning_done_is_not_the_end() -> None:
    stream = _native_stream()
    cut = stream[: stream.index(b"data: [DONE]")]
    _, translator = _relay(cut, [cut], strip=True)
    assert not translator.finished_ok


def test_relay_reads_usage_on_a_chunk_that_also_has_choices_and_keeps_it() -> None:
    event = (
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":2,"completion_tokens":1}}\n\ndata: [DONE]\n\n'
    )
    out, translator = _relay(event, [event], strip=True)
    assert out == event
    assert translator.usage is not None
    assert translator.usage.output_tokens == 1


def test_relay_redacts_the_key_and_notices_upstream_error_events() -> None:
    translator = RelayTranslator(strip_usage=True, api_key=KEY)
    out = translator.feed(
        b'data: {"choices":[{"delta":{"content":"key ' + KEY.encode() + b'"}}]}\n\n'
    )
    out += translator.feed(b'data: {"error": {"message": "overloaded"}}\n\n')
    out += translator.finish()
    assert KEY.encode() not in out
    assert b"<redacted>" in out
    assert translator.ended_with_error
    assert not translator.finished_ok


def test_relay_flushes_an_unterminated_last_event() -> None:
    translator = RelayTranslator(strip_usage=True)
    assert translator.feed(b"data: [DONE]") == b""
    assert translator.finish() == b"data: [DONE]\n\n"
    assert translator.finished_ok


async def test_stream_written_in_tiny_pieces(fake: FakeUpstream, client: UpstreamClient) -> None:
    fake.script(text="Split across many writes", usage=(4, 5), write_size=5)
    result = await exchange(client, target_for(fake, "openai"), user_body(), stream=True)
    documents = sse_documents(result.body)
    assert streamed_text(documents) == "Split across many writes"
    assert all(doc == "[DONE]" or doc["choices"] for doc in documents)
    assert result.translator is not None
    assert result.translator.usage is not None
    assert result.translator.usage.output_tokens == 5
