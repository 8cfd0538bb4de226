"""``chatgate config export|plan|apply`` end to end (SPEC §12): a YAML file with secrets
by reference, applied to a server with an empty configuration, planned again (no
changes: exit 0), changed (exit 5), pruned only with consent for users' keys (exit 4
otherwise), exported and applied back; literal secrets and unset references refused
(exit 2) without the secret ever printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cli.remote_cli import Cli
from tests.support.helpers import Env
from tests.support.userkeys import my_keys, put_key

OPENAI_KEY = "sk-openai-a-primary-0123456789"
LOCAL_KEY = "sk-local-main-0123456789abcdef"
LITERAL = "sk-literal-in-a-file-0123456789"


def configuration() -> dict[str, Any]:
    return {
        "version": 1,
        "providers": [
            {
                "name": "openai-a",
                "family": "openai",
                "display_name": "OpenAI A",
                "base_url": "",
                "enabled": True,
                "central_api_key_enabled": True,
                "allow_user_api_key": True,
                "allow_central_api_key_fallback": True,
                "keys": [{"label": "primary", "api_key": "env:OPENAI_A_KEY", "enabled": True}],
            },
            {
                "name": "local",
                "family": "openai-compat",
                "display_name": "",
                "base_url": "http://127.0.0.1:9/v1",
                "enabled": True,
                "central_api_key_enabled": True,
                "allow_user_api_key": False,
                "allow_central_api_key_fallback": False,
                "keys": [{"label": "main", "api_key": "file:local.key", "enabled": True}],
            },
        ],
        "models": [
            {
                "name": "chat",
                "model": "gpt-4o-mini",
                "family": "openai",
                "display_name": "Chat",
                "provider": "openai-a",
                "enabled": True,
                "context_limit": 128000,
                "compression_threshold": 70,
            },
            {
                "name": "fast",
                "model": "llama3",
                "family": "openai-compat",
                "display_name": "",
                "provider": "local",
                "enabled": True,
                "context_limit": 8192,
                "compression_threshold": 50,
            },
        ],
        "default_model": "chat",
        "chat_retention_days": 7,
    }


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return str(path)


async def test_configuration_as_code_round_trips_through_the_cli(
    env: Env, live: str, tmp_path: Path
) -> None:
    (tmp_path / "local.key").write_text(LOCAL_KEY + "\n", encoding="utf-8")
    admin = Cli(
        env,
        live,
        env.owner_token,
        OPENAI_A_KEY=OPENAI_KEY,
        # The references `config export` writes, for applying the exported file back.
        CHATGATE_KEY_OPENAI_A_PRIMARY=OPENAI_KEY,
        CHATGATE_KEY_LOCAL_MAIN=LOCAL_KEY,
    )
    desired = write(tmp_path / "chatgate.yaml", configuration())

    applied = await admin("config", "apply", desired)
    assert applied.code == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        "+ create provider local",
        "+ create provider key local/main",
        "+ create provider openai-a",
        "+ create provider key openai-a/primary",
        "+ create model chat",
        "+ create model fast",
        "~ new default model: 'chat'",
        "~ chat retention: 30 → 7 days",
        "applied 8 change(s)",
    ]
    planned = await admin("config", "plan", desired)
    assert (planned.code, planned.stdout) == (0, "no changes\n")

    exported_path = tmp_path / "exported.yaml"
    exported = await admin("config", "export", "-o", str(exported_path))
    assert exported.code == 0, exported.stderr
    written = exported_path.read_text(encoding="utf-8")
    assert OPENAI_KEY not in written
    assert LOCAL_KEY not in written
    document = yaml.safe_load(written)
    assert [p["name"] for p in document["providers"]] == ["openai-a", "local"]
    assert document["providers"][0]["keys"][0]["api_key"] == "env:CHATGATE_KEY_OPENAI_A_PRIMARY"
    assert (document["default_model"], document["chat_retention_days"]) == ("chat", 7)

    changed = configuration()
    changed["models"][1]["display_name"] = "Fast"
    with_changes = await admin("config", "plan", write(tmp_path / "changed.yaml", changed))
    assert with_changes.code == 5
    assert with_changes.stdout.splitlines() == [
        "~ update model fast (display_name)",
        "1 change(s) planned",
    ]

    # A member's own key on openai-a: pruning openai-a away needs consent (409 → exit 4).
    _, member = await env.new_user("member")
    providers = await env.client.get("/api/v1/providers", headers=env.auth(env.owner_token))
    openai_a = next(p["id"] for p in providers.json() if p["name"] == "openai-a")
    assert (await put_key(env, member, openai_a)).status_code == 200
    smaller = configuration()
    smaller["providers"] = [smaller["providers"][1]]
    smaller["models"] = [smaller["models"][1]]
    smaller["default_model"] = None
    smaller_path = write(tmp_path / "smaller.yaml", smaller)
    refused = await admin("config", "apply", smaller_path, "--prune")
    assert (refused.code, "user_key_loss" in refused.stderr) == (4, True)

    consent = ("--prune", "--allow-user-key-loss")
    pruning = await admin("config", "plan", smaller_path, *consent)
    assert pruning.code == 5
    assert "- delete provider openai-a" in pruning.stdout.splitlines()
    assert "    cascade: model 'chat' soft-deleted: its provider is deleted" in pruning.stdout
    pruned = await admin("--json", "config", "apply", smaller_path, *consent)
    assert pruned.code == 0, pruned.stderr
    assert ("delete", "provider", "openai-a") in [
        (c["action"], c["kind"], c["name"]) for c in pruned.json()["changes"]
    ]
    assert await my_keys(env, member) == []

    # The exported file brings openai-a back (its secret by the exported reference).
    restored = await admin("config", "apply", str(exported_path))
    assert restored.code == 0, restored.stderr
    assert "+ create provider openai-a" in restored.stdout.splitlines()
    again = await admin("config", "plan", str(exported_path))
    assert (again.code, again.stdout) == (0, "no changes\n")


async def test_files_the_cli_refuses_and_documents_the_server_refuses(
    env: Env, live: str, tmp_path: Path
) -> None:
    (tmp_path / "local.key").write_text(LOCAL_KEY, encoding="utf-8")
    admin = Cli(env, live, env.owner_token, OPENAI_A_KEY=OPENAI_KEY)

    literal = configuration()
    literal["providers"][1]["keys"][0]["api_key"] = LITERAL
    refused = await admin("config", "apply", write(tmp_path / "literal.yaml", literal))
    assert refused.code == 2
    assert "providers[1].keys[0].api_key" in refused.stderr
    assert LITERAL not in refused.stdout + refused.stderr

    unset = configuration()
    unset["providers"][0]["keys"][0]["api_key"] = "env:NOT_SET_ANYWHERE"
    unresolved = await admin("config", "plan", write(tmp_path / "unset.yaml", unset))
    assert unresolved.code == 2
    assert "NOT_SET_ANYWHERE" in unresolved.stderr

    invalid = configuration()
    invalid["providers"][1]["base_url"] = "ftp://files.example/v1"
    rule = await admin("config", "plan", write(tmp_path / "invalid.yaml", invalid))
    assert rule.code == 2
    assert "providers[1].base_url" in rule.stderr
    assert OPENAI_KEY not in rule.stderr
    # Nothing was applied by any of them.
    exported = await admin("--json", "config", "export")
    assert exported.json()["providers"] == []
