"""Database faults (SPEC §2, §11, §12, §15): a PostgreSQL outage under load, and a
``kill -9`` during writes.

The machine's PostgreSQL is shared, so the outage is simulated for one chatgate process:
its database URL points at a TCP proxy (tests/support/tcp_proxy.py) that resets every
connection, refuses new ones for a while, then forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from chatgate.db.engine import Database
from chatgate.db.migrate import current_revision, head_revision
from chatgate.db.tables import AuditEntry, ModelConfig, ProviderConfig, UsageEvent
from tests.cli.serving import serving
from tests.cli.test_serve_as_deployed import configure, deployed_environ
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import USER_MESSAGE
from tests.support.helpers import eventually
from tests.support.tcp_proxy import TcpProxy

KEY = "sk-db-faults-0123456789abcdef"
# Requests sent while the database is down, and after it is back.
LOAD = 24
# Generous: a request during the outage must end by itself, well within this.
REQUEST_DEADLINE_S = 30.0


class Traffic:
    """Mixed requests as the owner: gateway answers (memory only) and admin writes."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.auth = {"authorization": f"Bearer {token}"}
        self.created: list[str] = []  # names of providers whose creation answered 201
        self.gateway_ok = 0
        self.serial = 0

    async def ask(self) -> httpx.Response:
        response = await self.client.post(
            "/v1/chat/completions",
            json={"model": "chat", "messages": USER_MESSAGE},
            headers=self.auth,
        )
        if response.status_code == 200:
            self.gateway_ok += 1
        return response

    async def create_provider(self) -> httpx.Response:
        self.serial += 1
        name = f"p-{self.serial}"
        response = await self.client.post(
            "/api/v1/providers",
            json={
                "family": "openai-compat",
                "name": name,
                "base_url": "http://127.0.0.1:9/v1",
                "api_key": KEY,
            },
            headers=self.auth,
        )
        if response.status_code == 201:
            self.created.append(name)
        return response

    async def mixed(self, count: int) -> list[httpx.Response]:
        calls = [self.ask if i % 2 else self.create_provider for i in range(count)]
        calls += [lambda: self.client.get("/api/v1/providers", headers=self.auth)] * (count // 4)
        return list(await asyncio.gather(*(call() for call in calls)))


@pytest.mark.parametrize("scratch_database_url", ["postgresql"], indirect=True)
async def test_a_postgresql_outage_fails_clearly_and_recovers_by_itself(
    scratch_database_url: str,
) -> None:
    real = make_url(scratch_database_url)
    async with (
        FakeUpstream() as fake,
        TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy,
    ):
        proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        async with serving(deployed_environ(proxied)) as served:
            [token] = served.printed_tokens
            await configure(served, token, fake.url + "/v1", KEY)
            async with httpx.AsyncClient(
                base_url=served.base_url, timeout=REQUEST_DEADLINE_S
            ) as client:
                traffic = Traffic(client, token)
                assert (await client.get("/readyz")).status_code == 200
                # A warm gateway: its snapshot holds the configuration just written.
                assert (await traffic.ask()).status_code == 200

                proxy.cut()
                try:
                    during = await traffic.mixed(LOAD)
                except Exception:
                    raise
                statuses = {r.status_code for r in during}
                assert statuses <= {200, 201, 503}, [
                    r.text for r in during if r.status_code >= 500 and r.status_code != 503
                ]
                unavailable = [r for r in during if r.status_code == 503]
                assert unavailable
                assert {r.json()["code"] for r in unavailable} == {"database_unavailable"}
                # The gateway answers from memory: users keep chatting through the outage.
                assert all(r.status_code == 200 for r in during if r.url.path.startswith("/v1"))

                async def unready() -> bool:
                    return (await client.get("/readyz")).status_code == 503

                await eventually(unready, what="readyz to report the outage")

                proxy.restore()

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await eventually(ready, timeout=30, what="readyz to recover")
                after = await traffic.mixed(LOAD)
                assert {r.status_code for r in after} <= {200, 201}, [
                    r.text for r in after if r.status_code >= 300
                ]

                # A change committed just before an outage: the gateway must load it before
                # answering, so until the database is back it says so (503), never stale.
                models = await client.get("/api/v1/models", headers=traffic.auth)
                [chat] = [m for m in models.json() if m["name"] == "chat"]
                renamed = await client.patch(
                    f"/api/v1/models/{chat['id']}",
                    json={"display_name": "Chat"},
                    headers=traffic.auth,
                )
                assert renamed.status_code == 200
                proxy.cut()
                stale = await traffic.ask()
                assert stale.status_code == 503
                assert stale.json()["error"]["code"] == "database_unavailable"
                proxy.restore()

                async def answers() -> bool:
                    return (await traffic.ask()).status_code == 200

                await eventually(answers, timeout=30, what="the gateway to answer again")
            assert await served.stop(signal.SIGTERM) == 0

    db = Database(scratch_database_url)
    try:

        async def read(session: Any) -> tuple[list[str], int, int]:
            names = (await session.execute(select(ProviderConfig.name))).scalars().all()
            audited = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "provider_config.create")
            )
            usage = await session.scalar(select(func.count()).select_from(UsageEvent))
            return list(names), int(audited or 0), int(usage or 0)

        names, audited, usage = await db.read(read)
    finally:
        await db.dispose()
    # Nothing half-written: exactly the creations that answered 201 exist, each audited.
    assert sorted(names) == sorted(["up", *traffic.created])
    assert audited == len(names)
    # Usage recorded during the outage was kept and written once the database was back.
    assert usage == traffic.gateway_ok


# -- kill -9 during writes --------------------------------------------------------------

# Successful config writes to wait for before the kill: the kill lands mid-traffic.
WRITES_BEFORE_KILL = 12


class WriteTraffic(Traffic):
    """Config writes (create a provider, bind a model, delete every third provider with
    its cascade) and gateway calls, until stopped; remembers what was acknowledged."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        super().__init__(client, token)
        self.acknowledged_models: list[str] = []
        self.deleted: list[str] = []
        self.writes = 0

    async def config_writes(self) -> None:
        while True:
            response = await self.create_provider()
            if response.status_code != 201:
                continue
            provider = response.json()
            self.writes += 1
            model = await self.client.post(
                "/api/v1/models",
                json={
                    "provider_config_id": provider["id"],
                    "model": "up",
                    "name": f"m-{provider['name']}",
                    "context_limit": 8192,
                    "is_default": True,
                },
                headers=self.auth,
            )
            if model.status_code == 201:
                self.acknowledged_models.append(model.json()["name"])
                self.writes += 1
            if self.serial % 3 == 0:
                deleted = await self.client.delete(
                    f"/api/v1/providers/{provider['id']}", headers=self.auth
                )
                if deleted.status_code == 204:
                    self.deleted.append(provider["name"])
                    self.writes += 1

    async def chatting(self) -> None:
        while True:
            await self.ask()


async def _until_killed(work: Any) -> None:
    """Run ``work`` until the server is gone (its connection errors end it)."""
    with contextlib.suppress(httpx.TransportError):
        await work()


async def test_kill_9_during_config_writes_and_usage_flushes_leaves_a_consistent_database(
    scratch_database_url: str,
) -> None:
    async with FakeUpstream() as fake:
        environ = deployed_environ(scratch_database_url)
        async with serving(environ) as served:
            [token] = served.printed_tokens
            await configure(served, token, fake.url + "/v1", KEY)
            async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
                traffic = WriteTraffic(client, token)
                workers = [
                    asyncio.create_task(_until_killed(traffic.config_writes)),
                    *(asyncio.create_task(_until_killed(traffic.chatting)) for _ in range(3)),
                ]

                async def busy() -> bool:
                    return traffic.writes >= WRITES_BEFORE_KILL

                await eventually(busy, timeout=60, what="config writes under way")
                served.process.kill()  # SIGKILL: no shutdown, no drain
                await asyncio.gather(*workers)
            # -9 (asyncio may report 255 when it lost track of the child): not a clean exit.
            assert await served.stop() != 0

        # The database as the killed process left it.
        await _assert_consistent(scratch_database_url, traffic)

        # A new server starts on it (migrations at head: readyz is ready) and serves.
        async with serving(environ) as again:
            async with httpx.AsyncClient(base_url=again.base_url, timeout=30) as client:
                ready = await client.get("/readyz")
                assert ready.status_code == 200, ready.text
                listed = await client.get(
                    "/api/v1/providers", headers={"authorization": f"Bearer {token}"}
                )
                assert listed.status_code == 200
            assert await again.stop(signal.SIGTERM) == 0


async def _assert_consistent(database_url: str, traffic: WriteTraffic) -> None:
    db = Database(database_url)

    async def read(session: Any) -> dict[str, Any]:
        providers = {
            row.id: row.name for row in (await session.execute(select(ProviderConfig))).scalars()
        }
        models = list((await session.execute(select(ModelConfig))).scalars())
        audited = set(
            (
                await session.execute(
                    select(AuditEntry.target_id).where(
                        AuditEntry.action == "provider_config.create"
                    )
                )
            ).scalars()
        )
        usage = list((await session.execute(select(UsageEvent))).scalars())
        revision = await current_revision(session)
        return {
            "providers": providers,
            "models": models,
            "audited": {str(target) for target in audited},
            "usage": usage,
            "revision": revision,
        }

    try:
        state = await db.read(read)
    finally:
        await db.dispose()
    assert state["revision"] == head_revision()
    names = set(state["providers"].values())
    # Every acknowledged write survived; nothing acknowledged as deleted came back.
    assert set(traffic.created) - set(traffic.deleted) <= names
    assert not set(traffic.deleted) & names
    # Every provider row was written whole, with its audit row (one transaction).
    assert {str(pid) for pid in state["providers"]} <= state["audited"]
    live = [m for m in state["models"] if not m.deleted]
    assert {m.name for m in live} >= set(traffic.acknowledged_models) - {
        f"m-{name}" for name in traffic.deleted
    }
    # Live models are bound to providers that exist (the cascade was whole), and exactly
    # one of them is the default.
    assert all(m.provider_config_id in state["providers"] for m in live if m.provider_config_id)
    assert sum(m.is_default for m in live) == 1
    # Usage rows are whole; at most the unflushed last second of them is lost.
    assert all(r.request_id and r.attempt >= 0 and r.status is not None for r in state["usage"])
    assert len(state["usage"]) <= traffic.gateway_ok
