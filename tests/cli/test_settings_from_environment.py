"""What an operator writes in the environment: database URLs in every common form, and bad
settings refused with one line before anything touches the database (SPEC §12)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from chatgate.db.urls import DatabaseUrlError, normalise_database_url
from tests.cli.serving import serving
from tests.support.helpers import PG_URL, TEST_KEY, cli_environ, run_chatgate


@pytest.mark.parametrize(
    ("written", "used"),
    [
        ("sqlite:///data/chatgate.db", "sqlite+aiosqlite:///data/chatgate.db"),
        ("sqlite:////var/lib/chatgate.db", "sqlite+aiosqlite:////var/lib/chatgate.db"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("postgres://u:p@db:5432/chat", "postgresql+asyncpg://u:p@db:5432/chat"),
        ("postgresql://u@db/chat", "postgresql+asyncpg://u@db/chat"),
        ("postgresql+asyncpg://u@db/chat", "postgresql+asyncpg://u@db/chat"),
        ("POSTGRES://u@db/chat", "postgresql+asyncpg://u@db/chat"),
        ("postgres://u@db/chat?sslmode=require", "postgresql+asyncpg://u@db/chat?ssl=require"),
        ("postgres://u@db/chat?connect_timeout=7", "postgresql+asyncpg://u@db/chat?timeout=7"),
    ],
)
def test_database_urls_map_to_the_async_drivers(written: str, used: str) -> None:
    assert normalise_database_url(written) == used


@pytest.mark.parametrize(
    "written",
    [
        "mysql://u:secret-pw@db/chat",
        "postgresql+psycopg2://u:secret-pw@db/chat",
        "chatgate.db",
        "sqlite://",
        "postgres://u:secret-pw@db",
        "postgres://u:secret-pw@db/chat?application_name=x",
    ],
)
def test_unusable_database_urls_are_refused_without_repeating_them(written: str) -> None:
    with pytest.raises(DatabaseUrlError) as error:
        normalise_database_url(written)
    assert "secret-pw" not in str(error.value)
    assert "\n" not in str(error.value)


async def test_the_relative_sqlite_form_is_relative_to_the_working_directory(
    tmp_path: Path,
) -> None:
    environ = cli_environ("sqlite:///rel/chatgate.db")
    result = await run_chatgate("db", "upgrade", environ=environ, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert (tmp_path / "rel" / "chatgate.db").stat().st_size > 0


@pytest.mark.parametrize("scratch_database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
async def test_each_postgresql_form_reaches_the_database_it_names(
    scratch_database_url: str, scheme: str
) -> None:
    url = make_url(scratch_database_url)
    written = f"{scheme}://{url.username}@{url.host}:{url.port}/{url.database}?sslmode=disable"
    result = await run_chatgate("db", "upgrade", environ=cli_environ(written))
    assert result.code == 0, result.stderr
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE tablename = 'users'")
    finally:
        await conn.close()
    assert tables == 1


BAD_SETTINGS = [
    ("CHATGATE_LISTEN", "0.0.0.0:abc"),
    ("CHATGATE_LISTEN", "127.0.0.1:70000"),
    ("CHATGATE_LISTEN", "no-port"),
    ("CHATGATE_ENCRYPTION_KEYS", "c2hvcnQ=,not base64!"),
    ("CHATGATE_LOG_LEVEL", "loud"),
    ("CHATGATE_LOG_FORMAT", "xml"),
    ("CHATGATE_DATABASE_URL", "mysql://root:hunter2@127.0.0.1/chat"),
    ("CHATGATE_UPSTREAM_ALLOW_CIDRS", "10.0.0.0/8,garbage"),
    ("CHATGATE_UPSTREAM_CONNECT_TIMEOUT_S", "-1"),
    ("CHATGATE_GATEWAY_MAX_ATTEMPTS", "0"),
    ("CHATGATE_MAX_REQUEST_BYTES", "lots"),
    ("CHATGATE_WORKERS", "0"),
    ("CHATGATE_BOOTSTRAP_TOKEN", "hunter2-too-short"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
async def test_bad_settings_exit_2_naming_the_variable_before_touching_the_database(
    tmp_path: Path, variable: str, value: str
) -> None:
    database = tmp_path / "data" / "chatgate.db"
    environ = cli_environ(f"sqlite:///{database}", CHATGATE_LISTEN="127.0.0.1:0")
    environ[variable] = value
    result = await run_chatgate("serve", environ=environ, timeout=30)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {variable}: ")
    assert "hunter2" not in result.stderr
    assert "listening" not in result.stdout
    assert not database.exists()  # nothing migrated, no key file either
    assert not (database.parent / "encryption.key").exists()


async def test_postgresql_without_keys_points_to_keys_generate() -> None:
    environ = cli_environ(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    result = await run_chatgate("serve", environ=environ, timeout=30)
    assert result.code == 1
    assert "CHATGATE_ENCRYPTION_KEYS is required" in result.stderr
    assert "chatgate keys generate" in result.stderr


async def test_keys_generate_prints_a_key_the_server_accepts(tmp_path: Path) -> None:
    generated = await run_chatgate(
        "--json", "keys", "generate", environ=cli_environ("sqlite:///unused.db")
    )
    assert generated.code == 0
    key = generated.json()["key"]
    assert key != TEST_KEY
    environ = cli_environ(
        f"sqlite:///{tmp_path / 'chatgate.db'}",
        CHATGATE_ENCRYPTION_KEYS=key,
        CHATGATE_LISTEN="127.0.0.1:0",
    )
    async with serving(environ) as served:  # start-up registers the key's digest
        assert await served.stop() == 0
    status = await run_chatgate("--json", "keys", "status", environ=environ)
    assert status.code == 0, status.stderr
    [row] = status.json()["keys"]
    assert (row["digest"], row["primary"], row["configured"]) == (
        generated.json()["digest"],
        True,
        True,
    )
    again = await run_chatgate("keys", "generate", environ=environ)
    assert again.stdout.strip() not in (key, "")  # a new random key each time
