"""A TCP proxy on 127.0.0.1 that can cut a service off and bring it back, for outage
tests against a server other tests share (the machine's PostgreSQL must never be stopped).

    async with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/db"
        proxy.cut()       # every open connection is reset; new ones are reset on arrival
        proxy.restore()   # connections are forwarded again
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

_READ_SIZE = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.down = False
        self.refused = 0  # connections reset on arrival while down
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def open_connections(self) -> int:
        """Client connections currently forwarded (each holds two sockets)."""
        return len(self._writers) // 2

    def cut(self) -> None:
        """Reset every forwarded connection, and every new one until :meth:`restore`."""
        self.down = True
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(writer)
            return
        pair = {writer, up_writer}
        self._writers |= pair
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer, pair)),
            asyncio.create_task(self._pipe(up_reader, writer, pair)),
        ]
        self._pipes.update(pipes)
        for pipe in pipes:
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: set[asyncio.StreamWriter],
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(_READ_SIZE):
                writer.write(data)
                await writer.drain()
        # One side ended: end both, as a real connection would.
        for end in pair:
            _reset(end)
        self._writers -= pair


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (not FIN): the peer sees the connection break, as in an outage."""
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
