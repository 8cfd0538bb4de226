"""Configuration files on the CLI side (SPEC §12): secrets only by reference, refused
when literal (naming the place, never the value), references resolved on the admin's
machine, and the server's changes printed one line each with cascades marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatgate.cli.config_file import (
    ConfigFileError,
    load_for_server,
    read_document,
    render_changes,
    write_document,
)
from chatgate.client import ConfigChange

LITERAL = "sk-literal-secret-0123456789"


def document(*api_keys: str | None) -> dict[str, object]:
    keys = [
        {"label": f"k{i}", "enabled": True} | ({"api_key": key} if key is not None else {})
        for i, key in enumerate(api_keys)
    ]
    return {
        "version": 1,
        "providers": [
            {"name": "openai-a", "family": "openai", "keys": []},
            {"name": "openai-b", "family": "openai", "keys": keys},
        ],
        "models": [],
        "default_model": None,
        "chat_retention_days": 30,
    }


def save(tmp_path: Path, content: dict[str, object]) -> Path:
    path = tmp_path / "chatgate.yaml"
    path.write_text(write_document(content), encoding="utf-8")
    return path


def test_references_are_resolved_and_the_file_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "b.key").write_text("sk-from-a-file-0123\n", encoding="utf-8")
    original = document("env:KEY_B0", "file:secrets/b.key", None)
    path = save(tmp_path, original)

    sent = load_for_server(path, environ={"KEY_B0": "sk-from-the-env-0123"})

    keys = sent["providers"][1]["keys"]
    assert [key.get("api_key") for key in keys] == [
        "sk-from-the-env-0123",
        "sk-from-a-file-0123",  # relative to the file, trailing newline dropped
        None,  # absent: the server keeps the stored secret
    ]
    assert read_document(path) == original


def test_a_literal_secret_is_refused_by_its_path_without_its_value(tmp_path: Path) -> None:
    path = save(tmp_path, document("env:KEY_B0", LITERAL))
    with pytest.raises(ConfigFileError) as refused:
        load_for_server(path, environ={"KEY_B0": "sk-from-the-env-0123"})
    assert "providers[1].keys[1].api_key" in str(refused.value)
    assert LITERAL not in str(refused.value)


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("env:UNSET_KEY", "environment variable 'UNSET_KEY' is not set"),
        ("file:missing.key", "cannot read"),
    ],
)
def test_a_reference_to_nothing_names_its_place(
    tmp_path: Path, reference: str, reason: str
) -> None:
    path = save(tmp_path, document(reference))
    with pytest.raises(ConfigFileError) as unresolved:
        load_for_server(path, environ={})
    assert str(unresolved.value).startswith("providers[1].keys[0].api_key: ")
    assert reason in str(unresolved.value)


def test_a_file_that_is_not_a_document_is_refused_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nproviders: [\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        read_document(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="must be a mapping"):
        read_document(listed)


def change(action: str, kind: str, name: str, **more: Any) -> ConfigChange:
    values: dict[str, Any] = {"fields": [], "cascade": False, "detail": ""}
    values.update(more)
    return ConfigChange.model_validate({"action": action, "kind": kind, "name": name, **values})


def test_changes_are_printed_one_line_each_with_cascades_marked() -> None:
    changes = [
        change("create", "provider", "openai-c", detail="provider 'openai-c' created"),
        change("update", "provider_key", "openai-a/main", fields=["api_key"]),
        change("delete", "provider", "openai-b"),
        change(
            "delete",
            "user_keys",
            "openai-b",
            cascade=True,
            detail="2 user keys removed with provider 'openai-b'",
        ),
        change(
            "delete",
            "model",
            "chat",
            cascade=True,
            detail="model 'chat' soft-deleted: its provider is deleted",
        ),
        change(
            "update",
            "default_model",
            "fast",
            fields=["default_model"],
            cascade=True,
            detail="new default model: 'fast'",
        ),
        change(
            "update",
            "chat_retention_days",
            "chat_retention_days",
            fields=["chat_retention_days"],
            detail="chat retention: 30 → 7 days",
        ),
    ]
    assert render_changes(changes) == [
        "+ create provider openai-c",
        "~ update provider key openai-a/main (api_key)",
        "- delete provider openai-b",
        "    cascade: 2 user keys removed with provider 'openai-b'",
        "    cascade: model 'chat' soft-deleted: its provider is deleted",
        "    cascade: new default model: 'fast'",
        "~ chat retention: 30 → 7 days",
    ]
