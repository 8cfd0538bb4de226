"""What the server commands share: ``--url``/``--token`` (or ``CHATGATE_URL``/
``CHATGATE_TOKEN``), ``--json`` after the command, and one mapping from the SDK's errors
to exit codes (SPEC §12). The token is only handed to the SDK: never printed."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

import typer

from chatgate.cli.output import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    fail,
    use_json,
)
from chatgate.client import (
    BadRequest,
    ChatgateConnectionError,
    ChatgateError,
    Client,
    Conflict,
    NotFound,
)

T = TypeVar("T")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CHATGATE_URL",
        show_envvar=True,
        show_default=False,
        help="The server, e.g. http://127.0.0.1:8080.",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CHATGATE_TOKEN",
        show_envvar=True,
        show_default=False,  # never print the token, even in --help
        help="An API token (prefer the environment variable: a flag shows in `ps`).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Machine-readable output (also accepted before the command)."),
]


def exit_code_for(error: ChatgateError) -> int:
    """404 → 3, 409 → 4, 400/422 → 2 (the input was wrong); 401, 403, 5xx and the rest
    → 1: the server refused or failed, the command line itself was fine."""
    if isinstance(error, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(error, Conflict):
        return EXIT_CONFLICT
    if isinstance(error, BadRequest):
        return EXIT_USAGE
    return EXIT_ERROR


def describe(error: ChatgateError) -> str:
    """The server's message and code, and the fields or document paths it names."""
    text = f"{error.message} ({error.code})"
    detail = error.detail
    named: list[str] = []
    if isinstance(detail, dict):
        named = [str(detail[k]) for k in ("path", "field") if detail.get(k)]
    elif isinstance(detail, list):
        named = [
            str(item.get("path") or item.get("field"))
            for item in detail
            if isinstance(item, dict) and (item.get("path") or item.get("field"))
        ]
    fresh = [name for name in named if name not in text]
    return f"{text} [{', '.join(fresh)}]" if fresh else text


@contextlib.contextmanager
def server(url: str | None, token: str | None, json_output: bool = False) -> Iterator[Client]:
    """An SDK client for the command; the SDK's errors end the command with their exit
    code and one line on stderr."""
    use_json(json_output)
    try:
        client = Client(url, token)
    except ValueError as error:
        fail(f"{error} (--url or CHATGATE_URL)", EXIT_USAGE)
    try:
        with client:
            yield client
    except ChatgateError as error:
        fail(describe(error), exit_code_for(error))
    except ChatgateConnectionError as error:
        fail(str(error), EXIT_ERROR)


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def find_by_name(
    what: str,
    reference: str,
    items: Sequence[T],
    name: Callable[[T], str],
    ident: Callable[[T], Any],
) -> Any:
    """The id of the item named ``reference`` (or ``reference`` itself when it is an id);
    a name that matches nothing exits 3."""
    as_id = parse_uuid(reference)
    if as_id is not None:
        return as_id
    for item in items:
        if name(item) == reference:
            return ident(item)
    fail(f"{what} {reference!r} not found", EXIT_NOT_FOUND)
