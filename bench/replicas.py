"""How fast a change made through one replica reaches another (SPEC §11).

Starts two real ``chatgate serve`` processes on one fresh PostgreSQL database (A and B).
Each round mints a token through A's API, then asks B's ``/v1/models`` with it until B
accepts it; then revokes it through A and asks B until B refuses it. The time from A's
answer to B's first matching answer is the propagation delay, which includes B's reload.

Target: median ≤ 1 s, maximum ≤ 2 s. The polling step (5 ms) bounds the resolution.

Usage: ``.venv/bin/python bench/replicas.py [--rounds N]`` (PostgreSQL on 127.0.0.1:5432,
or ``CHATGATE_TEST_PG_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from bench.gateway import free_port, percentile, wait_http

BIN = Path(sys.executable).parent
TOKEN = "bench-" + "y" * 40
PG_URL = os.environ.get("CHATGATE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POLL_S = 0.005


async def until_status(session: aiohttp.ClientSession, url: str, token: str, want: int) -> float:
    started = time.perf_counter()
    while True:
        async with session.get(url, headers={"authorization": f"Bearer {token}"}) as response:
            if response.status == want:
                return time.perf_counter() - started
        if time.perf_counter() - started > 30:
            raise RuntimeError(f"B never answered {want}")
        await asyncio.sleep(POLL_S)


async def rounds(a: str, b: str, count: int) -> tuple[list[float], list[float]]:
    admin = {"authorization": f"Bearer {TOKEN}"}
    appear: list[float] = []
    vanish: list[float] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{a}/api/v1/users/me", headers=admin) as me:
            owner_id = (await me.json())["id"]
        for number in range(count):
            async with session.post(
                f"{a}/api/v1/users/{owner_id}/tokens", json={"name": f"r{number}"}, headers=admin
            ) as minted:
                token = await minted.json()
            appear.append(await until_status(session, f"{b}/v1/models", token["token"], 200))
            async with session.delete(f"{a}/api/v1/tokens/{token['id']}", headers=admin) as gone:
                assert gone.status == 204
            vanish.append(await until_status(session, f"{b}/v1/models", token["token"], 401))
    return appear, vanish


async def run(args: argparse.Namespace) -> None:
    name = f"chatgate_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **os.environ,
            "CHATGATE_DATABASE_URL": PG_URL.rsplit("/", 1)[0] + f"/{name}",
            "CHATGATE_ENCRYPTION_KEYS": base64.b64encode(os.urandom(32)).decode(),
            "CHATGATE_BOOTSTRAP_TOKEN": TOKEN,
            "CHATGATE_LOG_LEVEL": "warning",
        }
        urls = []
        for extra in ([], ["--no-migrate"]):
            port = free_port()
            env["CHATGATE_LISTEN"] = f"127.0.0.1:{port}"
            processes.append(
                subprocess.Popen(
                    [str(BIN / "chatgate"), "serve", *extra],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    cwd=tempfile.gettempdir(),
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
            await wait_http(f"{urls[-1]}/healthz")
        appear, vanish = await rounds(urls[0], urls[1], args.rounds)
        for label, values in (("new token accepted", appear), ("revoked token refused", vanish)):
            ms = [v * 1000 for v in values]
            print(
                f"{label:24} median {statistics.median(ms):7.1f} ms   "
                f"p95 {percentile(ms, 0.95):7.1f} ms   max {max(ms):7.1f} ms   "
                f"({len(ms)} rounds)"
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
