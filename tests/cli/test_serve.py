"""``chatgate serve`` as an operator runs it: first start, second start, refusals (SPEC §12)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.helpers import CHATGATE_BIN, cli_environ, run_chatgate

LISTENING = re.compile(r"chatgate listening on (http://127\.0\.0\.1:\d+)")
TOKEN_LINE = re.compile(r"^\s+(cgt_[A-Za-z0-9_-]{43})$")
START_DEADLINE_S = 30.0


@dataclass
class Served:
    base_url: str
    lines: list[str] = field(default_factory=list)

    @property
    def printed_tokens(self) -> list[str]:
        return [m.group(1) for line in self.lines if (m := TOKEN_LINE.match(line))]


@contextlib.asynccontextmanager
async def serving(environ: dict[str, str]) -> AsyncIterator[Served]:
    """Start ``chatgate serve`` and yield once it says where it listens; stop it after."""
    process = await asyncio.create_subprocess_exec(
        CHATGATE_BIN,
        "serve",
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_DEADLINE_S):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    error = (await process.stderr.read()).decode()
                    raise AssertionError(f"serve exited early: {lines} {error}")
                lines.append(raw.decode().rstrip("\n"))
                if match := LISTENING.search(lines[-1]):
                    break
        yield Served(match.group(1), lines)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(15):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_serve_prints_the_owner_token_once_and_where_it_listens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    environ = cli_environ(
        f"sqlite+aiosqlite:///{data / 'chatgate.db'}", CHATGATE_LISTEN="127.0.0.1:0"
    )

    async with serving(environ) as first:
        assert len(first.printed_tokens) == 1
        token = first.printed_tokens[0]
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as client:
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            me = await client.get("/api/v1/users/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200
            assert (me.json()["username"], me.json()["role"]) == ("admin", "owner")
    key_file = data / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    async with serving(environ) as second:
        assert second.printed_tokens == []  # the database was reused: no new owner
        assert not any("Created the owner" in line for line in second.lines)
        async with httpx.AsyncClient(base_url=second.base_url, timeout=10) as client:
            me = await client.get("/api/v1/users/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200


async def test_serve_refuses_a_bootstrap_token_shorter_than_32_characters(
    tmp_path: Path,
) -> None:
    environ = cli_environ(
        f"sqlite+aiosqlite:///{tmp_path / 'chatgate.db'}",
        CHATGATE_LISTEN="127.0.0.1:0",
        CHATGATE_BOOTSTRAP_TOKEN="too-short",
    )
    result = await run_chatgate("serve", environ=environ, timeout=30)
    assert result.code == 1
    assert "CHATGATE_BOOTSTRAP_TOKEN must be at least 32 characters" in result.stderr
    assert "too-short" not in result.stderr + result.stdout
    assert "listening" not in result.stdout
    assert not (tmp_path / "chatgate.db").exists()
