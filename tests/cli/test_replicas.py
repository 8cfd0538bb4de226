"""Several chatgate processes on one database honour a change made through any of them
(SPEC §11): replicas on PostgreSQL hear it through LISTEN/NOTIFY, workers on SQLite
through ``PRAGMA data_version``."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.cli.serving import ServeProcess, serving
from tests.cli.test_serve_as_deployed import configure, deployed_environ
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import eventually as wait_until

CHANGE_DEADLINE_S = 10.0  # generous: this checks that changes arrive, bench/ measures how fast
ANSWERS_COMPARED = 6


@pytest.fixture
async def fake() -> Any:
    async with FakeUpstream() as upstream:
        yield upstream


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    await wait_until(check, timeout=CHANGE_DEADLINE_S, what="the change to arrive")


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


async def chat_statuses(base_url: str, token: str) -> set[int]:
    """The statuses of several chat requests, each on a fresh connection (so each may land
    on another worker)."""
    statuses = set()
    for _ in range(ANSWERS_COMPARED):
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            answer = await client.post(
                "/v1/chat/completions",
                json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": f"Bearer {token}"},
            )
        statuses.add(answer.status_code)
    return statuses


async def follow_changes_made_elsewhere(
    changer: ServeProcess, observer_url: str, owner: str, fake: FakeUpstream
) -> None:
    """A new model, a removed key, a disabled provider and a revoked token, each changed
    through ``changer``, reach ``observer_url`` without a restart (SPEC §11)."""
    token_id, token = await member_token(changer, owner)
    await configure(changer, owner, fake.url, "sk-replica-first")

    async def sees_the_model() -> bool:
        return await models_seen(observer_url, token) == (200, ["chat"])

    await eventually(sees_the_model)
    admin = {"authorization": f"Bearer {owner}"}
    async with httpx.AsyncClient(base_url=changer.base_url, timeout=10) as client:
        [provider] = (await client.get("/api/v1/providers", headers=admin)).json()
        keys_url = f"/api/v1/providers/{provider['id']}/keys"
        added = await client.post(
            keys_url, json={"label": "second", "api_key": "sk-replica-second"}, headers=admin
        )
        assert added.status_code == 201, added.text
        [first_key, _] = (await client.get(keys_url, headers=admin)).json()
        removed = await client.delete(f"{keys_url}/{first_key['id']}", headers=admin)
        assert removed.status_code == 204

    async def removed_key_unused() -> bool:
        sent = len(fake.requests)
        assert await chat_statuses(observer_url, token) == {200}
        return {r.api_key for r in fake.requests[sent:]} == {"sk-replica-second"}

    await eventually(removed_key_unused)
    async with httpx.AsyncClient(base_url=changer.base_url, timeout=10) as client:
        disabled = await client.patch(
            f"/api/v1/providers/{provider['id']}", json={"enabled": False}, headers=admin
        )
        assert disabled.status_code == 200, disabled.text

    async def provider_refused() -> bool:
        return await chat_statuses(observer_url, token) == {403}

    await eventually(provider_refused)
    async with httpx.AsyncClient(base_url=changer.base_url, timeout=10) as client:
        enabled = await client.patch(
            f"/api/v1/providers/{provider['id']}", json={"enabled": True}, headers=admin
        )
        assert enabled.status_code == 200, enabled.text
        revoked = await client.delete(f"/api/v1/tokens/{token_id}", headers=admin)
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
            json={"label": "third", "api_key": "sk-replica-third"},
            headers=auth,
        )
        assert added.status_code == 201, added.text

    async def second_reloaded() -> bool:
        return await snapshot_generation(second) > generation

    await eventually(second_reloaded)  # B has the third key: it rotates over both
    fake.script(status=429, retry_after="300")
    sent = len(fake.requests)
    await chat(first, owner)
    cooled = fake.requests[sent].api_key
    assert fake.requests[sent + 1].api_key != cooled

    async def second_skips_the_cooled_key() -> bool:
        # Rotating over two keys, four requests would use each twice.
        sent = len(fake.requests)
        for _ in range(4):
            await chat(second, owner)
        return cooled not in [r.api_key for r in fake.requests[sent:]]

    await eventually(second_skips_the_cooled_key)


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


async def test_workers_all_honour_a_change_made_through_one_of_them(
    fake: FakeUpstream, scratch_database_url: str
) -> None:
    environ = deployed_environ(scratch_database_url)
    async with serving(environ, "--workers", "2") as served:
        assert served.stdout[-1].endswith("(2 workers)")
        [owner] = served.printed_tokens
        await follow_changes_made_elsewhere(served, served.base_url, owner, fake)
        assert await served.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("scratch_database_url", ["sqlite"], indirect=True)
async def test_auto_workers_count_the_cores_the_process_may_use(scratch_database_url: str) -> None:
    """In a container or under ``taskset`` limited to one core, ``auto`` starts one worker,
    not one per core of the machine."""
    environ = {**deployed_environ(scratch_database_url), "CHATGATE_WORKERS": "auto"}
    async with serving(environ, launcher=("taskset", "-c", "0")) as served:
        assert served.stdout[-1] == f"chatgate listening on {served.base_url}"
        assert await served.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("scratch_database_url", ["postgresql"], indirect=True)
async def test_a_replica_whose_listening_connection_is_cut_recovers_and_catches_up(
    fake: FakeUpstream, scratch_database_url: str
) -> None:
    environ = deployed_environ(scratch_database_url)
    async with serving(environ) as first, serving(environ, "--no-migrate") as second:
        [owner] = first.printed_tokens
        token_id, token = await member_token(first, owner)
        await configure(first, owner, fake.url, "sk-replica-first")

        async def sees_the_model() -> bool:
            return await models_seen(second.base_url, token) == (200, ["chat"])

        await eventually(sees_the_model)
        url = make_url(scratch_database_url).set(drivername="postgresql")
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            cut = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'chatgate-listen'"
            )
        finally:
            await conn.close()
        assert len(cut) == 2  # one listening connection per replica
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as client:
            revoked = await client.delete(
                f"/api/v1/tokens/{token_id}", headers={"authorization": f"Bearer {owner}"}
            )
            assert revoked.status_code == 204

        async def token_refused() -> bool:
            return (await models_seen(second.base_url, token))[0] == 401

        await eventually(token_refused)

        async def outage_reported() -> bool:
            async with httpx.AsyncClient(base_url=second.base_url) as client:
                ready = await client.get("/readyz")
            feed = ready.json()["change_feed"]
            return ready.status_code == 200 and feed["reconnects"] >= 1 and feed["connected"]

        await eventually(outage_reported)
