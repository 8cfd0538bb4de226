"""How fast ``GET /api/v1/usage`` and ``GET /api/v1/audit-log`` answer over a big history
(issue 11: "stay fast with a million usage rows").

Builds a fresh, migrated database per backend (SQLite file, PostgreSQL database), creates a
few users, provider configs and model configs through the API, then bulk-inserts
``--rows`` usage rows (default 1,000,000) and ``--audit-rows`` audit entries (default
200,000) in SQL — ``generate_series`` on PostgreSQL, a recursive CTE on SQLite — spread
over 30 days: 10 % of requests fail over once (a failed attempt, then a second), and
``ANALYZE`` runs afterwards as it would in production. Then it times the endpoints through
the real app (in-process ASGI, so HTTP parsing is included and the network is not): each
query ``--repeat`` times, reporting the median and the maximum in milliseconds.

Rows inserted in SQL bypass the usage recorder, which keeps the hourly and daily rollups
(``chatgate.usage.rollups``) that wide windows read: the bench rebuilds them after seeding
(timed) — a deployment gets them from the recorder as usage is recorded.

Usage: ``.venv/bin/python -m bench.usage_reads [--backend sqlite|postgresql|both]
[--rows N] [--audit-rows N] [--repeat N]``. PostgreSQL on 127.0.0.1:5432 (or
``CHATGATE_TEST_PG_URL``). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.app import create_app
from chatgate.ids import utcnow
from chatgate.settings import Settings
from chatgate.startup import build_runtime
from chatgate.usage.rollups import rebuild_rollups

PG_URL = os.environ.get(
    "CHATGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
KEY = base64.b64encode(b"b" * 32).decode()
DAYS = 30


def _pick(values: list[str], index: str, *, pg: bool) -> str:
    """A SQL expression choosing ``values[index % len]`` (ids are UUIDs we made: safe)."""
    literal = (lambda v: f"'{v}'::uuid") if pg else (lambda v: f"'{uuid.UUID(v).hex}'")
    arms = " ".join(f"WHEN {n} THEN {literal(v)}" for n, v in enumerate(values))
    return f"CASE ({index}) % {len(values)} {arms} END"


def _usage_insert(
    users: list[str], models: list[str], providers: list[str], keys: list[str], *, pg: bool
) -> str:
    """One INSERT … SELECT of every row; ``i`` counts rows, 1-based."""
    span_s = DAYS * 86400
    if pg:
        at = f"now() - (i * {span_s}.0 / :rows) * interval '1 second'"
        new_id = "gen_random_uuid()"
        source = "generate_series(1, :rows) AS s(i)"
        prefix = ""
    else:
        at = (
            f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i * {span_s}.0 / :rows) || ' seconds')"
            " || '000'"
        )
        new_id = "lower(hex(randomblob(16)))"
        source = "s"
        prefix = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :rows) "
    retried = "(i % 10 = 1)"  # the second attempt of the request before it
    return (
        prefix  # noqa: S608 - ids we generated, fixed SQL: no input reaches it
        + "INSERT INTO usage_events (id, request_id, user_id, model_config_id, "  # noqa: S608
        "provider_config_id, key_id, key_source, status, error_class, attempt, latency_ms, "
        "ttfb_ms, input_tokens, output_tokens, created_at) "
        f"SELECT {new_id}, 'r' || (i - CASE WHEN {retried} THEN 1 ELSE 0 END), "
        f"{_pick(users, 'i / 10', pg=pg)}, {_pick(models, 'i / 10', pg=pg)}, "
        f"{_pick(providers, 'i', pg=pg)}, {_pick(keys, 'i', pg=pg)}, 'central', "
        "CASE WHEN i % 10 = 0 THEN 502 ELSE 200 END, "
        "CASE WHEN i % 10 = 0 THEN 'upstream_5xx' ELSE NULL END, "
        f"CASE WHEN {retried} THEN 2 ELSE 1 END, "
        "(i % 3000) * 7 % 3000 + 20.5, 15.0, i % 1000, i % 500, "
        f"{at} FROM {source}"
    )


def _audit_insert(users: list[str], providers: list[str], *, pg: bool) -> str:
    span_s = DAYS * 86400
    if pg:
        at = f"now() - (i * {span_s}.0 / :rows) * interval '1 second'"
        new_id = "gen_random_uuid()"
        source = "generate_series(1, :rows) AS s(i)"
        prefix = ""
        target = f"({_pick(providers, 'i', pg=pg)})::text"
    else:
        at = (
            f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i * {span_s}.0 / :rows) || ' seconds')"
            " || '000'"
        )
        new_id = "lower(hex(randomblob(16)))"
        source = "s"
        prefix = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :rows) "
        # target_id holds the canonical text form (with dashes), as the API writes it.
        target = "CASE i % {n} {arms} END".format(
            n=len(providers),
            arms=" ".join(f"WHEN {k} THEN '{v}'" for k, v in enumerate(providers)),
        )
    return (
        prefix  # noqa: S608 - ids we generated, fixed SQL: no input reaches it
        + "INSERT INTO audit_log (id, created_at, actor_id, source, action, "  # noqa: S608
        "target_type, target_id, before, after) "
        f"SELECT {new_id}, {at}, {_pick(users, 'i', pg=pg)}, 'api', 'provider_config.update', "
        f"'provider_config', {target}, NULL, NULL FROM {source}"
    )


async def _create_pg_database() -> str:
    name = f"chatgate_bench_{uuid.uuid4().hex[:8]}"
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(url: str) -> None:
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


async def _timed(repeat: int, call: Callable[[], Awaitable[httpx.Response]]) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await call()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return statistics.median(samples), max(samples)


async def run(
    url: str, *, rows: int, audit_rows: int, repeat: int
) -> list[tuple[str, float, float]]:
    pg = not url.startswith("sqlite")
    settings = Settings(database_url=url, encryption_keys=KEY, bootstrap_token="bench-" + "z" * 40)
    runtime, _ = await build_runtime(settings)
    app = create_app(runtime)
    owner = {"authorization": "Bearer " + "bench-" + "z" * 40}
    results: list[tuple[str, float, float]] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
        ) as client,
    ):

        async def api(method: str, path: str, **kwargs: Any) -> Any:
            response = await client.request(method, path, headers=owner, **kwargs)
            assert response.status_code < 300, response.text
            return response.json()

        users, tokens = [], []
        for n in range(20):
            user = await api("POST", "/api/v1/users", json={"username": f"u{n}", "role": "member"})
            users.append(user["id"])
            minted = await api("POST", f"/api/v1/users/{user['id']}/tokens", json={"name": "t"})
            tokens.append(minted["token"])
        providers, keys, models = [], [], []
        for n in range(4):
            provider = await api(
                "POST", "/api/v1/providers",
                json={"family": "openai", "name": f"p{n}", "api_key": f"sk-bench-{n}-key"},
            )  # fmt: skip
            providers.append(provider["id"])
            keys.append((await api("GET", f"/api/v1/providers/{provider['id']}/keys"))[0]["id"])
        for n in range(8):
            model = await api(
                "POST", "/api/v1/models",
                json={"name": f"m{n}", "model": f"up-{n}", "context_limit": 8192,
                      "provider_config_id": providers[n % 4]},
            )  # fmt: skip
            models.append(model["id"])

        async def seed(session: AsyncSession) -> None:
            await session.execute(
                text(_usage_insert(users, models, providers, keys, pg=pg)), {"rows": rows}
            )
            await session.execute(
                text(_audit_insert(users, providers, pg=pg)), {"rows": audit_rows}
            )

        started = time.perf_counter()
        await runtime.db.write(seed, notify=False)
        await runtime.db.write(lambda s: s.execute(text("ANALYZE")), notify=False)
        seeded_s = time.perf_counter() - started
        print(f"  seeded {rows:,} usage rows and {audit_rows:,} audit entries in {seeded_s:.1f} s")
        started = time.perf_counter()
        await rebuild_rollups(runtime.db)
        await runtime.db.write(lambda s: s.execute(text("ANALYZE")), notify=False)
        print(f"  rebuilt the usage rollups in {time.perf_counter() - started:.1f} s")

        now = utcnow()
        day = {"since": (now - timedelta(days=1)).isoformat()}
        month = {"since": (now - timedelta(days=DAYS + 1)).isoformat()}
        member = {"authorization": f"Bearer {tokens[0]}"}

        def get(path: str, params: dict[str, str], headers: dict[str, str] = owner) -> Any:
            return lambda: client.get(path, params=params, headers=headers)

        cases: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("usage by model, last day", get("/api/v1/usage", day)),
            ("usage by model, 30 days (all rows)", get("/api/v1/usage", month)),
            ("usage by user, 30 days", get("/api/v1/usage", {**month, "group_by": "user"})),
            ("usage by key, 30 days", get("/api/v1/usage", {**month, "group_by": "key"})),
            ("usage by day, 30 days", get("/api/v1/usage", {**month, "group_by": "day"})),
            ("usage, a member's own, 30 days", get("/api/v1/usage", month, member)),
            ("audit log, first page (50)", get("/api/v1/audit-log", {})),
            ("audit log, by target, first page", get("/api/v1/audit-log", {"target_id": providers[1]})),
            ("audit log, by actor, 500", get("/api/v1/audit-log", {"actor_id": users[2], "limit": "500"})),
        ]  # fmt: skip
        for name, call in cases:
            median, worst = await _timed(repeat, call)
            results.append((name, median, worst))
            print(f"  {name:<40} median {median:9.1f} ms   max {worst:9.1f} ms")
        # A page deep in the log: follow the cursor 20 pages of 500.
        cursor = None
        started = time.perf_counter()
        for _ in range(20):
            page = await api(
                "GET",
                "/api/v1/audit-log",
                params={"limit": "500", **({"cursor": cursor} if cursor else {})},
            )
            cursor = page["next_cursor"]
        per_page = (time.perf_counter() - started) * 1000 / 20
        results.append(("audit log, pages 1-20 of 500 (per page)", per_page, per_page))
        print(f"  {'audit log, pages 1-20 of 500 (per page)':<40} mean   {per_page:9.1f} ms")
    await runtime.db.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--audit-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (their URLs are printed)"
    )
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        print(f"{backend}:")
        if backend == "sqlite":
            directory = Path(tempfile.mkdtemp(prefix="chatgate-bench-"))
            url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
            try:
                await run(url, rows=args.rows, audit_rows=args.audit_rows, repeat=args.repeat)
            finally:
                if not args.keep:
                    shutil.rmtree(directory)
        else:
            url = await _create_pg_database()
            try:
                await run(url, rows=args.rows, audit_rows=args.audit_rows, repeat=args.repeat)
            finally:
                if not args.keep:
                    await _drop_pg_database(url)
        if args.keep:
            print(f"  kept: {url}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
