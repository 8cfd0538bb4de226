"""Several chatgate processes on one database honour a change made through any of them
(SPEC §11): replicas on PostgreSQL hear it through LISTEN/NOTIFY, workers on SQLite
through ``PRAGMA data_version``."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.serving import ServeProcess, serving
from tests.cli.test_serve_as_deployed import configure, deployed_environ
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import cli_environ

CHANGE_DEADLINE_S = 10.0  # generous: this checks that changes arrive, bench/ measures how fast
POLL_STEP_S = 0.05  # polling a condition, with a deadline
ANSWERS_COMPARED = 6


@pytest.fixture
async def fake() -> Any:
    async with FakeUpstream() as upstream:
        yield upstream


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + CHANGE_DEADLINE_S
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the change never arrived"
        await asyncio.sleep(POLL_STEP_S)


async def member_token(served: ServeProcess, owner: str) -> tuple[str, str]:
    """A member created through ``served``; returns (token id, token)."""
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        auth = {"authorization": f"Bearer {owner}"}
        user = await client.post(
            "/api/v1/users", json={"username": "mia", "role": "member"}, headers=auth
        )
        assert user.status_code == 201, user.text
        minted = await client.post(
            f"/api/v1/users/{user.json()['id']}/tokens", json={"name": "laptop"}, headers=auth
        )
        assert minted.status_code == 201, minted.text
        return minted.json()["id"], minted.json()["token"]


async def models_seen(base_url: str, token: str) -> tuple[int, list[str]]:
    """What ``/v1/models`` answers — the same on every one of several fresh connections
    (each may land on another worker), else (0, [])."""
    answers = set()
    for _ in range(ANSWERS_COMPARED):
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            response = await client.get("/v1/models", headers={"authorization": f"Bearer {token}"})
        names = [m["id"] for m in response.json()["data"]] if response.status_code == 200 else []
        answers.add((response.status_code, tuple(names)))
    if len(answers) != 1:
        return 0, []
    status, names = answers.pop()
    return status, list(names)


async def follow_changes_made_elsewhere(
    changer: ServeProcess, observer_url: str, owner: str, fake: FakeUpstream
) -> None:
    """New token, new model, revoked token: each made through ``changer`` reaches
    ``observer_url`` without a restart."""
    token_id, token = await member_token(changer, owner)
    await configure(changer, owner, fake.url, "sk-replica-test")

    async def sees_the_model() -> bool:
        return await models_seen(observer_url, token) == (200, ["chat"])

    await eventually(sees_the_model)
    async with httpx.AsyncClient(base_url=changer.base_url, timeout=10) as client:
        revoked = await client.delete(
            f"/api/v1/tokens/{token_id}", headers={"authorization": f"Bearer {owner}"}
        )
        assert revoked.status_code == 204

    async def token_refused() -> bool:
        return (await models_seen(observer_url, token))[0] == 401

    await eventually(token_refused)


async def snapshot_generation(served: ServeProcess) -> int:
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        return int((await client.get("/readyz")).json()["change_feed"]["snapshot_generation"])


async def chat(served: ServeProcess, token: str) -> None:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        answer = await client.post(
            "/v1/chat/completions",
            json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text


async def a_cooldown_seen_by_one_is_honoured_by_the_other(
    first: ServeProcess, second: ServeProcess, owner: str, fake: FakeUpstream
) -> None:
    """Replica A gets a 429 (Retry-After 300) for one pool key: replica B stops using it."""
    generation = await snapshot_generation(second)
    async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as client:
        auth = {"authorization": f"Bearer {owner}"}
        [provider] = (await client.get("/api/v1/providers", headers=auth)).json()
        added = await client.post(
            f"/api/v1/providers/{provider['id']}/keys",
            json={"label": "second", "api_key": "sk-replica-second"},
            headers=auth,
        )
        assert added.status_code == 201, added.text

    async def second_reloaded() -> bool:
        return await snapshot_generation(second) > generation

    await eventually(second_reloaded)  # B has the second key: it rotates over both
    generation = await snapshot_generation(second)
    fake.script(status=429, retry_after="300")
    sent = len(fake.requests)
    await chat(first, owner)
    cooled = fake.requests[sent].api_key
    assert fake.requests[sent + 1].api_key != cooled
    await eventually(second_reloaded)
    sent = len(fake.requests)
    for _ in range(4):
        await chat(second, owner)
    assert cooled not in [r.api_key for r in fake.requests[sent:]]


@pytest.mark.parametrize("scratch_database_url", ["postgresql"], indirect=True)
async def test_a_replica_hears_changes_committed_through_another_on_postgresql(
    fake: FakeUpstream, scratch_database_url: str
) -> None:
    environ = deployed_environ(scratch_database_url)
    async with serving(environ) as first, serving(environ, "--no-migrate") as second:
        [owner] = first.printed_tokens
        await follow_changes_made_elsewhere(first, second.base_url, owner, fake)
        async with httpx.AsyncClient(base_url=second.base_url) as client:
            ready = (await client.get("/readyz")).json()
        assert ready["checks"]["change_feed"] == "ok"
        assert ready["change_feed"]["mode"] == "listen"
        assert ready["change_feed"]["last_change_heard_s_ago"] is not None
        await a_cooldown_seen_by_one_is_honoured_by_the_other(first, second, owner, fake)
        assert await second.stop(signal.SIGTERM) == 0
        assert await first.stop(signal.SIGTERM) == 0


async def test_workers_on_sqlite_all_honour_a_change_made_through_one_of_them(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    environ = cli_environ(f"sqlite:///{tmp_path / 'chatgate.db'}", CHATGATE_LISTEN="127.0.0.1:0")
    async with serving(environ, "--workers", "2") as served:
        assert served.stdout[-1].endswith("(2 workers)")
        [owner] = served.printed_tokens
        await follow_changes_made_elsewhere(served, served.base_url, owner, fake)
        assert await served.stop(signal.SIGTERM) == 0
