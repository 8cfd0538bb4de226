"""User and token endpoints (SPEC §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.store import users as user_store
from chatgate.users import service
from chatgate.users.schemas import (
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(body: UserCreate, ctx: Context = requires(Permission.ADMIN_WRITE)) -> UserOut:
    async def work(session: AsyncSession) -> UserOut:
        return UserOut.model_validate(await service.create_user(session, ctx.user, body))

    return await ctx.runtime.db.write(work)


@router.get("/users", response_model=list[UserOut])
async def list_users(ctx: Context = requires(Permission.ADMIN_READ)) -> list[UserOut]:
    async def work(session: AsyncSession) -> list[UserOut]:
        return [UserOut.model_validate(u) for u in await user_store.list_users(session)]

    return await ctx.runtime.db.read(work)


@router.get("/users/me", response_model=UserOut)
async def get_me(ctx: Context = requires(Permission.AUTHENTICATED)) -> UserOut:
    user_id = ctx.resolve_user_id("me")

    async def work(session: AsyncSession) -> UserOut:
        return UserOut.model_validate(await service.get_user(session, user_id))

    return await ctx.runtime.db.read(work)


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    async def work(session: AsyncSession) -> UserOut:
        return UserOut.model_validate(await service.get_user(session, target))

    return await ctx.runtime.db.read(work)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(
    user_id: str, body: UserUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    async def work(session: AsyncSession) -> UserOut:
        return UserOut.model_validate(await service.update_user(session, ctx.user, target, body))

    return await ctx.runtime.db.write(work)


@router.post("/users/{user_id}/tokens", status_code=201, response_model=TokenCreated)
async def create_token(
    user_id: str, body: TokenCreate, ctx: Context = requires(Permission.AUTHENTICATED)
) -> TokenCreated:
    target = ctx.resolve_user_id(user_id)

    async def work(session: AsyncSession) -> TokenCreated:
        row, token = await service.create_token(session, ctx.user, target, body)
        return TokenCreated(id=row.id, name=row.name, token=token, expires_at=row.expires_at)

    return await ctx.runtime.db.write(work)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
async def list_tokens(
    user_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> list[TokenOut]:
    target = ctx.resolve_user_id(user_id)

    async def work(session: AsyncSession) -> list[TokenOut]:
        return [
            TokenOut.model_validate(t) for t in await service.list_tokens(session, ctx.user, target)
        ]

    return await ctx.runtime.db.read(work)


@router.delete("/tokens/{token_id}", status_code=204)
async def delete_token(
    token_id: uuid.UUID, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    async def work(session: AsyncSession) -> None:
        await service.delete_token(session, ctx.user, token_id)

    await ctx.runtime.db.write(work)
    return Response(status_code=204)
