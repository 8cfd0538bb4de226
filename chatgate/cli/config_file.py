"""Configuration files of ``chatgate config`` (SPEC §12): the server's document as YAML.

Rules: a secret in a file is only ever a reference — ``env:NAME`` (an environment
variable) or ``file:PATH`` (a file's content, PATH relative to the configuration file) —
and a literal ``api_key`` is refused, naming its place in the document, never its value.
References are resolved here, on the admin's machine; the server compares the secrets
with the stored ones without revealing them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from chatgate.client import ConfigChange

ENV_PREFIX = "env:"
FILE_PREFIX = "file:"


class ConfigFileError(Exception):
    """The file cannot be used as it is (a usage error: exit 2). Never holds a secret."""


def read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigFileError(f"{path}: {error.strerror or error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigFileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise ConfigFileError(f"{path}: the document must be a mapping (version, providers, …)")
    return document


def write_document(document: Mapping[str, Any]) -> str:
    """YAML in the document's own key order (the server's), readable by ``read_document``."""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


def _api_keys(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path in the document, key entry) for every provider key that has an ``api_key``."""
    providers = document.get("providers")
    if not isinstance(providers, list):
        return
    for p, provider in enumerate(providers):
        keys = provider.get("keys") if isinstance(provider, dict) else None
        if not isinstance(keys, list):
            continue
        for k, key in enumerate(keys):
            if isinstance(key, dict) and key.get("api_key") is not None:
                yield f"providers[{p}].keys[{k}].api_key", key


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith((ENV_PREFIX, FILE_PREFIX))


def literal_secrets(document: Mapping[str, Any]) -> list[str]:
    """Paths of every ``api_key`` that is not a reference."""
    return [path for path, key in _api_keys(document) if not is_reference(key["api_key"])]


def resolve_reference(
    reference: str, where: str, environ: Mapping[str, str], base_dir: Path
) -> str:
    """The secret a reference names; ``ConfigFileError`` naming ``where`` when it names
    nothing (an unset variable, an unreadable or empty file)."""
    if reference.startswith(ENV_PREFIX):
        name = reference[len(ENV_PREFIX) :]
        value = environ.get(name, "")
        if not name or not value:
            raise ConfigFileError(f"{where}: the environment variable {name!r} is not set")
        return value
    if reference.startswith(FILE_PREFIX):
        path = base_dir / Path(reference[len(FILE_PREFIX) :]).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigFileError(f"{where}: cannot read {path}: {error.strerror}") from None
        if not value:
            raise ConfigFileError(f"{where}: {path} is empty")
        return value
    raise ConfigFileError(f"{where}: must be a reference, env:NAME or file:PATH")


def resolved(
    document: Mapping[str, Any], environ: Mapping[str, str], base_dir: Path
) -> dict[str, Any]:
    """A copy of ``document`` with every secret reference replaced by the secret (refuses a
    literal secret first). The input is left as it is."""
    literals = literal_secrets(document)
    if literals:
        raise ConfigFileError(
            f"{', '.join(literals)}: a literal secret in a configuration file; "
            "write env:NAME or file:PATH instead"
        )
    copied = copy.deepcopy(dict(document))
    for where, key in _api_keys(copied):
        key["api_key"] = resolve_reference(key["api_key"], where, environ, base_dir)
    return copied


def load_for_server(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The file's document, ready to send: read, checked, references resolved."""
    document = read_document(path)
    return resolved(document, os.environ if environ is None else environ, path.parent)


_SIGNS = {"create": "+", "update": "~", "delete": "-"}
_SETTINGS = frozenset({"default_model", "chat_retention_days"})


def render_changes(changes: Sequence[ConfigChange]) -> list[str]:
    """A line per change: ``+ create provider openai-b``, ``~ update model chat
    (display_name, enabled)``, ``~ chat retention: 30 → 7 days``; cascades (consequences
    of another change) indented and marked, e.g.
    ``    cascade: model 'chat' soft-deleted: its provider is deleted``."""
    lines = []
    for change in changes:
        sign = _SIGNS[change.action]
        if change.cascade:
            what = change.detail or f"{change.action} {change.kind} {change.name}"
            lines.append(f"    cascade: {what}")
        elif change.kind in _SETTINGS and change.detail:
            # A setting has no object to name: its detail says the old and new value.
            lines.append(f"{sign} {change.detail}")
        else:
            # A direct change's detail only repeats its line ("provider 'x' created").
            line = f"{sign} {change.action} {change.kind.replace('_', ' ')} {change.name}"
            if change.fields:
                line += f" ({', '.join(change.fields)})"
            lines.append(line)
    return lines
