"""A canary user key never leaves the sealed column (SPEC §3, §7; STYLE "Secrets are a
type"): not in any response of any GET endpoint for any role, not in error answers, not in
any log line at DEBUG, not in any database column (raw bytes), not in the SQLite files."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import Base
from chatgate.ids import new_id
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env
from tests.support.userkeys import add_model, add_provider, put_key

CANARY = "sk-canary-" + "7f3c9a1e5b2d8046" * 2  # 42 characters, unique to this test
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


def _assert_clean(where: str, response: httpx.Response) -> None:
    assert CANARY not in response.text, where
    for name, value in response.headers.items():
        assert CANARY not in value, f"{where} header {name}"


async def _every_get_route(env: Env, ids: dict[str, str]) -> list[str]:
    """Every GET path of the app, path parameters filled with real ids where one fits."""
    assert env.app is not None
    paths: list[str] = []
    for context in iter_route_contexts(env.app.routes):
        if context.path is None or "GET" not in (context.methods or set()):
            continue
        paths.append(PARAM.sub(lambda m: ids.get(m.group(1), str(new_id())), context.path))
    return sorted(paths)


async def _raw_rows(env: Env) -> list[tuple[str, str, Any]]:
    """(table, column, value) of every column of every row, as the driver returns it."""

    async def work(session: AsyncSession) -> list[tuple[str, str, Any]]:
        found: list[tuple[str, str, Any]] = []
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608
            columns = list(result.keys())
            for row in result.all():
                found.extend(
                    (table.name, column, value) for column, value in zip(columns, row, strict=False)
                )
        return found

    return await env.runtime.db.read(work)


def _contains_canary(value: Any) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return CANARY.encode() in raw or CANARY.encode("utf-16-le") in raw
    return CANARY in str(value) or CANARY in repr(value)


async def test_a_canary_user_key_appears_in_no_response_log_line_or_database_column(
    env: Env, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = await add_provider(
        env,
        name="byok",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    model = await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    member_id, member = await env.new_user("mia")
    _, other = await env.new_user("noah")
    _, auditor = await env.new_user("aud", "auditor")
    _, admin = await env.new_user("ada", "admin")

    # Storing it, and answers to bad requests that carry it.
    stored = await put_key(env, member, provider["id"], f"  {CANARY}  ")
    assert stored.status_code == 200, stored.text
    _assert_clean("PUT", stored)
    for bad in (f"{CANARY}\x00", CANARY * 300, f"{CANARY}\nx"):
        refused = await put_key(env, member, provider["id"], bad)
        assert refused.status_code == 400
        _assert_clean("PUT refused", refused)
    shaped = await env.client.put(
        f"/api/v1/me/provider-keys/{provider['id']}",
        json={"api_key": CANARY, "unknown": CANARY},
        headers=env.auth(member),
    )
    assert shaped.status_code == 422
    _assert_clean("PUT 422", shaped)
    for token in (other, admin):  # configs that refuse it
        refused = await put_key(env, token, str(new_id()), CANARY)
        _assert_clean("PUT 404", refused)

    # Using it through the gateway: it reaches the upstream and nothing else.
    chat = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    answered = await env.client.post("/v1/chat/completions", json=chat, headers=env.auth(member))
    assert answered.status_code == 200, answered.text
    _assert_clean("/v1/chat/completions", answered)
    assert fake.requests[-1].api_key == CANARY
    fake.script(status=401, error_message=f"Incorrect API key provided: {CANARY}")
    rejected = await env.client.post("/v1/chat/completions", json=chat, headers=env.auth(member))
    assert rejected.status_code == 403, rejected.text
    _assert_clean("/v1/chat/completions upstream 401", rejected)

    # Every GET endpoint, for every role.
    ids = {
        "user_id": member_id,
        "provider_id": provider["id"],
        "provider_config_id": provider["id"],
        "model_id": model["id"],
    }
    paths = await _every_get_route(env, ids)
    assert "/api/v1/me/provider-keys" in paths
    assert "/api/v1/me/models" in paths
    for token in (env.owner_token, admin, auditor, member, other):
        for path in paths:
            response = await env.client.get(path, headers=env.auth(token))
            assert response.status_code < 500, (path, response.text)
            _assert_clean(f"GET {path}", response)

    # Logs, at DEBUG, of everything above.
    assert caplog.records, "the flow logged nothing at all: is capture working?"
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
        assert CANARY not in (record.exc_text or ""), record.name
    assert CANARY not in caplog.text

    # Every column of every table, raw; the sealed column holds ciphertext only.
    rows = await _raw_rows(env)
    assert any(table == "user_provider_keys" and column == "secret" for table, column, _ in rows)
    leaks = [(table, column) for table, column, value in rows if _contains_canary(value)]
    assert leaks == []

    # SQLite: the database files themselves, write-ahead log included.
    db_path = env.runtime.settings.sqlite_path()
    if db_path is not None:
        for file in (db_path, Path(f"{db_path}-wal")):
            if file.exists():
                assert CANARY.encode() not in file.read_bytes(), file.name
