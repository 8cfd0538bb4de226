"""``chatgate serve`` as an operator runs it: first start, second start, refusals (SPEC §12)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from tests.cli.serving import serving
from tests.support.helpers import cli_environ, run_chatgate


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
        assert not any("Created the owner" in line for line in second.stdout)
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
    assert result.code == 2
    assert "CHATGATE_BOOTSTRAP_TOKEN: must be at least 32 characters" in result.stderr
    assert "too-short" not in result.stderr + result.stdout
    assert "listening" not in result.stdout
    assert not (tmp_path / "chatgate.db").exists()
