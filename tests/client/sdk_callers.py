"""One scenario, two clients: ``Client`` runs in a worker thread (the live server shares
the test's event loop, so a blocking call there would stall it) and ``AsyncClient`` is
awaited. Both are driven through the same awaitable interface, and paginated iterators
are collected into lists."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from chatgate.client import AsyncClient, Client


class ThreadedClient:
    def __init__(self, client: Client) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            return list(result) if isinstance(result, Iterator) else result

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(run, *args, **kwargs)

        return call


class AwaitedClient:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(result, AsyncIterator):
                return [item async for item in result]
            assert inspect.isawaitable(result)
            return await result

        return call


Caller = ThreadedClient | AwaitedClient
