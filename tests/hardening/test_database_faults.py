"""Database faults (SPEC §2, §11, §12, §15): a PostgreSQL outage under load, and a
``kill -9`` during writes.

The machine's PostgreSQL is shared, so the outage is simulated for one chatgate process:
its database URL points at a TCP proxy (tests/support/tcp_proxy.py) that resets every
connection, refuses new ones for a while, then forwards again.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from chatgate.db.engine import Database
from chatgate.db.tables import AuditEntry, ProviderConfig, UsageEvent
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
