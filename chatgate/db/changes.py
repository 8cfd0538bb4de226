"""Hearing about changes other processes commit (SPEC §11).

PostgreSQL: triggers (migration 0002) announce every committed change of what snapshots
hold as ``pg_notify('chatgate_changes', '<kind>:<id>')``. ``PostgresChanges`` keeps one
direct connection listening (not a pooled one: a transaction-mode pooler would lose it),
checks it every ``KEEPALIVE_S``, and reconnects with a back-off when it is lost. Because
notifications sent while it was away are gone, every (re)connect is reported as a full
change.

SQLite: one machine (one process, or ``--workers`` on it), and the CLI writes to the
same file. ``SqliteChanges``
polls ``PRAGMA data_version`` on a connection of its own once a second (it changes when
any *other* connection committed), and reports a full change only when the configuration
version moved too, so usage rows written by this process's own flusher cause no reloads.

Both report to ``on_change`` with the set of kinds that changed (``FULL`` = everything)
and keep ``ChangeFeedStatus`` current for ``/readyz``. Changes this process committed
itself are not reported: its own writes already invalidated its snapshot
(``Database.write_listeners``), and the reload that follows reads everything committed
before them, so a second reload would only repeat that work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url

from chatgate.db.config_version import CONFIG_VERSION
from chatgate.db.engine import Database
from chatgate.ids import utcnow

log = logging.getLogger("chatgate.changes")

CHANNEL = "chatgate_changes"
# Shown in pg_stat_activity, so operators can tell the listening connections apart.
LISTENER_APPLICATION_NAME = "chatgate-listen"
FULL = "*"
KEEPALIVE_S = 2.0
INITIAL_RECONNECT_DELAY_S = 0.1
# What a SQLite process re-reads after a change of its own (see SqliteChanges.follow).
OWN_WRITE_KINDS = frozenset({"encryption_key", "cooldown"})
POLL_INTERVAL_S = 1.0
MAX_RECONNECT_DELAY_S = 5.0
CONNECT_TIMEOUT_S = 5.0

OnChange = Callable[[frozenset[str]], Awaitable[None]]


@dataclass
class ChangeFeedStatus:
    """What ``/readyz`` shows about the feed; written only by the feed's task."""

    mode: str = "none"  # "listen" (PostgreSQL), "poll" (SQLite), "none" (not started)
    connected: bool = False
    down_since: float | None = None  # monotonic; None while connected
    last_notification_at: datetime | None = None
    snapshot_generation: int = 0  # how many snapshots this process has loaded (the last one served)
    reconnects: int = 0  # times the connection came back after being lost
    last_outage_s: float | None = None  # how long the last loss lasted
    first_connect: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def now_connected(self) -> None:
        if self.first_connect.is_set() and self.down_since is not None:
            self.reconnects += 1
            self.last_outage_s = time.monotonic() - self.down_since
        self.connected = True
        self.down_since = None
        self.first_connect.set()

    def detail(self) -> dict[str, object]:
        heard = self.last_notification_at
        return {
            "mode": self.mode,
            "connected": self.connected,
            "down_for_s": round(self.down_for(), 1),
            "snapshot_generation": self.snapshot_generation,
            "reconnects": self.reconnects,
            "last_outage_s": None if self.last_outage_s is None else round(self.last_outage_s, 2),
            "last_change_heard_s_ago": None
            if heard is None
            else round((utcnow() - heard).total_seconds(), 1),
        }

    def down_for(self) -> float:
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since


# SQLAlchemy's own options for its asyncpg dialect, which asyncpg.connect does not take.
_ENGINE_ONLY_OPTIONS = ("prepared_statement_cache_size", "prepared_statement_name_func")


class PostgresChanges:
    def __init__(self, db: Database, status: ChangeFeedStatus) -> None:
        self._own_pids: AbstractSet[int] = db.backend_pids
        # The arguments the engine's own connections use (host, socket directory, ssl and
        # the rest of the URL's query), so the listener reaches the same server.
        _, options = db.engine.dialect.create_connect_args(db.engine.url)
        for name in _ENGINE_ONLY_OPTIONS:
            options.pop(name, None)
        options.setdefault("timeout", CONNECT_TIMEOUT_S)
        settings = dict(options.pop("server_settings", None) or {})
        settings.setdefault("application_name", LISTENER_APPLICATION_NAME)
        self._connect_args = {**options, "server_settings": settings}
        self.status = status
        status.mode = "listen"
        status.down_since = time.monotonic()

    async def follow(self, on_change: OnChange) -> None:
        """Listen until cancelled; a lost or refused connection is retried with back-off
        (reset once a connection was made), whatever the error."""
        delay = INITIAL_RECONNECT_DELAY_S
        while True:
            try:
                await self._listen_once(on_change)
            except Exception as error:  # any failure: report, reconnect (cancel passes)
                log.warning("change listener disconnected: %s", type(error).__name__)
            if self.status.down_since is None:  # it was connected: a fresh outage
                delay = INITIAL_RECONNECT_DELAY_S
                self.status.connected = False
                self.status.down_since = time.monotonic()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_DELAY_S)

    async def _listen_once(self, on_change: OnChange) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(**self._connect_args)
        kinds: asyncio.Queue[str] = asyncio.Queue()

        def heard(_conn: object, pid: int, _channel: str, payload: str) -> None:
            if pid not in self._own_pids:
                self.status.last_notification_at = utcnow()
                kinds.put_nowait(payload.partition(":")[0])

        try:
            await conn.add_listener(CHANNEL, heard)
            # Whatever was said before this connection listened is lost: reload it all
            # (at start too, should the first connection have come late), then report
            # the connection (a process starting waits for that).
            await on_change(frozenset({FULL}))
            self.status.now_connected()
            while True:
                with contextlib.suppress(TimeoutError):
                    first = await asyncio.wait_for(kinds.get(), KEEPALIVE_S)
                    await on_change(await _coalesce(first, kinds))
                await conn.fetchval("SELECT 1", timeout=KEEPALIVE_S)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)


COALESCE_S = 0.1


async def _coalesce(first: str, kinds: asyncio.Queue[str]) -> frozenset[str]:
    """Every kind heard within ``COALESCE_S`` of the first notification: a burst of
    changes (a config apply, a key rotation) becomes one reload."""
    await asyncio.sleep(COALESCE_S)
    heard = {first}
    while not kinds.empty():
        heard.add(kinds.get_nowait())
    return frozenset(heard)


class SqliteChanges:
    def __init__(
        self, database_url: str, status: ChangeFeedStatus, own_version: Callable[[], str | None]
    ) -> None:
        self._path = make_url(database_url).database or ""
        self._own_version = own_version
        self.status = status
        status.mode = "poll"

    async def follow(self, on_change: OnChange) -> None:
        async with aiosqlite.connect(self._path, timeout=5) as conn:
            # The baseline first: a commit after it is seen by the first poll.
            seen_data = await self._data_version(conn)
            seen_config = await self._config_version(conn)
            self.status.now_connected()
            while True:
                await asyncio.sleep(POLL_INTERVAL_S)
                try:
                    data = await self._data_version(conn)
                    if data == seen_data:
                        continue
                    config = await self._config_version(conn)
                except aiosqlite.Error as error:  # locked or away: try again next second
                    log.warning("change poll failed: %s", type(error).__name__)
                    continue
                seen_data = data
                if config != seen_config:
                    seen_config = config
                    # When the last change was this process's own, the snapshot already
                    # reloads everything committed before it; only what a snapshot does not
                    # carry (encryption-key states, shared cooldowns) may have moved unseen.
                    own = config == self._own_version()
                    if not own:
                        self.status.last_notification_at = utcnow()
                    await on_change(OWN_WRITE_KINDS if own else frozenset({FULL}))

    @staticmethod
    async def _data_version(conn: aiosqlite.Connection) -> int:
        async with conn.execute("PRAGMA data_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    async def _config_version(conn: aiosqlite.Connection) -> object:
        async with conn.execute(
            "SELECT value FROM settings WHERE name = ?", (CONFIG_VERSION,)
        ) as cursor:
            row = await cursor.fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None


def change_feed(db: Database, status: ChangeFeedStatus) -> PostgresChanges | SqliteChanges:
    """The feed for ``db``. Start it before loading what it keeps current: a change
    committed before the first connection is otherwise not heard."""
    if db.is_sqlite:
        return SqliteChanges(db.url, status, lambda: db.last_config_version)
    return PostgresChanges(db, status)
