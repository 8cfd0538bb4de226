"""Soak: mixed traffic at a fixed rate against a real ``chatgate serve`` (issue 13).

Starts the fast fake upstream and one ``chatgate serve`` (a fresh SQLite database by
default; ``--backend postgresql`` creates a scratch PostgreSQL database, ``--database-url``
uses one you give), seeds a provider, a model and a provider config for members' own
keys, then sends an open-loop mix at ``--rate`` requests per second for ``SOAK_SECONDS``
(default 120):

    gateway      non-streaming chat completions
    stream       streaming chat completions, read to [DONE]
    catalog      GET /v1/models and GET /api/v1/me/models
    config       PATCH a provider config; create and delete a model config
    user_key     PUT and DELETE the caller's own key
    fault        a model whose upstream refuses connections (injected: 502 expected)

Open loop: requests start on schedule whether or not earlier ones finished, so a slow
server shows up as latency, not as a lower rate. Reports p50/p99 latency and errors per
kind (errors must be 0; the injected faults are counted apart), and the server's RSS
sampled every second from /proc/<pid>/status, with its growth over the first and the
second half of the run (a leak keeps growing in the second half; a warm-up does not).

Usage: ``make soak`` or ``SOAK_SECONDS=30 .venv/bin/python -m bench.soak [--backend
postgresql] [--rate 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.gateway import BIN, ROOT, TOKEN, free_port, percentile, rss_mb, seed, wait_http
from bench.usage_reads import _create_pg_database, _drop_pg_database

# Share of each kind in the mix, in a fixed rotation (deterministic, no randomness).
MIX = ["gateway"] * 8 + ["stream"] * 5 + ["catalog"] * 3 + ["config"] * 2 + ["user_key", "fault"]
EXPECTED_FAULT_STATUS = 502
RSS_SAMPLE_S = 1.0
REQUEST_TIMEOUT_S = 30.0
MESSAGES = [{"role": "user", "content": "ping " * 50}]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    injected: int = 0

    def ok(self, kind: str, started: float) -> None:
        self.latencies[kind].append((time.perf_counter() - started) * 1000)

    def failed(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        self.error_samples.setdefault(kind, what[:200])


class Traffic:
    def __init__(self, session: aiohttp.ClientSession, base: str, ids: dict[str, str]) -> None:
        self.session = session
        self.base = base
        self.ids = ids
        self.tally = Tally()
        self.serial = 0

    async def _expect(self, method: str, path: str, want: set[int], **kwargs: Any) -> bytes:
        async with self.session.request(method, self.base + path, **kwargs) as response:
            body = await response.read()
            if response.status not in want:
                raise RuntimeError(f"{method} {path} → {response.status}: {body[:150]!r}")
            return body

    async def gateway(self) -> None:
        await self._expect(
            "POST",
            "/v1/chat/completions",
            {200},
            json={"model": "bench", "messages": MESSAGES, "max_tokens": 16},
        )

    async def stream(self) -> None:
        body = await self._expect(
            "POST",
            "/v1/chat/completions",
            {200},
            json={"model": "bench", "messages": MESSAGES, "stream": True},
        )
        if not body.rstrip().endswith(b"data: [DONE]"):
            raise RuntimeError("stream did not end with [DONE]")

    async def catalog(self) -> None:
        await self._expect("GET", "/v1/models", {200})
        await self._expect("GET", "/api/v1/me/models", {200})

    async def config(self) -> None:
        self.serial += 1
        serial = self.serial  # taken now: other requests move it on while this one waits
        await self._expect(
            "PATCH",
            f"/api/v1/providers/{self.ids['provider']}",
            {200},
            json={"display_name": f"Bench {serial % 7}"},
        )
        created = await self._expect(
            "POST",
            "/api/v1/models",
            {201},
            json={
                "provider_config_id": self.ids["provider"],
                "model": "bench-model",
                "name": f"soak-{os.getpid()}-{serial}",
                "context_limit": 8192,
            },
        )
        model_id = orjson.loads(created)["id"]
        await self._expect("DELETE", f"/api/v1/models/{model_id}", {204})

    async def user_key(self) -> None:
        path = f"/api/v1/me/provider-keys/{self.ids['byok']}"
        await self._expect("PUT", path, {200}, json={"api_key": f"sk-soak-user-{self.serial}"})
        await self._expect("DELETE", path, {204})

    async def fault(self) -> None:
        await self._expect(
            "POST",
            "/v1/chat/completions",
            {EXPECTED_FAULT_STATUS},
            json={"model": "broken", "messages": MESSAGES},
        )
        self.tally.injected += 1

    async def one(self, kind: str) -> None:
        call: Callable[[], Awaitable[None]] = getattr(self, kind)
        started = time.perf_counter()
        try:
            await call()
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as error:
            self.tally.failed(kind, str(error) or type(error).__name__)
        else:
            self.tally.ok(kind, started)


async def _seed_extras(base: str, upstream_base: str) -> dict[str, str]:
    """Beyond bench.gateway.seed: a config for members' own keys and a broken model."""
    auth = {"authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=auth) as session:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with session.post(base + path, json=body) as response:
                document: dict[str, Any] = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"seeding {path} failed: {document}")
                return document

        async with session.get(f"{base}/api/v1/providers") as response:
            providers = {p["name"]: p for p in await response.json()}
        byok = await post(
            "/api/v1/providers",
            {
                "family": "openai-compat",
                "name": "soak-byok",
                "base_url": upstream_base,
                "central_api_key_enabled": False,
                "allow_user_api_key": True,
            },
        )
        broken = await post(
            "/api/v1/providers",
            {
                "family": "openai-compat",
                "name": "soak-broken",
                "base_url": f"http://127.0.0.1:{free_port()}/v1",  # nothing listens there
                "api_key": "sk-soak-broken-0123456789",
            },
        )
        await post(
            "/api/v1/models",
            {
                "provider_config_id": broken["id"],
                "model": "bench-model",
                "name": "broken",
                "context_limit": 8192,
            },
        )
    return {"provider": providers["bench"]["id"], "byok": byok["id"]}


async def _sample_rss(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - started, rss_mb(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_SAMPLE_S)


async def _drive(traffic: Traffic, rate: float, seconds: float) -> None:
    """Start one request every 1/rate seconds for ``seconds`` (open loop), then wait for
    the stragglers."""
    interval = 1.0 / rate
    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    index = 0
    while (now := time.perf_counter() - started) < seconds:
        due = index * interval
        if due > now:
            await asyncio.sleep(due - now)
        task = asyncio.create_task(traffic.one(MIX[index % len(MIX)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        index += 1
    await asyncio.gather(*tasks)


def _window_mean(samples: list[tuple[float, float]], start: float, end: float) -> float:
    values = [rss for t, rss in samples if start <= t <= end]
    return sum(values) / len(values) if values else float("nan")


def _report(args: argparse.Namespace, traffic: Traffic, samples: list[tuple[float, float]]) -> int:
    tally = traffic.tally
    total_errors = sum(tally.errors.values())
    print(f"soak: {args.backend}, {args.seconds:.0f} s at {args.rate:.0f} req/s")
    print(f"  {'kind':10} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind in dict.fromkeys(MIX):
        values = tally.latencies.get(kind, [])
        p50 = percentile(values, 0.50) if values else float("nan")
        p99 = percentile(values, 0.99) if values else float("nan")
        print(f"  {kind:10} {len(values):7d} {p50:8.1f} {p99:8.1f} {tally.errors[kind]:7d}")
    print(f"  injected faults answered {EXPECTED_FAULT_STATUS}: {tally.injected}")
    for kind, sample in tally.error_samples.items():
        print(f"  first {kind} error: {sample}")
    # RSS: the mean over the first, middle and last tenth of the run smooths the sawtooth.
    span = samples[-1][0] if samples else 0.0
    tenth = span / 10
    start = _window_mean(samples, 0, tenth)
    middle = _window_mean(samples, span / 2 - tenth / 2, span / 2 + tenth / 2)
    end = _window_mean(samples, span - tenth, span)
    peak = max((rss for _, rss in samples), default=float("nan"))
    print(
        f"  RSS MB: start {start:.1f}, middle {middle:.1f}, end {end:.1f}, peak {peak:.1f}; "
        f"growth first half {middle - start:+.1f}, second half {end - middle:+.1f}"
    )
    print(f"  errors: {total_errors}")
    return 1 if total_errors else 0


async def run(args: argparse.Namespace, database_url: str) -> int:
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/fake_upstream.py"), str(upstream_port)]
    )
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHATGATE_")},
        "CHATGATE_DATABASE_URL": database_url,
        "CHATGATE_LISTEN": f"127.0.0.1:{port}",
        "CHATGATE_BOOTSTRAP_TOKEN": TOKEN,
        "CHATGATE_LOG_LEVEL": "warning",
        "CHATGATE_ENCRYPTION_KEYS": base64.b64encode(os.urandom(32)).decode(),
    }
    # The server's log (warnings for the injected faults) goes to a file, not the report.
    log_path = Path(tempfile.mkstemp(prefix="chatgate-soak-", suffix=".log")[1])
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(BIN / "chatgate"), "serve"], env=environ, stdout=subprocess.DEVNULL, stderr=log
        )
    print(f"soak: server log in {log_path}")
    try:
        base = f"http://127.0.0.1:{port}"
        upstream_base = f"http://127.0.0.1:{upstream_port}/v1"
        await wait_http(f"http://127.0.0.1:{upstream_port}/")
        await wait_http(f"{base}/healthz")
        await seed(base, upstream_base)
        ids = await _seed_extras(base, upstream_base)
        samples: list[tuple[float, float]] = []
        stop = asyncio.Event()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        headers = {"authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            traffic = Traffic(session, base, ids)
            sampler = asyncio.create_task(_sample_rss(server.pid, samples, stop))
            await _drive(traffic, args.rate, args.seconds)
            stop.set()
            await sampler
        return _report(args, traffic, samples)
    finally:
        server.terminate()
        server.wait(30)
        upstream.terminate()
        upstream.wait(10)


async def main_async(args: argparse.Namespace) -> int:
    if args.database_url:
        return await run(args, args.database_url)
    if args.backend == "postgresql":
        url = await _create_pg_database()
        try:
            return await run(args, url)
        finally:
            await _drop_pg_database(url)
    directory = Path(tempfile.mkdtemp(prefix="chatgate-soak-"))
    try:
        return await run(args, f"sqlite:///{directory / 'soak.db'}")
    finally:
        shutil.rmtree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="an existing database (its backend is used)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests started per second")
    args = parser.parse_args()
    args.seconds = float(os.environ.get("SOAK_SECONDS", "120"))
    if args.database_url and not args.database_url.startswith("sqlite"):
        args.backend = "postgresql"
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
