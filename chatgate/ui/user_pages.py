"""Admin pages for users and their tokens (SPEC §13, §14): list and create users, change
a role, disable; a user's tokens with revoke, and a first token for a user who has none
(shown once). Writes go from ``static/admin.js`` to ``/api/v1/users`` and ``/api/v1/tokens``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission, Role, is_grantable, is_owner
from chatgate.ids import utcnow
from chatgate.store import users as user_store
from chatgate.ui.rendering import render_page
from chatgate.users import service as user_service

router = APIRouter(prefix="/ui", include_in_schema=False)

# In rank order, as the role picker lists them.
GRANTABLE_ROLE_NAMES = [role.value for role in Role if is_grantable(role)]


@router.get("/users")
async def users_page(request: Request, ctx: Context = requires(Permission.ADMIN_READ)) -> Response:
    users = await ctx.read(user_store.list_users)
    rows: list[dict[str, Any]] = [
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "disabled": user.disabled,
            # The owner and the viewer themselves cannot be demoted or disabled here
            # (the API refuses with owner_protected / self_change_forbidden).
            "protected": is_owner(user.role) or user.id == ctx.user.user_id,
        }
        for user in users
    ]
    return render_page(
        request,
        "users.html",
        ctx.user,
        users=rows,
        roles=GRANTABLE_ROLE_NAMES,
        can_manage=ctx.user.can(Permission.ADMIN_WRITE),
    )


@router.get("/users/{user_id}")
async def user_tokens_page(
    request: Request, user_id: str, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> Response:
    target = ctx.resolve_user_id(user_id)
    user = await ctx.read(user_service.get_user, target)
    tokens = await ctx.read(user_service.list_tokens, ctx.user, target)
    names = {u.id: u.username for u in await ctx.read(user_store.list_users)}
    now = utcnow()
    rows = [
        {
            "id": token.id,
            "name": token.name,
            "created_by": names.get(token.created_by, "—") if token.created_by else "CLI",
            "created_at": token.created_at,
            "last_used_at": token.last_used_at,
            "expires_at": token.expires_at,
            "expired": token.expires_at is not None and token.expires_at <= now,
        }
        for token in tokens
    ]
    return render_page(
        request,
        "user_tokens.html",
        ctx.user,
        user=user,
        tokens=rows,
        has_live_token=any(not row["expired"] for row in rows),
        is_self=user.id == ctx.user.user_id,
    )
