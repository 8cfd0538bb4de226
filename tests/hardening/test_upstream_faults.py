"""Upstream faults seen through the official OpenAI SDK (SPEC §9, docs/errors.md).

For each way an upstream can misbehave — silent before its first byte, silent mid-answer,
resetting the connection, sending bytes that are not JSON or not SSE, sending a very large
answer, dripping slowly, never ending — the client gets the documented error within the
configured timeouts, the gateway lets go of the upstream connection (the fake counts the
sockets it holds open), and usage records one row per attempt with its outcome.
Timing faults are single-config, so what is asserted is the fault itself, not failover
(tests/gateway/test_attempt_failures.py covers failover).
"""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from tests.gateway.conftest import sdk
from tests.support.chats import chat_model, new_chat, post_message, sse_events, stored_messages
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import USER_MESSAGE, usage_rows
from tests.support.helpers import Env, add_model, add_provider, eventually

KEY = "sk-faults-0123456789abcdef"
# Small per-config timeouts where a test waits for one to fire; patient ones elsewhere, so
# a busy machine cannot turn a healthy answer into a timeout.
FAULT_TIMEOUT_S = 0.4  # first byte and idle
PATIENT_S = 5.0
# A slow upstream: each gap (0.1 s) is a tenth of the idle timeout, the whole answer
# (1.2 s) longer than it and than the first-byte timeout.
DRIP_S = 0.1
DRIP_PARTS = 12
DRIP_TIMEOUT_S = 1.0
TEN_MB = 10 * 1024 * 1024
# Only a guard against a hang (a failure of the test, not a measurement).
HANG_GUARD_S = 30.0
# Reading this many chunks of a never-ending stream before the client gives up.
CHUNKS_BEFORE_LEAVING = 5


async def _config(env: Env, fake: FakeUpstream, timeout_s: float = PATIENT_S) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="faulty",
        base_url=fake.url + "/v1",
        api_key=KEY,
        first_byte_timeout_s=timeout_s,
        idle_timeout_s=timeout_s,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")


async def _ask(env: Env, *, stream: bool, client: openai.AsyncOpenAI | None = None) -> str:
    """The answer's text as the SDK assembles it (raises what the SDK raises)."""
    client = client or sdk(env)
    if not stream:
        completion = await client.chat.completions.create(
            model="chat", messages=USER_MESSAGE, stream=False
        )
        return completion.choices[0].message.content or ""
    text = ""
    async for chunk in await client.chat.completions.create(
        model="chat", messages=USER_MESSAGE, stream=True
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    return text


async def _error(env: Env, *, stream: bool) -> openai.APIError:
    with pytest.raises(openai.APIError) as raised:
        await _ask(env, stream=stream)
    return raised.value


def _code_and_status(error: openai.APIError) -> tuple[str | None, int | None]:
    """The error code, and the HTTP status (None when the error came as a stream event)."""
    status = error.status_code if isinstance(error, openai.APIStatusError) else None
    return error.code, status


async def _connections_released(fake: FakeUpstream, *, pooled: int = 0) -> None:
    """The gateway closed its upstream connection (or, after a clean answer, keeps at most
    ``pooled`` for reuse)."""

    async def released() -> bool:
        return fake.open_connections <= pooled

    await eventually(released, what="the upstream connection to be released")


async def _attempts(env: Env) -> list[tuple[int, int, str | None]]:
    return [(row.attempt, row.status, row.error_class) for row in await usage_rows(env)]


# -- silence ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_an_upstream_silent_before_its_first_byte_is_a_504(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    await _config(env, fake, FAULT_TIMEOUT_S)
    fake.script(hold=_never())
    error = await _error(env, stream=stream)
    assert _code_and_status(error) == ("upstream_timeout", 504)
    assert "faulty" in error.message
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 0, "timeout")]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_an_upstream_silent_mid_answer_ends_in_a_timeout(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    await _config(env, fake, FAULT_TIMEOUT_S)
    fake.script(text="one two three four five", body_parts=3, stall_after=1)
    error = await _error(env, stream=stream)
    # Whole answers fail with a 504; a stream already started ends with an error event.
    assert _code_and_status(error) == ("upstream_timeout", None if stream else 504)
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 200, "timeout")]


# -- broken connections and bytes -------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_connection_reset_before_the_answer_is_a_502(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    await _config(env, fake)
    fake.script(reset=True)
    error = await _error(env, stream=stream)
    assert _code_and_status(error) == ("upstream_error", 502)
    assert KEY not in error.message
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 0, "connect")]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_connection_reset_mid_answer_is_an_upstream_error(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    await _config(env, fake)
    fake.script(text="one two three four five", body_parts=3, drop_after=2)
    error = await _error(env, stream=stream)
    assert _code_and_status(error) == ("upstream_error", None if stream else 502)
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 200, "stream_cut" if stream else "protocol")]


async def test_a_whole_answer_that_is_not_json_is_a_502(env: Env, fake: FakeUpstream) -> None:
    await _config(env, fake)
    fake.script(raw_body=b'{"id": "chatcmpl-1", "choices": [{"message": ')
    error = await _error(env, stream=False)
    assert _code_and_status(error) == ("upstream_error", 502)
    assert "unreadable" in error.message
    await _connections_released(fake, pooled=1)
    assert await _attempts(env) == [(1, 200, "protocol")]


async def test_a_stream_that_is_not_sse_ends_with_an_upstream_error(
    env: Env, fake: FakeUpstream
) -> None:
    await _config(env, fake)
    fake.script(raw_chunks=[b"<html><body>Bad gateway", b" (proxy)</body></html>"])
    error = await _error(env, stream=True)
    assert _code_and_status(error) == ("upstream_error", None)
    await _connections_released(fake, pooled=1)
    assert await _attempts(env) == [(1, 200, "stream_cut")]


# -- size and pace ----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_ten_megabyte_answer_arrives_whole(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    await _config(env, fake)
    # Streams send one word per event: few long words keep the event count sensible.
    word = "w" * (1024 * 1024 - 1) + " "
    fake.script(text=word * 10, usage=(5, 10_000))
    text = await _ask(env, stream=stream)
    assert len(text) == TEN_MB
    await _connections_released(fake, pooled=1)
    rows = await usage_rows(env)
    assert [(r.attempt, r.status, r.error_class, r.output_tokens) for r in rows] == [
        (1, 200, None, 10_000)
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_slow_drip_under_the_idle_timeout_is_not_cut(
    env: Env, fake: FakeUpstream, stream: bool
) -> None:
    # chatgate has no overall limit on an answer (docs/reliability.md): only silence is.
    await _config(env, fake, DRIP_TIMEOUT_S)
    words = " ".join(f"w{i}" for i in range(DRIP_PARTS))
    fake.script(text=words, body_parts=DRIP_PARTS, drip_s=DRIP_S)
    assert await _ask(env, stream=stream) == words
    await _connections_released(fake, pooled=1)
    assert await _attempts(env) == [(1, 200, None)]


async def test_a_whole_answer_that_never_ends_is_cut_at_64_mib(
    env: Env, fake: FakeUpstream
) -> None:
    await _config(env, fake)
    fake.script(raw_body=b'{"choices": [{"message": {"content": "', endless=b"x" * 65536)
    error = await _error(env, stream=False)
    assert _code_and_status(error) == ("upstream_error", 502)
    assert "64 MiB" in error.message
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 200, "too_large")]


async def test_a_stream_that_never_ends_stops_when_the_client_leaves(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    await _config(env, fake)
    piece = _content_event("more ")
    fake.script(raw_chunks=[piece], endless=piece, drip_s=DRIP_S / 10)
    client = openai.AsyncOpenAI(base_url=live + "/v1", api_key=env.owner_token, max_retries=0)
    async with client:
        stream = await client.chat.completions.create(
            model="chat", messages=USER_MESSAGE, stream=True
        )
        received = 0
        async for _chunk in stream:
            received += 1
            if received == CHUNKS_BEFORE_LEAVING:
                break
        await stream.close()
    await _connections_released(fake)
    assert fake.disconnects == 1

    async def recorded() -> bool:
        return await _attempts(env) == [(1, 200, "client_disconnected")]

    await eventually(recorded, what="the disconnect to be recorded")


@pytest.mark.parametrize("family", ["openai", "anthropic"])
async def test_a_stream_kept_open_after_its_end_marker_ends_for_the_client(
    env: Env, fake: FakeUpstream, family: str
) -> None:
    # [DONE] (or Anthropic's message_stop) came, but the upstream keeps the connection
    # alive with comments. The OpenAI SDK reads a stream to its end after [DONE]: without
    # stopping there, the client would wait forever.
    base_url = fake.url + ("/v1" if family == "openai" else "")
    provider = await add_provider(env, family=family, base_url=base_url, api_key=KEY)
    await add_model(env, provider_config_id=provider["id"], model="up", name="chat")
    fake.script(text="all of it", endless=b": keep-alive\n\n", drip_s=DRIP_S)
    async with asyncio.timeout(HANG_GUARD_S):
        assert await _ask(env, stream=True) == "all of it"
    await _connections_released(fake)
    assert await _attempts(env) == [(1, 200, None)]


# -- chats (POST a message) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("hang", 504, "upstream_timeout"), ("reset", 502, "upstream_error")],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_chat_reply_from_a_faulty_upstream_is_an_error_reply(
    env: Env, fake: FakeUpstream, stream: bool, fault: str, status: int, code: str
) -> None:
    model = await chat_model(env, fake.url)
    patched = await env.client.patch(
        f"/api/v1/providers/{model['provider_config_id']}",
        json={"first_byte_timeout_s": FAULT_TIMEOUT_S, "idle_timeout_s": FAULT_TIMEOUT_S},
        headers=env.auth(env.owner_token),
    )
    assert patched.status_code == 200, patched.text
    if fault == "hang":
        fake.script(hold=_never())
    else:
        fake.script(reset=True)
    chat = await new_chat(env, env.owner_token)
    response = await post_message(env, env.owner_token, chat["id"], "Hello?", stream=stream)
    if stream:
        assert response.status_code == 200
        events = sse_events(response.text)
        assert events[-1][0] == "error"
        assert events[-1][1]["code"] == code
    else:
        assert response.status_code == status
        assert response.json()["code"] == code
    assert KEY not in response.text
    await _connections_released(fake)
    stored = await stored_messages(env, chat["id"])
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "error")]
    assert len(await usage_rows(env)) == 1


# -- helpers ----------------------------------------------------------------------------


def _never() -> asyncio.Event:
    """An event nobody sets during the test (the fake sets it when it shuts down)."""
    return asyncio.Event()


def _content_event(text: str) -> bytes:
    chunk = {
        "id": "chatcmpl-endless",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-up",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()
