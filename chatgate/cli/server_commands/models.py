"""``chatgate models list|get|create|update|delete``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from chatgate.cli.output import EXIT_USAGE, fail, fields, show, table
from chatgate.cli.remote import JsonOption, TokenOption, UrlOption, find_by_name, server
from chatgate.cli.server_commands.providers import provider_id
from chatgate.client import Client

app = typer.Typer(
    rich_markup_mode=None, help="Model configs (talks to a server).", no_args_is_help=True
)

COLUMNS = [
    ("NAME", "name"),
    ("MODEL", "model"),
    ("FAMILY", "family"),
    ("ENABLED", "enabled"),
    ("DEFAULT", "is_default"),
    ("PROVIDER", "provider_config_id"),
    ("ID", "id"),
]
UNBOUND = "none"
ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider",
        help=f"Bind to this provider config (name or id); {UNBOUND!r}: unbound.",
        show_default=False,
    ),
]


def model_id(client: Client, reference: str) -> uuid.UUID:
    found: uuid.UUID = find_by_name(
        "model config", reference, client.list_models(), lambda m: m.name, lambda m: m.id
    )
    return found


def binding(client: Client, provider: str) -> str | None:
    return None if provider == UNBOUND else str(provider_id(client, provider))


@app.command("list")
def list_models(
    url: UrlOption = None, token: TokenOption = None, json_output: JsonOption = False
) -> None:
    """List model configs."""
    with server(url, token, json_output) as client:
        models = client.list_models()
    show(models, table(models, COLUMNS))


@app.command("get")
def get_model(
    model: Annotated[str, typer.Argument(help="The model config's name or id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one model config."""
    with server(url, token, json_output) as client:
        found = client.get_model(model_id(client, model))
    show(found, fields(found))


@app.command("create")
def create_model(
    model: Annotated[str, typer.Option("--model", help="The upstream model id.")],
    context_limit: Annotated[int, typer.Option("--context-limit", help="Tokens (> 0).")],
    name: Annotated[
        str | None, typer.Option("--name", help="Default: the upstream id.", show_default=False)
    ] = None,
    family: Annotated[str | None, typer.Option("--family", show_default=False)] = None,
    provider: ProviderOption = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    compression_threshold: Annotated[
        int | None, typer.Option("--compression-threshold", show_default=False)
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default.")] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a model config (bound to the family's first config unless --provider)."""
    body: dict[str, Any] = {
        "model": model,
        "context_limit": context_limit,
        "display_name": display_name,
        "is_default": default,
        "enabled": not disabled,
    }
    optional = {"name": name, "family": family, "compression_threshold": compression_threshold}
    body.update({k: v for k, v in optional.items() if v is not None})
    with server(url, token, json_output) as client:
        if provider is not None:
            body["provider_config_id"] = binding(client, provider)
        created = client.create_model(body)
    show(created, f"created model {created.name} ({created.model}) {created.id}")


@app.command("update")
def update_model(
    model: Annotated[str, typer.Argument(help="The model config's name or id.")],
    name: Annotated[str | None, typer.Option("--name", show_default=False)] = None,
    upstream_model: Annotated[str | None, typer.Option("--model", show_default=False)] = None,
    family: Annotated[str | None, typer.Option("--family", show_default=False)] = None,
    provider: ProviderOption = None,
    display_name: Annotated[str | None, typer.Option("--display-name", show_default=False)] = None,
    context_limit: Annotated[
        int | None, typer.Option("--context-limit", show_default=False)
    ] = None,
    compression_threshold: Annotated[
        int | None, typer.Option("--compression-threshold", show_default=False)
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default.")] = False,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", show_default=False)] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change a model config (only the options given)."""
    given: dict[str, Any] = {
        "name": name,
        "model": upstream_model,
        "family": family,
        "display_name": display_name,
        "context_limit": context_limit,
        "compression_threshold": compression_threshold,
        "is_default": True if default else None,
        "enabled": enabled,
    }
    body = {field: value for field, value in given.items() if value is not None}
    if not body and provider is None:
        fail("nothing to change: give at least one option", EXIT_USAGE)
    with server(url, token, json_output) as client:
        if provider is not None:
            body["provider_config_id"] = binding(client, provider)
        updated = client.update_model(model_id(client, model), body)
    show(updated, f"updated model {updated.name}")


@app.command("delete")
def delete_model(
    model: Annotated[str, typer.Argument(help="The model config's name or id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete a model config (soft: chats keep their history)."""
    with server(url, token, json_output) as client:
        target = model_id(client, model)
        client.delete_model(target)
    show({"id": str(target)}, f"deleted model {model}")
