"""The request context and the one dependency through which every route declares its permission."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Permission, Role
from chatgate.authz.sessions import (
    COOKIE_NAME,
    CSRF_HEADER,
    IDLE_TIMEOUT,
    MAX_SECRET_LENGTH,
    SAFE_METHODS,
    TOUCH_INTERVAL,
    hash_session_secret,
)
from chatgate.authz.tokens import AuthFailure, bearer_token, hash_token
from chatgate.errors import ApiError, uuid_or_404
from chatgate.ids import utcnow
from chatgate.runtime import Runtime
from chatgate.store import sessions as session_store
from chatgate.store import users as user_store

MAX_TOKEN_LENGTH = 512
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    runtime: Runtime
    actor: Actor | None

    @property
    def user(self) -> Actor:
        """The authenticated actor (routes above PUBLIC always have one)."""
        if self.actor is None:  # pragma: no cover - guaranteed by Requires
            raise ApiError(401, "unauthenticated", "a valid token is required")
        return self.actor

    async def read(
        self,
        work: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(session, *args, **kwargs)`` in one read transaction: what a route's
        ``async def work(session)`` closure used to say."""
        return await self.runtime.db.read(lambda session: work(session, *args, **kwargs))

    async def write(
        self,
        work: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(session, *args, **kwargs)`` in one write transaction (retried on lock
        conflicts, then committed)."""
        return await self.runtime.db.write(lambda session: work(session, *args, **kwargs))

    def resolve_user_id(self, raw: str) -> uuid.UUID:
        """Path user ids accept ``me`` for the caller."""
        if raw == "me":
            user_id = self.user.user_id
            if user_id is None:  # pragma: no cover
                raise ApiError(404, "not_found", "user not found")
            return user_id
        return uuid_or_404(raw, "user")


async def authenticate(request: Request, runtime: Runtime) -> Actor | None:
    """The caller, from a bearer token or else a web session cookie (SPEC §12)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return await _from_session(request, runtime)
    if len(token) > MAX_TOKEN_LENGTH:
        runtime.metrics.auth_failures.labels(reason=AuthFailure.MALFORMED).inc()
        return None
    token_hash = hash_token(token)
    now = utcnow()

    async def _lookup(session: AsyncSession) -> tuple[Actor, uuid.UUID] | AuthFailure:
        """The actor and token id, or the reason the token was refused (a metrics label)."""
        found = await user_store.find_token_owner(session, token_hash, now)
        if found is None:
            return AuthFailure.UNKNOWN_TOKEN
        row, user = found
        if user.disabled:
            return AuthFailure.USER_DISABLED
        return Actor(user_id=user.id, role=Role(user.role), username=user.username), row.id

    outcome = await runtime.db.read(_lookup)
    if isinstance(outcome, AuthFailure):
        runtime.metrics.auth_failures.labels(reason=outcome).inc()
        return None
    actor, token_id = outcome
    # A token used for the API is used: its last_used_at moves as it does on /v1 (kept in
    # memory and written at most once a minute by the same tracker, SPEC §15).
    gateway_parts = getattr(request.app.state, "gateway", None)
    if gateway_parts is not None:
        gateway_parts.last_used.token_used(token_id, now)
    return actor


async def _from_session(request: Request, runtime: Runtime) -> Actor | None:
    secret = request.cookies.get(COOKIE_NAME)
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    now = utcnow()
    found = await runtime.db.read(
        lambda session: session_store.find_session_owner(
            session, hash_session_secret(secret), now, now - IDLE_TIMEOUT
        )
    )
    if found is None or found[2].disabled:
        runtime.metrics.auth_failures.labels(reason=AuthFailure.UNKNOWN_TOKEN).inc()
        return None
    web, _token, user = found
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        # A cross-site form can send the cookie, but not this header.
        raise ApiError(
            403, "csrf_required", f"requests signed in by cookie must send {CSRF_HEADER}: 1"
        )
    if now - web.last_seen_at >= TOUCH_INTERVAL:
        await runtime.db.write(
            lambda session: session_store.touch_session(session, web.id, now), notify=False
        )
    return Actor(user_id=user.id, role=Role(user.role), username=user.username)


class Requires:
    """Dependency declaring the permission a route needs; the route matrix test reads it."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request) -> Context:
        runtime: Runtime = request.app.state.runtime
        if self.permission is Permission.PUBLIC:
            return Context(runtime, None)
        if self.permission is Permission.METRICS and runtime.settings.metrics_public:
            return Context(runtime, None)
        actor = await authenticate(request, runtime)
        if actor is None:
            if bearer_token(request.headers.get("authorization")) is None and not (
                request.cookies.get(COOKIE_NAME)
            ):
                runtime.metrics.auth_failures.labels(reason=AuthFailure.MISSING_TOKEN).inc()
            raise ApiError(401, "unauthenticated", "a valid bearer token is required")
        if not actor.can(self.permission):
            raise ApiError(403, "forbidden", "your role does not allow this")
        return Context(runtime, actor)


def requires(permission: Permission) -> Any:
    return Depends(Requires(permission))
