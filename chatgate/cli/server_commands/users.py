"""``chatgate users list|get|update|disable`` and ``chatgate tokens list|revoke`` (the
server side; ``users create`` and ``tokens create`` work on the database)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from chatgate.cli.output import EXIT_USAGE, fail, fields, show, table
from chatgate.cli.remote import JsonOption, TokenOption, UrlOption, find_by_name, server
from chatgate.client import Client

USER_COLUMNS = [
    ("USERNAME", "username"),
    ("ROLE", "role"),
    ("DISABLED", "disabled"),
    ("DISPLAY NAME", "display_name"),
    ("ID", "id"),
]
TOKEN_COLUMNS = [
    ("NAME", "name"),
    ("CREATED", "created_at"),
    ("LAST USED", "last_used_at"),
    ("EXPIRES", "expires_at"),
    ("ID", "id"),
]
UserArgument = Annotated[str, typer.Argument(help="A username, a user id, or me.")]


def user_id(client: Client, reference: str) -> uuid.UUID | str:
    if reference == "me":
        return "me"
    found: uuid.UUID = find_by_name(
        "user", reference.lower(), client.list_users(), lambda u: u.username, lambda u: u.id
    )
    return found


def users_list(
    url: UrlOption = None, token: TokenOption = None, json_output: JsonOption = False
) -> None:
    """List users."""
    with server(url, token, json_output) as client:
        users = client.list_users()
    show(users, table(users, USER_COLUMNS))


def users_get(
    user: UserArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one user."""
    with server(url, token, json_output) as client:
        found = client.me() if user == "me" else client.get_user(user_id(client, user))
    show(found, fields(found))


def users_update(
    user: UserArgument,
    role: Annotated[
        str | None, typer.Option("--role", help="admin, auditor or member.", show_default=False)
    ] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", show_default=False)] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", show_default=False)] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change a user's role, display name or disabled flag."""
    given: dict[str, Any] = {
        "role": role,
        "display_name": display_name,
        "disabled": None if enabled is None else not enabled,
    }
    body = {field: value for field, value in given.items() if value is not None}
    if not body:
        fail("nothing to change: give at least one option", EXIT_USAGE)
    with server(url, token, json_output) as client:
        updated = client.update_user(user_id(client, user), body)
    show(
        updated,
        f"updated {updated.username} ({updated.role}{', disabled' if updated.disabled else ''})",
    )


def users_disable(
    user: UserArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Disable a user: their tokens stop working."""
    with server(url, token, json_output) as client:
        updated = client.update_user(user_id(client, user), {"disabled": True})
    show(updated, f"disabled {updated.username}")


def tokens_list(
    user: Annotated[str, typer.Argument(help="A username, a user id, or me.")] = "me",
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """List a user's tokens (never the tokens themselves)."""
    with server(url, token, json_output) as client:
        tokens = client.list_tokens(user_id(client, user))
    show(tokens, table(tokens, TOKEN_COLUMNS))


def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see tokens list).")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke a token."""
    with server(url, token, json_output) as client:
        client.revoke_token(token_id)
    show({"id": token_id, "revoked": True}, f"revoked token {token_id}")


def register(users_app: typer.Typer, tokens_app: typer.Typer) -> None:
    users_app.command("list")(users_list)
    users_app.command("get")(users_get)
    users_app.command("update")(users_update)
    users_app.command("disable")(users_disable)
    tokens_app.command("list")(tokens_list)
    tokens_app.command("revoke")(tokens_revoke)
