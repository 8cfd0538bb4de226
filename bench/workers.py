"""Throughput with 1 and 2 worker processes (``chatgate serve --workers N``), in one run
with the direct baseline (SPEC §15, issue "Replicas and workers").

Starts the fast fake upstream, then for each worker count a real ``chatgate serve`` on a
fresh SQLite database, and sends the same non-streaming requests at concurrency 32 to the
upstream directly and through chatgate. Reports requests per second, errors, and the
scaling ratio (2 workers / 1 worker). On a 2-core machine the load generator and the fake
upstream share the cores with the workers, so the ratio is a floor, not the ceiling.

Usage: ``.venv/bin/python -m bench.workers [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from bench.gateway import BIN, BODY_TEMPLATE, ROOT, TOKEN, free_port, seed, throughput, wait_http

CONCURRENCY = 32
CHANGE_POLL_S = 1.0


async def gateway_rps(workers: int, upstream_base: str, total: int) -> tuple[float, int]:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="chatgate-bench-workers-"))
    env = {
        **os.environ,
        "CHATGATE_DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "CHATGATE_LISTEN": f"127.0.0.1:{port}",
        "CHATGATE_BOOTSTRAP_TOKEN": TOKEN,
        "CHATGATE_LOG_LEVEL": "warning",
        "CHATGATE_WORKERS": str(workers),
    }
    server = subprocess.Popen([str(BIN / "chatgate"), "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz")
        await seed(base, upstream_base)
        body = orjson.dumps({**BODY_TEMPLATE, "model": "bench"})
        auth = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        url = f"{base}/v1/chat/completions"
        # SQLite workers hear of the model seeded through one of them within a second
        # (they poll): wait that out, or the other worker's 404s count as errors.
        await asyncio.sleep(2 * CHANGE_POLL_S)
        await throughput(url, body, auth, total // 10, CONCURRENCY)  # warm every worker
        return await throughput(url, body, auth, total, CONCURRENCY)
    finally:
        server.terminate()
        server.wait(30)


async def run(args: argparse.Namespace) -> None:
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/fake_upstream.py"), str(upstream_port)]
    )
    try:
        upstream_base = f"http://127.0.0.1:{upstream_port}/v1"
        await wait_http(f"http://127.0.0.1:{upstream_port}/")
        body = orjson.dumps({**BODY_TEMPLATE, "model": "bench"})
        direct_auth = {
            "authorization": "Bearer sk-bench-0123456789abcdef",
            "content-type": "application/json",
        }
        direct_rps, direct_errors = await throughput(
            f"{upstream_base}/chat/completions", body, direct_auth, args.requests, CONCURRENCY
        )
        one, one_errors = await gateway_rps(1, upstream_base, args.requests)
        two, two_errors = await gateway_rps(2, upstream_base, args.requests)
        print(f"throughput at concurrency {CONCURRENCY}, {args.requests} requests each")
        print(f"  direct      {direct_rps:9.0f} req/s  errors {direct_errors}")
        print(
            f"  1 worker    {one:9.0f} req/s  errors {one_errors}  ({one / direct_rps:.2f} of direct)"
        )
        print(
            f"  2 workers   {two:9.0f} req/s  errors {two_errors}  ({two / direct_rps:.2f} of direct)"
        )
        print(f"  scaling 2/1 {two / one:9.2f}x  (cores: {os.cpu_count()})")
    finally:
        upstream.terminate()
        upstream.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
