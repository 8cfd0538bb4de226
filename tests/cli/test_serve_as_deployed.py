"""``chatgate serve`` as an operator deploys it, on SQLite and on PostgreSQL (SPEC §12):
started from the database URL people write, configured through the API, called with the
official ``openai`` SDK, restarted, and stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from chatgate.db.engine import Database
from chatgate.db.tables import UsageEvent
from chatgate.db.urls import normalise_database_url
from tests.cli.serving import ServeProcess, serving
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import TEST_KEY, cli_environ, run_chatgate

POLL_STEP_S = 0.02  # polling a condition, with a deadline


@pytest.fixture
async def fake() -> Any:
    async with FakeUpstream() as upstream:
        yield upstream


def people_form(database_url: str) -> str:
    """The URL as an operator writes it: ``sqlite:////abs/path.db`` or ``postgres://…``."""
    if database_url.startswith("sqlite+aiosqlite:///"):
        return "sqlite:///" + database_url.removeprefix("sqlite+aiosqlite:///")
    return "postgres://" + database_url.removeprefix("postgresql+asyncpg://")


def deployed_environ(database_url: str, **extra: str) -> dict[str, str]:
    environ = cli_environ(people_form(database_url), CHATGATE_LISTEN="127.0.0.1:0", **extra)
    if database_url.startswith("postgresql"):
        environ["CHATGATE_ENCRYPTION_KEYS"] = TEST_KEY  # required on PostgreSQL
    return environ


async def configure(served: ServeProcess, token: str, upstream_url: str, key: str) -> None:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        auth = {"authorization": f"Bearer {token}"}
        provider = await client.post(
            "/api/v1/providers",
            json={"family": "openai", "name": "up", "base_url": upstream_url, "api_key": key},
            headers=auth,
        )
        assert provider.status_code == 201, provider.text
        model = await client.post(
            "/api/v1/models",
            json={
                "provider_config_id": provider.json()["id"],
                "model": "gpt-up",
                "name": "chat",
                "context_limit": 8192,
            },
            headers=auth,
        )
        assert model.status_code == 201, model.text


async def ask(served: ServeProcess, token: str, prompt: str) -> list[str]:
    """One answer and one stream through the SDK; returns the request ids chatgate gave."""
    sdk = openai.AsyncOpenAI(base_url=f"{served.base_url}/v1", api_key=token, max_retries=0)
    async with sdk:
        messages: Any = [{"role": "user", "content": prompt}]
        raw = await sdk.chat.completions.with_raw_response.create(model="chat", messages=messages)
        answer = raw.parse()
        assert answer.choices[0].message.content == "Hello from the fake upstream."
        stream = await sdk.chat.completions.create(model="chat", messages=messages, stream=True)
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(pieces) == "Hello from the fake upstream."
        return [
            raw.headers["x-chatgate-request-id"],
            stream.response.headers["x-chatgate-request-id"],
        ]


def access_line(served: ServeProcess, request_id: str, log_format: str) -> dict[str, Any]:
    """The access line of ``request_id``, as a dict in either format."""
    for line in served.stderr:
        if request_id not in line or "chatgate.access" not in line:
            continue
        if log_format == "json":
            entry: dict[str, Any] = json.loads(line)
            return entry
        fields = dict(part.split("=", 1) for part in line.split()[4:] if "=" in part)
        return {"logger": line.split()[2], "message": line.split()[3], **fields}
    raise AssertionError(f"no access line for {request_id}: {served.stderr}")


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_serve_answers_the_sdk_survives_a_restart_and_stops_cleanly_on_sigterm(
    scratch_database_url: str, fake: FakeUpstream, log_format: str
) -> None:
    canary_key = f"sk-canary-deployed-{uuid.uuid4().hex}"
    canary_prompt = f"prompt canary {uuid.uuid4().hex}"
    environ = deployed_environ(scratch_database_url, CHATGATE_LOG_FORMAT=log_format)

    async with serving(environ) as first:
        [token] = first.printed_tokens
        assert any(line.startswith("chatgate data: ") for line in first.stdout)
        await configure(first, token, fake.url, canary_key)
        request_ids = await ask(first, token, canary_prompt)
        for request_id in request_ids:
            await first.wait_for_stderr(request_id)
        assert await first.stop(signal.SIGTERM) == 0
    assert [request.api_key for request in fake.requests] == [canary_key, canary_key]

    for request_id in request_ids:
        line = access_line(first, request_id, log_format)
        assert line["logger"] == "chatgate.access"
        assert (line["method"], line["path"], str(line["status"])) == (
            "POST",
            "/v1/chat/completions",
            "200",
        )
        assert (line["model"], line["provider_config"], line["key_source"]) == (
            "chat",
            "up",
            "central",
        )
        assert str(line["attempts"]) == "1"
        assert float(line["duration_ms"]) > 0
    everything = "\n".join(first.stdout + first.stderr)
    assert canary_key not in everything
    assert canary_prompt not in everything
    assert token not in "\n".join(first.stderr)  # printed once on stdout, never logged

    async with serving(environ) as second:
        assert second.printed_tokens == []  # same database: the owner already exists
        await ask(second, token, "again")
        await one_chat(second, token)
        assert await second.stop(signal.SIGTERM) == 0


async def one_chat(served: ServeProcess, token: str) -> None:
    """A chat with the default model, one streamed reply, stored (SPEC §10)."""
    async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
        auth = {"authorization": f"Bearer {token}"}
        chat = await client.post("/api/v1/chats", json={"title": "deployed"}, headers=auth)
        assert chat.status_code == 201, chat.text
        chat_id = chat.json()["id"]
        reply = await client.post(
            f"/api/v1/chats/{chat_id}/messages", json={"content": "Say hello"}, headers=auth
        )
        assert reply.status_code == 200, reply.text
        assert "event: done" in reply.text
        messages = await client.get(f"/api/v1/chats/{chat_id}/messages", headers=auth)
        assert [(m["role"], m["content"], m["status"]) for m in messages.json()["items"]] == [
            ("user", "Say hello", "complete"),
            ("assistant", "Hello from the fake upstream.", "complete"),
        ]


async def test_db_upgrade_then_serve_without_migrating(
    scratch_database_url: str, fake: FakeUpstream
) -> None:
    environ = deployed_environ(scratch_database_url)
    refused = await run_chatgate("serve", "--no-migrate", environ=environ, timeout=30)
    assert refused.code == 1
    assert "run `chatgate db upgrade`" in refused.stderr
    assert "Traceback" not in refused.stderr

    upgraded = await run_chatgate("db", "upgrade", environ=environ)
    assert upgraded.code == 0, upgraded.stderr
    async with serving(environ, "--no-migrate") as served:
        [token] = served.printed_tokens
        await configure(served, token, fake.url, "sk-upstream")
        await ask(served, token, "hello")
        async with httpx.AsyncClient(base_url=served.base_url) as client:
            for _ in range(2):
                ready = await client.get("/readyz")
                assert ready.status_code == 200, ready.text
        await served.wait_for_stderr(ready.headers["x-chatgate-request-id"])
        assert not any("alembic" in line for line in served.stderr), served.stderr
        assert await served.stop(signal.SIGTERM) == 0


async def test_sqlite_start_says_where_the_data_and_its_key_file_live(tmp_path: Path) -> None:
    environ = cli_environ(f"sqlite:///{tmp_path}/data/chatgate.db", CHATGATE_LISTEN="127.0.0.1:0")
    async with serving(environ) as served:
        assert await served.stop() == 0
    [where] = [line for line in served.stdout if line.startswith("chatgate data: ")]
    assert f"SQLite database {tmp_path}/data/chatgate.db" in where
    assert f"encryption key file {tmp_path}/data/encryption.key" in where


async def refuses_new_connections(base_url: str) -> None:
    """Until the server stops accepting (polled, with a deadline)."""
    async with asyncio.timeout(10):
        while True:
            try:
                async with httpx.AsyncClient(base_url=base_url, timeout=1) as client:
                    await client.get("/healthz")
            except httpx.TransportError:
                return
            await asyncio.sleep(POLL_STEP_S)


async def test_sigterm_lets_a_stream_in_flight_finish_then_records_its_usage(
    tmp_path: Path, fake: FakeUpstream
) -> None:
    database = f"sqlite:///{tmp_path / 'chatgate.db'}"
    environ = cli_environ(database, CHATGATE_LISTEN="127.0.0.1:0")
    async with serving(environ) as served:
        [token] = served.printed_tokens
        await configure(served, token, fake.url, "sk-upstream-graceful")
        script = fake.script(text="one two three four", stall_after=2)
        async with (
            httpx.AsyncClient(base_url=served.base_url, timeout=30) as client,
            client.stream(
                "POST",
                "/v1/chat/completions",
                json={
                    "model": "chat",
                    "messages": [{"role": "user", "content": "hi"}],
                    "stream": True,
                },
                headers={"authorization": f"Bearer {token}"},
            ) as response,
        ):
            assert response.status_code == 200
            pieces = response.aiter_text()
            received = [await anext(pieces)]  # the stream has begun
            served.process.send_signal(signal.SIGTERM)
            await refuses_new_connections(served.base_url)  # the stop is under way
            script.release.set()
            received.extend([piece async for piece in pieces])
        assert "".join(received).rstrip().endswith("data: [DONE]")
        assert await served.stop() == 0

    db = Database(normalise_database_url(database))
    try:
        rows = await db.read(
            lambda session: session.execute(select(UsageEvent.status, UsageEvent.output_tokens))
        )
        assert [tuple(row) for row in rows.all()] == [(200, 7)]
    finally:
        await db.dispose()
