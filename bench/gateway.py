"""Gateway benchmark (SPEC §15): added latency, throughput, CPU and memory, in one run.

Starts the fast fake upstream and a real ``chatgate serve`` (one worker, SQLite, usage
recording on), then measures the same requests sent directly to the upstream (the
baseline) and through chatgate:

- added latency p50/p95 at concurrency 1, non-streaming and streaming first byte;
- throughput at concurrency 16 (and the error count, which must be 0);
- chatgate CPU milliseconds per request; RSS idle and after load.

Usage: ``make bench`` (or ``.venv/bin/python bench/gateway.py [--requests N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-" + "x" * 40
BODY_TEMPLATE = {"messages": [{"role": "user", "content": "ping " * 200}], "max_tokens": 16}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def wait_http(url: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_request(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return time.perf_counter() - started


async def first_byte(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.content.readany()
        elapsed = time.perf_counter() - started
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return elapsed


async def sequential(
    kind: str, url: str, body: bytes, headers: dict[str, str], count: int
) -> list[float]:
    probe = first_byte if kind == "stream" else timed_request
    async with aiohttp.ClientSession() as session:
        for _ in range(min(200, count)):  # warm-up
            await probe(session, url, body, headers)
        return [await probe(session, url, body, headers) for _ in range(count)]


async def throughput(
    url: str, body: bytes, headers: dict[str, str], total: int, concurrency: int
) -> tuple[float, int]:
    errors = 0
    kinds: collections.Counter[str] = collections.Counter()
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                try:
                    await timed_request(session, url, body, headers)
                except (RuntimeError, aiohttp.ClientError) as error:
                    errors += 1
                    kinds[str(error) or type(error).__name__] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if kinds:
            print(f"  errors seen: {dict(kinds.most_common(5))}", file=sys.stderr)
        return total / (time.perf_counter() - started), errors


async def seed(base: str, upstream_base: str) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.get(f"{base}/api/v1/providers") as response:
            existing = await response.json()
        if any(p.get("name") == "bench" for p in existing):
            return
        provider = {
            "family": "openai-compat",
            "name": "bench",
            "base_url": upstream_base,
            "api_key": "sk-bench-0123456789abcdef",
        }
        async with session.post(f"{base}/api/v1/providers", json=provider) as response:
            created = await response.json()
            if response.status != 201:
                raise RuntimeError(f"provider create failed: {created}")
        model = {
            "provider_config_id": created["id"],
            "model": "bench-model",
            "name": "bench",
            "context_limit": 8192,
        }
        async with session.post(f"{base}/api/v1/models", json=model) as response:
            if response.status != 201:
                raise RuntimeError(f"model create failed: {await response.text()}")


async def run(args: argparse.Namespace) -> None:
    upstream_port, gateway_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="chatgate-bench-"))
    env = {
        **os.environ,
        "CHATGATE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "CHATGATE_LISTEN": f"127.0.0.1:{gateway_port}",
        "CHATGATE_BOOTSTRAP_TOKEN": TOKEN,
        "CHATGATE_LOG_LEVEL": "warning",
    }
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/fake_upstream.py"), str(upstream_port)]
    )
    server = subprocess.Popen([str(BIN / "chatgate"), "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        direct_base = f"http://127.0.0.1:{upstream_port}/v1"
        gateway_base = f"http://127.0.0.1:{gateway_port}"
        await wait_http(f"{gateway_base}/healthz")
        await wait_http(f"http://127.0.0.1:{upstream_port}/")
        await seed(gateway_base, direct_base)
        plain = orjson.dumps({**BODY_TEMPLATE, "model": "bench"})
        streamed = orjson.dumps({**BODY_TEMPLATE, "model": "bench", "stream": True})
        auth = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        direct_auth = {
            "authorization": "Bearer sk-bench-0123456789abcdef",
            "content-type": "application/json",
        }
        n = args.requests
        rss_idle = rss_mb(server.pid)

        results: dict[str, float] = {}
        direct = await sequential("plain", f"{direct_base}/chat/completions", plain, direct_auth, n)
        via = await sequential("plain", f"{gateway_base}/v1/chat/completions", plain, auth, n)
        results["direct_p50_ms"] = percentile(direct, 0.5) * 1000
        results["gateway_p50_ms"] = percentile(via, 0.5) * 1000
        results["added_p50_ms"] = (percentile(via, 0.5) - percentile(direct, 0.5)) * 1000
        results["added_p95_ms"] = (percentile(via, 0.95) - percentile(direct, 0.95)) * 1000

        # Larger bodies (SPEC §15: at most 1.5 µs added per KB): a 1 MiB conversation of
        # 1 KB messages, compared with the 1 KB body above.
        large_kb = 1024
        large = orjson.dumps(
            {
                "model": "bench",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "x" * 1000}] * large_kb,
            }
        )
        count = max(50, n // 10)
        direct_large = await sequential(
            "plain", f"{direct_base}/chat/completions", large, direct_auth, count
        )
        via_large = await sequential(
            "plain", f"{gateway_base}/v1/chat/completions", large, auth, count
        )
        added_large_ms = (percentile(via_large, 0.5) - percentile(direct_large, 0.5)) * 1000
        results["added_p50_ms_1mib_body"] = added_large_ms
        results["added_us_per_kb"] = (
            (added_large_ms - results["added_p50_ms"]) * 1000 / (large_kb - 1)
        )

        direct_s = await sequential(
            "stream", f"{direct_base}/chat/completions", streamed, direct_auth, n
        )
        via_s = await sequential("stream", f"{gateway_base}/v1/chat/completions", streamed, auth, n)
        results["stream_first_byte_added_p50_ms"] = (
            percentile(via_s, 0.5) - percentile(direct_s, 0.5)
        ) * 1000
        results["stream_first_byte_added_p95_ms"] = (
            percentile(via_s, 0.95) - percentile(direct_s, 0.95)
        ) * 1000

        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                [
                    str(BIN / "py-spy"),
                    "record",
                    "-p",
                    str(server.pid),
                    "-o",
                    args.profile,
                    "-r",
                    "500",
                    "-f",
                    "raw",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before = cpu_seconds(server.pid)
        total = args.throughput_requests
        direct_rps, direct_errors = await throughput(
            f"{direct_base}/chat/completions", plain, direct_auth, total, 16
        )
        cpu_mid = cpu_seconds(server.pid)
        rps, errors = await throughput(
            f"{gateway_base}/v1/chat/completions", plain, auth, total, 16
        )
        cpu_after = cpu_seconds(server.pid)
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait(30)
        results["direct_rps_c16"] = direct_rps
        results["gateway_rps_c16"] = rps
        results["gateway_errors_c16"] = errors + direct_errors
        results["cpu_ms_per_request"] = (cpu_after - cpu_mid) / total * 1000
        results["idle_cpu_ms_during_direct"] = (cpu_mid - cpu_before) * 1000
        results["rss_idle_mb"] = rss_idle
        results["rss_after_load_mb"] = rss_mb(server.pid)
        results["ratio_gateway_to_direct_p50"] = percentile(via, 0.5) / percentile(direct, 0.5)
        results["ratio_gateway_to_direct_rps"] = rps / direct_rps
        width = max(len(k) for k in results)
        print(
            f"chatgate gateway benchmark ({n} sequential requests per probe, {total} at concurrency 16)"
        )
        for key, value in results.items():
            print(f"  {key:<{width}}  {value:10.3f}")
        print(f"  p50 direct {statistics.median(direct) * 1000:.3f} ms")
    finally:
        server.terminate()
        upstream.terminate()
        server.wait(10)
        upstream.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--throughput-requests", type=int, default=5000)
    parser.add_argument(
        "--profile", metavar="SVG", help="record the server with py-spy during the throughput run"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
