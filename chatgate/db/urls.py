"""Database URLs as people write them, mapped to the async drivers chatgate uses (SPEC §12).

Platforms and documentation hand out ``postgres://…`` and ``postgresql://…`` (libpq form,
often with ``?sslmode=require``) and ``sqlite:///relative.db``; chatgate runs on asyncpg and
aiosqlite. Normalising once, when settings are read, means every other module sees one
form and never has to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"

ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite+aiosqlite://…, "
    "postgresql://…, postgres://…, postgresql+asyncpg://…"
)

# Scheme as written → the driver that serves it.
_DRIVERS = {
    "sqlite": SQLITE_DRIVER,
    SQLITE_DRIVER: SQLITE_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgres": POSTGRES_DRIVER,
    POSTGRES_DRIVER: POSTGRES_DRIVER,
}


class DatabaseUrlError(ValueError):
    """The URL cannot be used; the message never repeats the URL (it may hold a password)."""


def normalise_database_url(raw: str) -> str:
    """The async-driver form of ``raw``; raises ``DatabaseUrlError`` naming the accepted forms."""
    text = raw.strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    driver = _DRIVERS.get(scheme)
    if driver is None:
        shown = f"scheme {scheme!r}" if scheme else "a value without a scheme"
        raise DatabaseUrlError(f"{shown} is not supported; use one of: {ACCEPTED_FORMS}")
    rest = text.partition("://")[2]
    if driver == SQLITE_DRIVER:
        path = rest[1:] if rest.startswith("/") else ""
        if not path or path == ":memory:":
            raise DatabaseUrlError(
                "SQLite needs a file: sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return f"{SQLITE_DRIVER}:///{path}"
    try:
        url = make_url(f"{POSTGRES_DRIVER}://{rest}")
    except ArgumentError:
        raise DatabaseUrlError(
            f"the PostgreSQL URL is malformed; use one of: {ACCEPTED_FORMS}"
        ) from None
    if not url.database:
        raise DatabaseUrlError("the PostgreSQL URL names no database (…/<database>)")
    return _libpq_query_to_asyncpg(url).render_as_string(hide_password=False)


# libpq's names for what asyncpg takes under another name.
_LIBPQ_RENAMES = {"sslmode": "ssl", "connect_timeout": "timeout"}
# What asyncpg.connect takes from the URL's query (and SQLAlchemy's own options).
_ASYNCPG_OPTIONS = frozenset(
    {"ssl", "timeout", "command_timeout", "statement_cache_size", "direct_tls",
     "target_session_attrs", "krbsrvname", "gsslib", "passfile",
     "prepared_statement_cache_size", "prepared_statement_name_func"}
)  # fmt: skip


def _libpq_query_to_asyncpg(url: URL) -> URL:
    query = {_LIBPQ_RENAMES.get(name, name): value for name, value in url.query.items()}
    unknown = sorted(set(query) - _ASYNCPG_OPTIONS)
    if unknown:
        raise DatabaseUrlError(
            f"the PostgreSQL URL option {unknown[0]!r} is not supported; supported: sslmode, "
            "connect_timeout, " + ", ".join(sorted(_ASYNCPG_OPTIONS - {"ssl", "timeout"}))
        )
    return url.set(query=query) if query != dict(url.query) else url


@dataclass(frozen=True, slots=True)
class DataLocation:
    """Where the data lives, for people: a file, or host and database. Never a password."""

    sqlite_path: Path | None
    description: str


def describe(url: str) -> DataLocation:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = Path(parsed.database or "").resolve()
        return DataLocation(path, f"SQLite database {path}")
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    return DataLocation(None, f"PostgreSQL database {user}{parsed.host}{port}/{parsed.database}")
