"""What every command prints: human text or tables by default, JSON with ``--json``; and
the exit codes of SPEC §12."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import typer
from pydantic import BaseModel

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4
EXIT_CHANGES = 5  # `config plan`: the server's configuration differs from the file

# Set by the global ``--json`` (before the command) or a command's own (after it).
state: dict[str, Any] = {"json": False}


def use_json(flag: bool) -> None:
    if flag:
        state["json"] = True


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def json_value(value: Any) -> Any:
    # Timestamps as ISO 8601, as the API writes them.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def emit(human: str, data: Any) -> None:
    typer.echo(json.dumps(data, default=json_value) if state["json"] else human)


def plain(data: Any) -> Any:
    """Models (and lists of them) as JSON-ready data."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [plain(item) for item in data]
    return data


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def table(rows: Sequence[Mapping[str, Any] | BaseModel], columns: Sequence[tuple[str, str]]) -> str:
    """Plain aligned columns: ``columns`` are (header, field) pairs."""
    if not rows:
        return "(none)"
    lines = [[header for header, _ in columns]]
    for row in rows:
        values = row.model_dump() if isinstance(row, BaseModel) else row
        lines.append([cell(values.get(name)) for _, name in columns])
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(item: BaseModel, names: Sequence[str] | None = None) -> str:
    """One ``name: value`` line per field."""
    values = item.model_dump()
    shown = names or list(values)
    width = max(len(name) for name in shown)
    return "\n".join(f"{name.ljust(width)}  {cell(values.get(name))}" for name in shown)


def show(data: Any, human: str) -> None:
    """Print ``human``, or ``data`` (models included) as JSON with ``--json``."""
    emit(human, plain(data))
