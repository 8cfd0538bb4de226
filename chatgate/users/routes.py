"""User and token endpoints (SPEC §14)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

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
    return UserOut.model_validate(await ctx.write(service.create_user, ctx.user, body))


@router.get("/users", response_model=list[UserOut])
async def list_users(ctx: Context = requires(Permission.ADMIN_READ)) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await ctx.read(user_store.list_users)]


@router.get("/users/me", response_model=UserOut)
async def get_me(ctx: Context = requires(Permission.AUTHENTICATED)) -> UserOut:
    user_id = ctx.resolve_user_id("me")

    return UserOut.model_validate(await ctx.read(service.get_user, user_id))


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    return UserOut.model_validate(await ctx.read(service.get_user, target))


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(
    user_id: str, body: UserUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    return UserOut.model_validate(await ctx.write(service.update_user, ctx.user, target, body))


@router.post("/users/{user_id}/tokens", status_code=201, response_model=TokenCreated)
async def create_token(
    user_id: str, body: TokenCreate, ctx: Context = requires(Permission.AUTHENTICATED)
) -> TokenCreated:
    target = ctx.resolve_user_id(user_id)

    row, token = await ctx.write(service.create_token, ctx.user, target, body)
    return TokenCreated(id=row.id, name=row.name, token=token, expires_at=row.expires_at)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
async def list_tokens(
    user_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> list[TokenOut]:
    target = ctx.resolve_user_id(user_id)

    return [
        TokenOut.model_validate(t) for t in await ctx.read(service.list_tokens, ctx.user, target)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
async def delete_token(
    token_id: uuid.UUID, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    await ctx.write(service.delete_token, ctx.user, token_id)
    return Response(status_code=204)
