"""``chatgate config export|plan|apply``: configuration as code (SPEC §12)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from chatgate.cli.config_file import (
    ConfigFileError,
    load_for_server,
    render_changes,
    write_document,
)
from chatgate.cli.output import EXIT_CHANGES, EXIT_USAGE, fail, show, state
from chatgate.cli.remote import JsonOption, TokenOption, UrlOption, server
from chatgate.client import ConfigChange

app = typer.Typer(
    rich_markup_mode=None,
    help="Configuration as code: providers, keys (by reference), models, default model, "
    "chat retention (talks to a server).",
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path, typer.Argument(help="A YAML file as `config export` writes it.", dir_okay=False)
]
PruneOption = Annotated[
    bool, typer.Option("--prune", help="Delete what the file does not list (with its cascades).")
]
KeyLossOption = Annotated[
    bool,
    typer.Option(
        "--allow-user-key-loss",
        help="Let --prune delete provider configs that hold users' own keys.",
    ),
]


def _document(path: Path) -> dict[str, object]:
    try:
        return load_for_server(path)
    except ConfigFileError as error:
        fail(str(error), EXIT_USAGE)


def _show_changes(changes: list[ConfigChange], none: str, summary: str) -> None:
    lines = render_changes(changes)
    human = "\n".join([*lines, summary]) if changes else none
    show({"changes": [c.model_dump(mode="json") for c in changes]}, human)


@app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write to this file (default: stdout).", dir_okay=False
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the server's configuration as YAML (secrets as env: references)."""
    with server(url, token, json_output) as client:
        # Only what the server sent: the file round-trips through plan/apply unchanged.
        document = client.export_config().model_dump(mode="json", exclude_unset=True)
    text = json.dumps(document, indent=2) + "\n" if state["json"] else write_document(document)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"{output}: {error.strerror}", EXIT_USAGE)
    typer.echo(f"wrote {output}", err=True)


@app.command("plan")
def plan(
    file: FileArgument,
    prune: PruneOption = False,
    allow_user_key_loss: KeyLossOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show what `config apply` would change (exit 0: nothing, 5: changes)."""
    document = _document(file)
    with server(url, token, json_output) as client:
        changes = client.plan_config(document, prune=prune, allow_user_key_loss=allow_user_key_loss)
    _show_changes(changes, "no changes", f"{len(changes)} change(s) planned")
    if changes:
        raise typer.Exit(EXIT_CHANGES)


@app.command("apply")
def apply(
    file: FileArgument,
    prune: PruneOption = False,
    allow_user_key_loss: KeyLossOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make the server's configuration match the file (one transaction; idempotent)."""
    with typer.progressbar(length=2, label="applying", file=sys.stderr) as bar:
        document = _document(file)
        bar.update(1)
        with server(url, token, json_output) as client:
            changes = client.apply_config(
                document, prune=prune, allow_user_key_loss=allow_user_key_loss
            )
        bar.update(1)
    _show_changes(changes, "nothing to change", f"applied {len(changes)} change(s)")
