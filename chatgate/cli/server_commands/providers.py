"""``chatgate providers list|get|create|update|delete|test``."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from chatgate.cli.config_file import ConfigFileError, resolve_reference
from chatgate.cli.output import EXIT_ERROR, EXIT_USAGE, fail, fields, show, table
from chatgate.cli.remote import JsonOption, TokenOption, UrlOption, find_by_name, server
from chatgate.client import Client

app = typer.Typer(
    rich_markup_mode=None, help="Provider configs (talks to a server).", no_args_is_help=True
)

COLUMNS = [
    ("NAME", "name"),
    ("FAMILY", "family"),
    ("ENABLED", "enabled"),
    ("KEYS", "key_count"),
    ("BASE URL", "effective_base_url"),
    ("ID", "id"),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="The central key as a reference: env:NAME or file:PATH (a literal key would "
        "stay in the shell's history).",
        show_default=False,
    ),
]


def provider_id(client: Client, reference: str) -> uuid.UUID:
    """A provider config's id from its id or its name."""
    found: uuid.UUID = find_by_name(
        "provider config",
        reference,
        [p for p in client.list_providers() if p.id is not None],
        lambda p: p.name,
        lambda p: p.id,
    )
    return found


def secret_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return resolve_reference(value, "--api-key", os.environ, Path.cwd())
    except ConfigFileError as error:
        fail(str(error), EXIT_USAGE)


@app.command("list")
def list_providers(
    url: UrlOption = None, token: TokenOption = None, json_output: JsonOption = False
) -> None:
    """List provider configs."""
    with server(url, token, json_output) as client:
        providers = client.list_providers()
    show(providers, table(providers, COLUMNS))


@app.command("get")
def get_provider(
    provider: Annotated[str, typer.Argument(help="The config's name or id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one provider config."""
    with server(url, token, json_output) as client:
        found = client.get_provider(provider_id(client, provider))
    show(found, fields(found))


@app.command("create")
def create_provider(
    family: Annotated[str, typer.Option("--family", help="openai, anthropic, openai-compat, …")],
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    base_url: Annotated[str, typer.Option("--base-url", help="Empty: the family's default.")] = "",
    api_key: ApiKeyOption = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    no_central_keys: Annotated[
        bool, typer.Option("--no-central-keys", help="Requests may not use central keys.")
    ] = False,
    allow_user_keys: Annotated[
        bool, typer.Option("--allow-user-keys", help="Users may store their own key.")
    ] = False,
    central_fallback: Annotated[
        bool,
        typer.Option(
            "--central-fallback", help="Users without a key fall back to the central one."
        ),
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a provider config."""
    body: dict[str, Any] = {
        "family": family,
        "display_name": display_name,
        "base_url": base_url,
        "enabled": not disabled,
        "central_api_key_enabled": not no_central_keys,
        "allow_user_api_key": allow_user_keys,
        "allow_central_api_key_fallback": central_fallback,
    }
    if name is not None:
        body["name"] = name
    secret = secret_option(api_key)
    if secret is not None:
        body["api_key"] = secret
    with server(url, token, json_output) as client:
        created = client.create_provider(body)
    show(created, f"created provider {created.name} ({created.family}) {created.id}")


@app.command("update")
def update_provider(
    provider: Annotated[str, typer.Argument(help="The config's name or id.")],
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", show_default=False)] = None,
    api_key: ApiKeyOption = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", show_default=False)] = None,
    central_keys: Annotated[
        bool | None, typer.Option("--central-keys/--no-central-keys", show_default=False)
    ] = None,
    user_keys: Annotated[
        bool | None, typer.Option("--allow-user-keys/--no-user-keys", show_default=False)
    ] = None,
    central_fallback: Annotated[
        bool | None,
        typer.Option("--central-fallback/--no-central-fallback", show_default=False),
    ] = None,
    drop_keys: Annotated[
        bool, typer.Option("--drop-keys", help="Acknowledge that a new origin deletes the keys.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change a provider config (only the options given)."""
    given = {
        "name": name,
        "display_name": display_name,
        "base_url": base_url,
        "api_key": secret_option(api_key),
        "enabled": enabled,
        "central_api_key_enabled": central_keys,
        "allow_user_api_key": user_keys,
        "allow_central_api_key_fallback": central_fallback,
        "drop_keys": drop_keys or None,
    }
    body = {field: value for field, value in given.items() if value is not None}
    if not body:
        fail("nothing to change: give at least one option", EXIT_USAGE)
    with server(url, token, json_output) as client:
        updated = client.update_provider(provider_id(client, provider), body)
    show(updated, f"updated provider {updated.name}")


@app.command("delete")
def delete_provider(
    provider: Annotated[str, typer.Argument(help="The config's name or id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete a provider config: its model configs are soft-deleted, its keys removed."""
    with server(url, token, json_output) as client:
        target = provider_id(client, provider)
        impact = client.provider_delete_impact(target)
        client.delete_provider(target)
    lines = [f"deleted provider {provider}"]
    lines += [f"    cascade: model {m.name!r} soft-deleted" for m in impact.model_configs]
    if impact.user_keys_removed:
        lines.append(f"    cascade: {impact.user_keys_removed} user key(s) removed")
    show({"id": str(target), "impact": impact.model_dump(mode="json")}, "\n".join(lines))


@app.command("test")
def run_connection_test(
    provider: Annotated[str, typer.Argument(help="The config's name or id.")],
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="Only this pool key.", show_default=False)
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Test the config's central keys against the upstream (exit 1 when one fails)."""
    with server(url, token, json_output) as client:
        result = client.connection_test(provider_id(client, provider), key_id=key_id)
    lines = [
        f"{'ok  ' if key.ok else 'FAIL'}  {key.id or '-'}  {key.status or '-'}  {key.message}"
        for key in result.keys
    ]
    show(result, "\n".join(lines) or "no enabled keys to test")
    if not result.ok:
        raise typer.Exit(EXIT_ERROR)
