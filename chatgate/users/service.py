"""User and token rules of SPEC §13. Runs inside a transaction; never commits."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import ROLE_NAMES, Actor, Role, is_grantable, is_owner, parse_role
from chatgate.authz.tokens import generate_token, hash_token
from chatgate.db.tables import ApiToken, User
from chatgate.errors import bad_request, conflict, forbidden, not_found
from chatgate.ids import new_id, utcnow
from chatgate.store import users as store
from chatgate.users.schemas import (
    MAX_EXPIRES_IN_DAYS,
    MIN_EXPIRES_IN_DAYS,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from chatgate.validation import check_text, refuse_nulls

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
    }


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise bad_request(
            "username_invalid",
            "username must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            "username",
        )
    return username


def check_role(raw: str) -> Role:
    role = parse_role(raw)
    if role is None:
        raise bad_request("role_invalid", f"role must be one of: {', '.join(ROLE_NAMES)}", "role")
    return role


def check_token_name(raw: str) -> str:
    name = check_text(raw, "name")
    if not name:
        raise bad_request("name_invalid", "name must not be empty", "name")
    return name


def check_expires_in_days(value: int | None) -> int | None:
    if value is not None and not MIN_EXPIRES_IN_DAYS <= value <= MAX_EXPIRES_IN_DAYS:
        raise bad_request(
            "expires_in_days_invalid",
            f"expires_in_days must be between {MIN_EXPIRES_IN_DAYS} and {MAX_EXPIRES_IN_DAYS} "
            "(or null: never)",
            "expires_in_days",
        )
    return value


async def create_user(
    session: AsyncSession, actor: Actor, body: UserCreate, *, allow_owner: bool = False
) -> User:
    """Create a user; the very first user becomes the owner whatever role was asked for."""
    username = normalize_username(body.username)
    role = check_role(body.role)
    display_name = check_text(body.display_name, "display_name")
    await store.lock_user_creation(session)
    first_user = await store.count_users(session) == 0
    if first_user:
        role = Role.OWNER
    elif is_owner(role) and not allow_owner:
        raise forbidden("owner_protected", "the owner role cannot be granted")
    now = utcnow()
    user = User(
        id=new_id(),
        username=username,
        display_name=display_name,
        role=role.value,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    try:
        await store.insert_user(session, user)
    except store.UsernameTaken:
        raise conflict("username_taken", f"username {username!r} is taken", "username") from None
    await record(session, actor, "user.create", "user", user.id, after=user_snapshot(user))
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await store.get_user(session, user_id)
    if user is None:
        raise not_found("user")
    return user


async def update_user(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, body: UserUpdate
) -> User:
    user = await store.get_user(session, user_id, for_update=True)
    if user is None:
        raise not_found("user")
    refuse_nulls(body, ("role", "disabled"), "may not be null")
    role = None if body.role is None else check_role(body.role)
    display_name = (
        None if body.display_name is None else check_text(body.display_name, "display_name")
    )
    before = user_snapshot(user)
    changes_role = role is not None and role.value != user.role
    disables = "disabled" in body.model_fields_set and body.disabled is True and not user.disabled
    if changes_role or disables:
        # Precedence: the owner's protection (the owner stays owner, nobody else becomes
        # one) first, then the self-change rule.
        if is_owner(user.role):
            raise forbidden("owner_protected", "the owner cannot be demoted or disabled")
        if changes_role and not is_grantable(role):
            raise forbidden("owner_protected", "the owner role cannot be granted")
        if user.id == actor.user_id:
            raise forbidden("self_change_forbidden", "you cannot demote or disable yourself")
    if changes_role and role is not None:
        user.role = role.value
    if "disabled" in body.model_fields_set and body.disabled is not None:
        user.disabled = body.disabled
    if "display_name" in body.model_fields_set:
        # null clears it: an empty display name means "show the username".
        user.display_name = display_name or ""
    after = user_snapshot(user)
    if after != before:
        user.updated_at = utcnow()
        await record(session, actor, "user.update", "user", user.id, before=before, after=after)
    return user


async def create_token(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, body: TokenCreate
) -> tuple[ApiToken, str]:
    """Mint a token; returns the row and the token text, which is never stored or shown again."""
    if not actor.may_act_for(user_id):
        raise forbidden("forbidden", "tokens of other users are managed by admins")
    name = check_token_name(body.name)
    expires_in_days = check_expires_in_days(body.expires_in_days)
    user = await store.get_user(session, user_id, for_update=True)
    if user is None:
        raise not_found("user")
    now = utcnow()
    if user_id != actor.user_id and await store.has_live_token(session, user_id, now):
        raise conflict(
            "user_has_live_token",
            "an admin may create a token for another user only while that user has no live token",
        )
    return await mint_token(session, actor, user, name, expires_in_days)


async def mint_token(
    session: AsyncSession,
    actor: Actor,
    user: User,
    name: str,
    expires_in_days: int | None,
    *,
    token: str | None = None,
) -> tuple[ApiToken, str]:
    token = token or generate_token()
    now = utcnow()
    row = ApiToken(
        id=new_id(),
        user_id=user.id,
        name=name.strip() or "token",
        created_by=actor.user_id,
        token_hash=hash_token(token),
        created_at=now,
        last_used_at=None,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    await store.insert_token(session, row)
    await record(
        session,
        actor,
        "token.create",
        "api_token",
        row.id,
        after={"user_id": user.id, "name": row.name, "expires_at": row.expires_at},
    )
    return row, token


async def list_tokens(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> list[ApiToken]:
    if not actor.may_act_for(user_id):
        raise forbidden("forbidden", "tokens of other users are visible to admins only")
    if await store.get_user(session, user_id) is None:
        raise not_found("user")
    return list(await store.list_tokens(session, user_id))


async def delete_token(session: AsyncSession, actor: Actor, token_id: uuid.UUID) -> None:
    token = await store.get_token(session, token_id)
    if token is None:
        raise not_found("token")
    if not actor.may_act_for(token.user_id):
        raise forbidden("forbidden", "tokens of other users are managed by admins")
    await store.delete_token(session, token)
    await record(
        session,
        actor,
        "token.delete",
        "api_token",
        token_id,
        before={"user_id": token.user_id, "name": token.name},
    )


async def bootstrap_owner(session: AsyncSession, bootstrap_token: str | None) -> str | None:
    """On an empty database create the owner ``admin`` and return its token (else None)."""
    await store.lock_user_creation(session)
    if await store.count_users(session) > 0:
        return None
    actor = Actor.system()
    owner = await create_user(session, actor, UserCreate(username="admin", role="member"))
    _, token = await mint_token(session, actor, owner, "bootstrap", None, token=bootstrap_token)
    return token
