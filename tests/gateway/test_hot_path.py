"""The request path once warm (SPEC §15): no database round trips, usage written off the path,
client disconnects cancel the upstream request."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, select, update

from chatgate.authz import Actor
from chatgate.db.engine import Database
from chatgate.db.tables import ApiToken, EncryptionKey, ProviderKey, UsageEvent
from chatgate.store import users as user_store
from chatgate.users import service as user_service
from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, sdk
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY = "sk-central-0123456789abcdef"
POLL_STEP_S = 0.1  # polling a condition, with a deadline


async def _model(env: Env, fake: FakeUpstream) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")


class QueryCounter:
    """Counts statements the app's engines send on behalf of the requests this task makes
    (the in-process transport runs them in it); background tasks such as the change feed's
    reloads or the usage flusher are not the request path."""

    def __init__(self, env: Env) -> None:
        self.count = 0
        self._engines = {env.runtime.db.engine.sync_engine, env.runtime.db.read_engine.sync_engine}
        self._task = asyncio.current_task()

    def _seen(self, *_args: Any) -> None:
        if asyncio.current_task() is self._task:
            self.count += 1

    def __enter__(self) -> QueryCounter:
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._seen)


async def test_warm_requests_make_no_database_round_trips(env: Env, fake: FakeUpstream) -> None:
    await _model(env, fake)
    client = sdk(env)
    await client.chat.completions.create(model="chat", messages=USER_MESSAGE)  # warms the snapshot
    with QueryCounter(env) as counter:
        for _ in range(20):
            await client.chat.completions.create(model="chat", messages=USER_MESSAGE)
        stream = await client.chat.completions.create(
            model="chat", messages=USER_MESSAGE, stream=True
        )
        async for _chunk in stream:
            pass
        await client.models.list()
    assert counter.count == 0
    assert len(fake.requests) == 22


async def test_a_configuration_change_is_visible_to_the_next_request(
    env: Env, fake: FakeUpstream
) -> None:
    await _model(env, fake)
    client = sdk(env)
    assert [m.id for m in (await client.models.list()).data] == ["chat"]
    await add_model(env, family="openai", model="gpt-other", name="other")
    assert [m.id for m in (await client.models.list()).data] == ["chat", "other"]


async def test_every_attempt_leaves_one_usage_row_with_tokens(env: Env, fake: FakeUpstream) -> None:
    await _model(env, fake)
    fake.script(text="hello", usage=(9, 4))
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200
    await env.app.state.gateway.usage.flush()

    async def read(session: Any) -> list[UsageEvent]:
        return list((await session.execute(select(UsageEvent))).scalars().all())

    rows = await env.runtime.db.read(read)
    assert len(rows) == 1
    row = rows[0]
    assert (row.attempt, row.status, row.key_source) == (1, 200, "central")
    assert (row.input_tokens, row.output_tokens) == (9, 4)
    assert row.request_id == response.headers["x-chatgate-request-id"]
    assert row.key_id is not None


async def test_a_refused_request_is_recorded_as_attempt_zero(env: Env) -> None:
    await add_model(env, family="openai", model="gpt-up", name="chat")  # no key anywhere
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 503
    await env.app.state.gateway.usage.flush()

    async def read(session: Any) -> list[UsageEvent]:
        return list((await session.execute(select(UsageEvent))).scalars().all())

    rows = await env.runtime.db.read(read)
    assert [(r.attempt, r.status, r.error_class) for r in rows] == [(0, 503, "missing_api_key")]


async def test_a_streaming_client_disconnect_cancels_the_upstream_stream(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    await _model(env, fake)
    script = fake.script(text="one two three four five six", stall_after=2)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live}/v1/chat/completions",
            json={"model": "chat", "messages": USER_MESSAGE, "stream": True},
            headers=env.auth(env.owner_token),
        ) as response,
    ):
        assert response.status == 200
        first = await response.content.readany()
        assert first.startswith(b"data: ")
        response.close()  # hang up while the upstream is still streaming
    await asyncio.wait_for(fake.disconnected.wait(), timeout=10)
    script.release.set()


async def test_a_non_streaming_client_disconnect_over_a_real_socket_cancels_upstream(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    await _model(env, fake)
    held = asyncio.Event()
    fake.script(hold=held)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(
            session.post(
                f"{live}/v1/chat/completions",
                json={"model": "chat", "messages": USER_MESSAGE},
                headers=env.auth(env.owner_token),
            )
        )
        await fake.wait_for_requests(1)
        request.cancel()
    await asyncio.wait_for(fake.disconnected.wait(), timeout=10)
    held.set()


async def test_token_and_key_last_used_are_written_off_the_request_path(
    env: Env, fake: FakeUpstream
) -> None:
    await _model(env, fake)
    await sdk(env).models.list()  # warm the snapshot
    with QueryCounter(env) as counter:
        await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    assert counter.count == 0  # nothing written while the request was served
    await env.app.state.gateway.last_used.flush()  # what the once-a-minute writer does

    async def read(session: Any) -> tuple[Any, Any]:
        token = (await session.execute(select(ApiToken.last_used_at))).scalars().all()
        key = (await session.execute(select(ProviderKey.last_used_at))).scalars().all()
        return token, key

    tokens, keys = await env.runtime.db.read(read)
    assert any(value is not None for value in tokens)
    assert all(value is not None for value in keys)


@pytest.mark.parametrize("then_own_cooldown_write", [False, True])
async def test_a_token_created_by_another_process_works_on_v1_within_seconds(
    env: Env, then_own_cooldown_write: bool
) -> None:
    """The CLI (or another replica) writes to the database directly; this server notices
    through its change feed and serves the new token — also when, right after, this
    process stores a change it applied only in memory (a key cooldown), which must not pass
    for "the last change was mine"."""
    other_process = Database(env.runtime.settings.database_url)
    try:

        async def mint(session: Any) -> str:
            owner = await user_store.get_user_by_username(session, "admin")
            assert owner is not None
            _, token = await user_service.mint_token(
                session, Actor.system("cli"), owner, "cli", None
            )
            return token

        token = await other_process.write(mint)
    finally:
        await other_process.dispose()
    if then_own_cooldown_write:

        async def nothing(_session: Any) -> None:
            return None

        await env.runtime.db.write(nothing, invalidate_here=False)
    deadline = asyncio.get_running_loop().time() + 10
    status = 0
    while asyncio.get_running_loop().time() < deadline:
        status = (await env.client.get("/v1/models", headers=env.auth(token))).status_code
        if status == 200:
            break
        await asyncio.sleep(POLL_STEP_S)
    assert status == 200


async def test_a_primary_key_revoked_by_another_process_stops_sealing_within_seconds(
    env: Env, fake: FakeUpstream
) -> None:
    primary = env.runtime.keyring.primary_digest
    other_process = Database(env.runtime.settings.database_url)
    try:

        async def revoke(session: Any) -> None:
            await session.execute(
                update(EncryptionKey).where(EncryptionKey.digest == primary).values(state="revoked")
            )

        await other_process.write(revoke)  # bumps the configuration version too
    finally:
        await other_process.dispose()
    deadline = asyncio.get_running_loop().time() + 10
    status = 0
    while asyncio.get_running_loop().time() < deadline:
        response = await env.client.post(
            "/api/v1/providers",
            json={"family": "openai", "base_url": fake.url + "/v1", "api_key": KEY},
            headers=env.auth(env.owner_token),
        )
        status = response.status_code
        if status == 503:
            break
        await env.client.delete(
            f"/api/v1/providers/{response.json()['id']}", headers=env.auth(env.owner_token)
        )
        await asyncio.sleep(POLL_STEP_S)
    assert status == 503
