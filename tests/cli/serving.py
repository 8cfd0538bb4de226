"""``chatgate serve`` as a real process, the way the README starts it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.support.helpers import CHATGATE_BIN

LISTENING = re.compile(r"chatgate listening on (http://127\.0\.0\.1:\d+)")
TOKEN_LINE = re.compile(r"^\s+(cgt_[A-Za-z0-9_-]{43})$")
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 10.0


@dataclass
class ServeProcess:
    process: asyncio.subprocess.Process
    base_url: str = ""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)
    _new_line: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def printed_tokens(self) -> list[str]:
        return [m.group(1) for line in self.stdout if (m := TOKEN_LINE.match(line))]

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the exit code; killed (and failed) after the deadline."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                async with asyncio.timeout(STOP_DEADLINE_S):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"serve did not stop within {STOP_DEADLINE_S} s") from None
        await asyncio.gather(*self._readers)
        assert self.process.returncode is not None
        return self.process.returncode

    async def wait_for_stderr(self, needle: str) -> str:
        """The first stderr line containing ``needle`` (log lines are written by a thread,
        so they may trail the response that caused them)."""
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in self.stderr if needle in line)
            return bool(found) or self._readers[1].done()

        async with asyncio.timeout(10), self._new_line:
            await self._new_line.wait_for(seen)
        assert found, f"no stderr line with {needle!r}: {self.stderr}"
        return found[0]

    async def _collect(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while raw := await stream.readline():
            into.append(raw.decode().rstrip("\n"))
            async with self._new_line:
                self._new_line.notify_all()
        async with self._new_line:
            self._new_line.notify_all()

    async def _wait_until_listening(self) -> None:
        def listening_or_gone() -> bool:
            for line in self.stdout:
                if match := LISTENING.search(line):
                    self.base_url = match.group(1)
            return bool(self.base_url) or self._readers[0].done()

        async with asyncio.timeout(START_DEADLINE_S), self._new_line:
            await self._new_line.wait_for(listening_or_gone)
        if not self.base_url:
            await self.process.wait()
            await asyncio.gather(*self._readers)
            raise AssertionError(f"serve exited early: {self.stdout} {self.stderr}")


@contextlib.asynccontextmanager
async def serving(
    environ: dict[str, str], *args: str, launcher: tuple[str, ...] = ()
) -> AsyncIterator[ServeProcess]:
    """Start ``chatgate serve ARGS`` (through ``launcher``, e.g. ``taskset``) and yield once it
    says where it listens. A process the test did not stop is stopped afterwards."""
    process = await asyncio.create_subprocess_exec(
        *launcher,
        CHATGATE_BIN,
        "serve",
        *args,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    served = ServeProcess(process)
    served._readers = [
        asyncio.create_task(served._collect(process.stdout, served.stdout)),
        asyncio.create_task(served._collect(process.stderr, served.stderr)),
    ]
    try:
        await served._wait_until_listening()
        yield served
    finally:
        if process.returncode is None:
            with contextlib.suppress(AssertionError):
                await served.stop(signal.SIGINT)
        for reader in served._readers:
            reader.cancel()
