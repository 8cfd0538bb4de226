"""``chatgate audit`` and ``chatgate usage``: what happened, and how much."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, cast

import typer

from chatgate.audit.schemas import AuditEntryOut, AuditPage
from chatgate.cli.output import EXIT_USAGE, fail, show, table
from chatgate.cli.remote import JsonOption, TokenOption, UrlOption, server

if TYPE_CHECKING:
    from chatgate.usage.service import GroupBy

# The API's largest page (SPEC §14); not imported from chatgate.api, which loads the web
# framework.
MAX_LIMIT = 500
AUDIT_COLUMNS = [
    ("TIME", "created_at"),
    ("ACTOR", "actor_username"),
    ("SOURCE", "source"),
    ("ACTION", "action"),
    ("TARGET", "target_type"),
    ("TARGET ID", "target_id"),
]
GROUP_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "user": [("USER", "username"), ("USER ID", "user_id")],
    "model": [("MODEL", "name"), ("MODEL ID", "model_config_id")],
    "provider_config": [("PROVIDER", "name"), ("PROVIDER ID", "provider_config_id")],
    "key": [("KEY SOURCE", "key_source"), ("KEY ID", "key_id")],
}
TOTAL_COLUMNS = [
    ("REQUESTS", "requests"),
    ("ATTEMPTS", "attempts"),
    ("ERRORS", "errors"),
    ("INPUT TOKENS", "input_tokens"),
    ("OUTPUT TOKENS", "output_tokens"),
    ("P50 MS", "p50_latency_ms"),
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since", help="From this time on (ISO 8601, UTC without a zone).", show_default=False
    ),
]
Until = Annotated[
    str | None,
    typer.Option(
        "--until", help="Before this time (ISO 8601, UTC without a zone).", show_default=False
    ),
]


def audit(
    target_type: Annotated[
        str | None,
        typer.Option("--target-type", help="e.g. provider_config, user.", show_default=False),
    ] = None,
    target_id: Annotated[str | None, typer.Option("--target-id", show_default=False)] = None,
    actor_id: Annotated[str | None, typer.Option("--actor-id", show_default=False)] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="At most this many entries; 0: all of them.")
    ] = 50,
    page_size: Annotated[
        int,
        typer.Option("--page-size", min=1, max=MAX_LIMIT, help="Entries fetched per request."),
    ] = MAX_LIMIT,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Read the audit log, newest first (a progress bar when it takes several pages)."""
    page_size = page_size if limit == 0 else min(limit, page_size)
    entries: list[AuditEntryOut] = []
    with server(url, token, json_output) as client:

        def pages() -> Iterator[AuditPage]:
            cursor: str | None = None
            while True:
                page = client.audit_log_page(
                    target_type=target_type,
                    target_id=target_id,
                    actor_id=actor_id,
                    since=since,
                    until=until,
                    limit=page_size,
                    cursor=cursor,
                )
                yield page
                if page.next_cursor is None or (limit and len(entries) >= limit):
                    return
                cursor = page.next_cursor

        if limit and limit <= page_size:  # one page: no progress to show
            for page in pages():
                entries.extend(page.items)
        else:
            expected = math.ceil(limit / page_size) if limit else None
            with typer.progressbar(
                pages(), length=expected, label="reading the audit log", file=sys.stderr
            ) as bar:
                for page in bar:
                    entries.extend(page.items)
    if limit:
        entries = entries[:limit]
    show(entries, table(entries, AUDIT_COLUMNS))


def usage(
    group_by: Annotated[
        str, typer.Option("--group-by", help="user, model, provider_config or key.")
    ] = "model",
    since: Since = None,
    until: Until = None,
    url: UrlOption = None,
    token: TokenOption = None,
    json_output: JsonOption = False,
) -> None:
    """Usage totals per user, model, provider config or key, busiest first."""
    if group_by not in GROUP_COLUMNS:
        fail("--group-by must be one of user, model, provider_config, key", EXIT_USAGE)
    chosen = cast("GroupBy", group_by)  # checked just above
    with server(url, token, json_output) as client:
        groups = client.usage(group_by=chosen, since=since, until=until)
    show(groups, table(groups, GROUP_COLUMNS[group_by] + TOTAL_COLUMNS))


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command("usage")(usage)
