"""Operation builders bound as client methods: ``sync_op(build)`` makes a method with the
builder's parameters that runs its ``Call`` and returns the parsed answer; ``async_op``
the same, awaited. The signature is the builder's, so type checkers and editors see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from chatgate.client.operations import Call

P = ParamSpec("P")
R = TypeVar("R")


class SyncRunner(Protocol):
    def _execute(self, call: Call[R]) -> R: ...


class AsyncRunner(Protocol):
    async def _execute(self, call: Call[R]) -> R: ...


class sync_op(Generic[P, R]):
    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, runner: None, owner: type[Any]) -> sync_op[P, R]: ...
    @overload
    def __get__(self, runner: SyncRunner, owner: type[Any]) -> Callable[P, R]: ...
    def __get__(
        self, runner: SyncRunner | None, owner: type[Any]
    ) -> sync_op[P, R] | Callable[P, R]:
        if runner is None:
            return self
        build = self.build

        def method(*args: P.args, **kwargs: P.kwargs) -> R:
            return runner._execute(build(*args, **kwargs))

        method.__doc__ = build.__doc__
        method.__name__ = build.__name__
        return method


class async_op(Generic[P, R]):
    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, runner: None, owner: type[Any]) -> async_op[P, R]: ...
    @overload
    def __get__(self, runner: AsyncRunner, owner: type[Any]) -> Callable[P, Awaitable[R]]: ...
    def __get__(
        self, runner: AsyncRunner | None, owner: type[Any]
    ) -> async_op[P, R] | Callable[P, Awaitable[R]]:
        if runner is None:
            return self
        build = self.build

        async def method(*args: P.args, **kwargs: P.kwargs) -> R:
            return await runner._execute(build(*args, **kwargs))

        method.__doc__ = build.__doc__
        method.__name__ = build.__name__
        return method
