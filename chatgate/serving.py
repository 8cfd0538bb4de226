"""The ASGI application ``chatgate serve`` runs: it builds its runtime inside the event loop
that serves it (the lifespan), in every worker process.

Pooled database connections belong to the event loop that opened them (asyncpg refuses
one from another loop), so nothing built before the server's loop started may be used by
it. ``chatgate serve`` prepares the database once (migrations, key registry, the first
owner) and disposes of that engine; each worker then builds its own runtime here.
"""

from __future__ import annotations

import gc
import logging
import signal
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.types import Receive, Scope, Send

from chatgate.logs import configure_logging, flush_logs
from chatgate.runtime import Runtime
from chatgate.settings import Settings, load_settings
from chatgate.startup import build_runtime

log = logging.getLogger("chatgate.serving")


class ServedApp:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: Any = None
        self._runtime: Runtime | None = None
        self._lifespan: AbstractAsyncContextManager[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(receive, send)
            return
        await self._app(scope, receive, send)

    async def _run_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as error:
                    # The reason, one line: StartupError messages are written for operators.
                    log.error("start-up failed: %s", error)
                    await self._stop()
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        from chatgate.app import create_app

        self._runtime, _ = await build_runtime(self._settings, run_migrations=False)
        self._app = create_app(self._runtime)
        self._lifespan = self._app.router.lifespan_context(self._app)
        await self._lifespan.__aenter__()
        tune_garbage_collector()

    async def _stop(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.__aexit__(None, None, None)
            self._lifespan = None
        if self._runtime is not None:
            await self._runtime.db.dispose()
            self._runtime = None
        # A worker may end by its stop signal right after this, without ``atexit``.
        flush_logs()


def worker_app() -> ServedApp:
    """The app of one worker process of ``chatgate serve --workers N`` (an import-string
    factory: workers are separate interpreters reading the same environment)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return ServedApp(settings)


def stop_signals_end_normally() -> None:
    """uvicorn re-raises the stop signal once it has shut down gracefully; with the default
    handlers the process would then die by that signal. A stop asked for is a normal end
    (exit 0), so the handlers it restores before re-raising do nothing. (Call it before the
    server starts: uvicorn captures the signals while it serves.)"""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)


def tune_garbage_collector() -> None:
    """Everything loaded so far lives as long as the process: freeze it out of the cyclic
    collector, and collect young objects less often. A large request allocates many small
    dicts; with the defaults the collector scans them several times per request (measured
    by bench/gateway.py: about 0.9 -> 0.6 µs per KB of body in isolation)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
