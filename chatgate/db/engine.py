"""Engines and the transaction runner.

``Database.write`` runs a unit of work in one transaction and commits it; services never
commit. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (so two writers
never both read-then-write); on PostgreSQL services take row/advisory locks. Lock waits
that time out, serialization failures and deadlocks are retried a bounded number of
times and then answered with 503 ``busy`` — never a 500.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from chatgate.db import config_version, sqlite_functions
from chatgate.errors import BusyError, DatabaseUnavailableError

T = TypeVar("T")

MAX_TX_ATTEMPTS = 6
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

# PostgreSQL: connection_exception (class 08), admin_shutdown, crash_shutdown,
# cannot_connect_now.
UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
# asyncpg's default would wait 60 s for a connection; a request must fail long before.
PG_CONNECT_TIMEOUT_S = 5.0

QueryObserver = Callable[[float], None]
_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '5s'")


def _is_retryable(error: DBAPIError) -> bool:
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(orig)


def _is_unreachable(error: BaseException) -> bool:
    """The database could not be reached (as opposed to refusing a statement): connect
    refused, reset or timed out, or the connection died under a statement."""
    if isinstance(error, (OSError, TimeoutError)):
        # asyncpg raises socket errors of its connect unwrapped.
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    orig = error.orig
    if isinstance(orig, (OSError, TimeoutError)):
        return True
    sqlstate = str(getattr(orig, "sqlstate", None) or "")
    return sqlstate.startswith("08") or sqlstate in UNREACHABLE_SQLSTATES


def _sqlite_engine(url: str, *, begin: str, echo_observer: QueryObserver | None) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 5})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        await_(sqlite_functions.register(dbapi_connection._connection))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {begin}")

    _observe(engine, echo_observer)
    return engine


def _observe(engine: AsyncEngine, observer: QueryObserver | None) -> None:
    if observer is None:
        return

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Connection, *_args: Any) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Connection, *_args: Any) -> None:
        starts = conn.info.get("query_start")
        if starts:
            observer(time.perf_counter() - starts.pop())


def _track_backend_pids(engine: AsyncEngine, pids: set[int]) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _opened(dbapi_connection: Any, record: Any) -> None:
        pid = int(dbapi_connection.driver_connection.get_server_pid())
        record.info["backend_pid"] = pid
        pids.add(pid)

    @event.listens_for(engine.sync_engine, "close")
    def _closed(_dbapi_connection: Any, record: Any) -> None:
        # Only then may another process's backend reuse the pid.
        pids.discard(record.info.get("backend_pid", -1))

    @event.listens_for(engine.sync_engine, "invalidate")
    def _invalidated(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        pids.discard(record.info.get("backend_pid", -1))


class Database:
    def __init__(self, url: str, *, query_observer: QueryObserver | None = None) -> None:
        self.url = url
        # PostgreSQL backend pids of this pool's open connections: notifications a write of
        # this process caused need no reload here (``write_listeners`` already ran).
        self.backend_pids: set[int] = set()
        # SQLite: the configuration version this process wrote last (``db.changes``).
        self.last_config_version: str | None = None
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, begin="IMMEDIATE", echo_observer=query_observer)
            self.read_engine = _sqlite_engine(url, begin="DEFERRED", echo_observer=query_observer)
        else:
            self.engine = create_async_engine(
                url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                connect_args={"timeout": PG_CONNECT_TIMEOUT_S},
            )
            _observe(self.engine, query_observer)
            self.read_engine = self.engine
            _track_backend_pids(self.engine, self.backend_pids)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=True)
        # Called after every committed write that may change configuration (the gateway's
        # snapshot listens here so a change is visible to the next request).
        self.write_listeners: list[Callable[[], None]] = []

    async def write(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        notify: bool = True,
        invalidate_here: bool = True,
    ) -> T:
        """Run ``work`` in one write transaction, retrying lock conflicts, then commit.

        ``notify=False`` for writes that change no configuration (usage rows);
        ``invalidate_here=False`` for changes this process applied in memory already (key
        cooldowns): other processes hear of them, this one does not reload.
        """
        for attempt in range(MAX_TX_ATTEMPTS):
            try:
                async with self._writer() as session, session.begin():
                    if not self.is_sqlite:
                        # Lock waits end in a retry, not in a request that hangs.
                        await session.execute(_LOCK_TIMEOUT)
                    result = await work(session)
                    version = None
                    if notify and self.is_sqlite:
                        # PostgreSQL's triggers announce changes (db.changes); SQLite's
                        # pollers compare this version.
                        version = await config_version.bump(session)
                if version is not None:
                    # A change this process did not apply to its snapshot is not "its own":
                    # its pollers must reload (db.changes).
                    self.last_config_version = version if invalidate_here else None
                if notify and invalidate_here:
                    for listener in self.write_listeners:
                        listener()
                return result
            except (DBAPIError, OSError, TimeoutError) as error:
                if _is_unreachable(error):
                    # Fail now with a clear 503: retrying against a database that is down
                    # only makes the request hang.
                    raise DatabaseUnavailableError() from None
                if not isinstance(error, DBAPIError):
                    raise
                if not _is_retryable(error) or attempt == MAX_TX_ATTEMPTS - 1:
                    if _is_retryable(error):
                        raise BusyError() from None
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311
        raise BusyError()  # pragma: no cover - the loop always returns or raises

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in one read-only transaction (a consistent view, no locks taken)."""
        try:
            async with self._reader() as session, session.begin():
                return await work(session)
        except (DBAPIError, OSError, TimeoutError) as error:
            if _is_unreachable(error):
                raise DatabaseUnavailableError() from None
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
