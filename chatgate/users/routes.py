"""User and token endpoints (SPEC §14)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, error_responses
from chatgate.authz import Permission
from chatgate.errors import uuid_or_404
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


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    summary="Create a user",
    description="The username is lower-cased, then must match `[a-z0-9][a-z0-9._-]{0,63}`. "
    "Admins grant `admin`, `auditor` and `member`; `owner` cannot be granted.",
    responses=error_responses(
        (
            400,
            "`username_invalid`: not a valid username once lower-cased; `role_invalid`: not "
            "a role; `display_name_invalid`: control characters.",
        ),
        (403, "`forbidden`: not an admin; `owner_protected`: the owner role cannot be granted."),
        (409, "`username_taken`."),
    ),
)
async def create_user(body: UserCreate, ctx: Context = requires(Permission.ADMIN_WRITE)) -> UserOut:
    return UserOut.model_validate(await ctx.write(service.create_user, ctx.user, body))


@router.get("/users", response_model=list[UserOut], summary="List users")
async def list_users(ctx: Context = requires(Permission.ADMIN_READ)) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await ctx.read(user_store.list_users)]


@router.get("/users/me", response_model=UserOut, summary="Get the caller's own user")
async def get_me(ctx: Context = requires(Permission.AUTHENTICATED)) -> UserOut:
    user_id = ctx.resolve_user_id("me")

    return UserOut.model_validate(await ctx.read(service.get_user, user_id))


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Get a user",
    responses=error_responses(404),
)
async def get_user(user_id: str, ctx: Context = requires(Permission.ADMIN_READ)) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    return UserOut.model_validate(await ctx.read(service.get_user, target))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Update a user (role, disabled, display name)",
    description="Absent fields are unchanged. The owner cannot be demoted or disabled, and "
    "nobody demotes or disables themselves.",
    responses=error_responses(
        (
            400,
            "`role_invalid`: not a role; `display_name_invalid`: control characters.",
        ),
        (
            403,
            "`forbidden`: not an admin; `owner_protected`: the owner cannot be demoted or "
            "disabled, nor the owner role granted; `self_change_forbidden`.",
        ),
        404,
    ),
)
async def update_user(
    user_id: str, body: UserUpdate, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> UserOut:
    target = ctx.resolve_user_id(user_id)

    return UserOut.model_validate(await ctx.write(service.update_user, ctx.user, target, body))


@router.post(
    "/users/{user_id}/tokens",
    status_code=201,
    response_model=TokenCreated,
    summary="Create an API token",
    description="The token text (`cgt_…`) is in this response only; it is never shown again. "
    "Users create their own (`me`); an admin creates one for another user only while that "
    "user has no live token.",
    responses=error_responses(
        (
            400,
            "`name_invalid`: empty or with control characters; `expires_in_days_invalid`: "
            "not between 1 and 3650.",
        ),
        (403, "`forbidden`: another user's tokens are managed by admins."),
        404,
        (409, "`user_has_live_token`: the other user already has a live token."),
    ),
)
async def create_token(
    user_id: str, body: TokenCreate, ctx: Context = requires(Permission.AUTHENTICATED)
) -> TokenCreated:
    target = ctx.resolve_user_id(user_id)

    row, token = await ctx.write(service.create_token, ctx.user, target, body)
    return TokenCreated(id=row.id, name=row.name, token=token, expires_at=row.expires_at)


@router.get(
    "/users/{user_id}/tokens",
    response_model=list[TokenOut],
    summary="List a user's tokens",
    description="Never the token texts.",
    responses=error_responses(
        (403, "`forbidden`: another user's tokens are visible to admins only."), 404
    ),
)
async def list_tokens(
    user_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> list[TokenOut]:
    target = ctx.resolve_user_id(user_id)

    return [
        TokenOut.model_validate(t) for t in await ctx.read(service.list_tokens, ctx.user, target)
    ]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke a token",
    responses={
        **NO_CONTENT,
        **error_responses((403, "`forbidden`: another user's tokens are managed by admins."), 404),
    },
)
async def delete_token(
    token_id: str, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    target = uuid_or_404(token_id, "token")

    await ctx.write(service.delete_token, ctx.user, target)
    return Response(status_code=204)
