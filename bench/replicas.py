"""How fast a change made through one replica reaches another (SPEC §11).

Starts two real ``chatgate serve`` processes on one fresh PostgreSQL database (A and B).
Each round changes something through A's API and asks B until B's answer shows it:

- a token minted through A is accepted by B's ``/v1/models``; revoked, it is refused (401);
- a model created through A is listed by B; deleted, it is gone;
- a provider config disabled through A makes B answer 403; enabled again, B goes upstream
  (to a closed port here, so 502).

The time from A's answer to B's first matching answer is the propagation delay, which
includes B's reload.

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.gateway import free_port, percentile, wait_http

BIN = Path(sys.executable).parent
TOKEN = "bench-" + "y" * 40
PG_URL = os.environ.get("CHATGATE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POLL_S = 0.005


ADMIN = {"authorization": f"Bearer {TOKEN}"}
CHAT = {"model": "probe", "messages": [{"role": "user", "content": "hi"}]}


async def until(check: Callable[[], Awaitable[bool]]) -> float:
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > 30:
            raise RuntimeError("B never showed the change")
        await asyncio.sleep(POLL_S)
    return time.perf_counter() - started


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Any:
    async with session.request(method, url, headers=ADMIN, **kwargs) as response:
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status} {await response.text()}")
        return await response.json() if response.status != 204 else None


async def rounds(a: str, b: str, count: int) -> dict[str, list[float]]:
    delays: dict[str, list[float]] = {}

    def note(label: str, seconds: float) -> None:
        delays.setdefault(label, []).append(seconds)

    async with aiohttp.ClientSession() as session:

        async def status(method: str, url: str, token: str = TOKEN, **kwargs: Any) -> int:
            headers = {"authorization": f"Bearer {token}"}
            async with session.request(method, url, headers=headers, **kwargs) as response:
                await response.read()
                return response.status

        async def models_on_b() -> list[str]:
            async with session.get(f"{b}/v1/models", headers=ADMIN) as response:
                return [m["id"] for m in (await response.json())["data"]]

        owner_id = (await call(session, "GET", f"{a}/api/v1/users/me"))["id"]
        provider = await call(
            session,
            "POST",
            f"{a}/api/v1/providers",
            json={"family": "openai", "name": "probe", "base_url": "http://127.0.0.1:9/v1",
                  "api_key": "sk-probe-0123456789abcdef"},
        )  # fmt: skip
        await call(
            session,
            "POST",
            f"{a}/api/v1/models",
            json={"provider_config_id": provider["id"], "model": "m", "name": "probe",
                  "context_limit": 8192},
        )  # fmt: skip
        provider_url = f"{a}/api/v1/providers/{provider['id']}"
        chat_on_b = f"{b}/v1/chat/completions"
        for number in range(count):
            token = await call(
                session, "POST", f"{a}/api/v1/users/{owner_id}/tokens", json={"name": f"r{number}"}
            )
            note("token accepted", await until(
                lambda t=token["token"]: _is(status("GET", f"{b}/v1/models", t), 200)))  # fmt: skip
            await call(session, "DELETE", f"{a}/api/v1/tokens/{token['id']}")
            note("revoked token refused", await until(
                lambda t=token["token"]: _is(status("GET", f"{b}/v1/models", t), 401)))  # fmt: skip

            model = await call(
                session,
                "POST",
                f"{a}/api/v1/models",
                json={"provider_config_id": provider["id"], "model": "m", "name": f"new{number}",
                      "context_limit": 8192},
            )  # fmt: skip
            note("new model listed", await until(
                lambda n=f"new{number}": _contains(models_on_b(), n)))  # fmt: skip
            await call(session, "DELETE", f"{a}/api/v1/models/{model['id']}")
            note("deleted model gone", await until(
                lambda n=f"new{number}": _lacks(models_on_b(), n)))  # fmt: skip

            await call(session, "PATCH", provider_url, json={"enabled": False})
            note("disabled provider 403", await until(
                lambda: _is(status("POST", chat_on_b, json=CHAT), 403)))  # fmt: skip
            await call(session, "PATCH", provider_url, json={"enabled": True})
            note("enabled provider used", await until(
                lambda: _is(status("POST", chat_on_b, json=CHAT), 502)))  # fmt: skip
    return delays


async def _is(answer: Awaitable[int], want: int) -> bool:
    return await answer == want


async def _contains(names: Awaitable[list[str]], name: str) -> bool:
    return name in await names


async def _lacks(names: Awaitable[list[str]], name: str) -> bool:
    return name not in await names


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
            "CHATGATE_LOG_LEVEL": "error",  # the probes' 502s are expected
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
        delays = await rounds(urls[0], urls[1], args.rounds)
        for label, values in delays.items():
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
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
