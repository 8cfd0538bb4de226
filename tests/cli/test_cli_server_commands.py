"""``chatgate`` commands over a running server, run as the installed command with
``CHATGATE_URL``/``CHATGATE_TOKEN`` set, as a user would (SPEC §12): tables by default,
``--json`` before or after the command, and every exit code reached by a real case."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli.remote_cli import Cli
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, cli_environ, run_chatgate

UPSTREAM_KEY = "sk-upstream-cli-0123456789"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def admin(env: Env, live: str) -> Cli:
    return Cli(env, live, env.owner_token, UPSTREAM_KEY_VAR=UPSTREAM_KEY)


async def test_providers_and_models_round_trip(admin: Cli, fake: FakeUpstream) -> None:
    base_url = fake.url + "/v1"
    created = await admin(
        "providers", "create", "--family", "openai-compat", "--name", "vllm",
        "--base-url", base_url, "--api-key", "env:UPSTREAM_KEY_VAR",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    assert created.stdout.startswith("created provider vllm (openai-compat) ")

    listed, after, before, duplicate, missing, invalid, tested = await asyncio.gather(
        admin("providers", "list"),
        admin("providers", "list", "--json"),
        admin("--json", "providers", "list"),
        admin(
            "providers",
            "create",
            "--family",
            "openai-compat",
            "--name",
            "vllm",
            "--base-url",
            base_url,
            "--api-key",
            "env:UPSTREAM_KEY_VAR",
        ),
        admin("providers", "get", "nope"),
        admin("providers", "create", "--family", "nonsense"),
        admin("providers", "test", "vllm"),
    )
    # A table by default: a header line, then one row per config.
    header, row = listed.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "FAMILY", "ENABLED", "KEYS"]
    assert row.split()[:4] == ["vllm", "openai-compat", "yes", "1"]
    assert [p["name"] for p in after.json()] == [p["name"] for p in before.json()] == ["vllm"]
    assert (duplicate.code, "name_taken" in duplicate.stderr) == (4, True)
    assert (missing.code, missing.stderr) == (3, "error: provider config 'nope' not found\n")
    assert (invalid.code, "family_invalid" in invalid.stderr) == (2, True)
    assert tested.code == 0, tested.stderr
    assert tested.stdout.startswith("ok ")
    assert [r.api_key for r in fake.requests] == [UPSTREAM_KEY]  # the env: reference, resolved

    model = await admin(
        "models", "create", "--model", "llama", "--name", "chat", "--context-limit", "8192",
        "--provider", "vllm", "--default",
    )  # fmt: skip
    assert model.code == 0, model.stderr
    renamed = await admin("models", "update", "chat", "--display-name", "Chat", "--json")
    assert (renamed.code, renamed.json()["display_name"]) == (0, "Chat")
    models = await admin("models", "list")
    assert models.stdout.splitlines()[1].split()[:5] == [
        "chat",
        "llama",
        "openai-compat",
        "yes",
        "yes",
    ]

    deleted = await admin("providers", "delete", "vllm")
    assert deleted.code == 0, deleted.stderr
    assert deleted.stdout == "deleted provider vllm\n    cascade: model 'chat' soft-deleted\n"
    gone = await admin("models", "get", "chat")
    assert gone.code == 3


async def test_users_tokens_audit_and_usage(env: Env, admin: Cli) -> None:
    mia_id, _ = await env.new_user("mia")
    listed, got, tokens, audit, usage = await asyncio.gather(
        admin("users", "list"),
        admin("users", "get", "mia", "--json"),
        admin("--json", "tokens", "list", "mia"),
        admin("audit", "--target-type", "user", "--limit", "1", "--json"),
        admin("usage", "--group-by", "user", "--json"),
    )
    assert [line.split()[:3] for line in listed.stdout.splitlines()] == [
        ["USERNAME", "ROLE", "DISABLED"],
        ["admin", "owner", "no"],
        ["mia", "member", "no"],
    ]
    assert got.json()["id"] == mia_id
    [token] = tokens.json()
    assert token["name"] == "t"
    assert [e["action"] for e in audit.json()] == ["user.create"]
    assert (usage.code, usage.json()) == (0, [])

    # Over several pages (one entry each), with a progress bar on stderr.
    everything = await admin(
        "audit", "--target-type", "user", "--limit", "0", "--page-size", "1", "--json"
    )
    assert everything.code == 0, everything.stderr
    assert [e["after"]["username"] for e in everything.json()] == ["mia", "admin"]
    assert "reading the audit log" in everything.stderr

    promoted = await admin("users", "update", "mia", "--role", "auditor")
    assert (promoted.code, promoted.stdout) == (0, "updated mia (auditor)\n")
    disabled, owner = await asyncio.gather(
        admin("users", "disable", "mia"), admin("users", "disable", "admin")
    )
    assert (disabled.code, disabled.stdout) == (0, "disabled mia\n")
    # A refusal by the server is not a usage error: exit 1, with the server's code.
    assert (owner.code, "owner_protected" in owner.stderr) == (1, True)

    revoked = await admin("tokens", "revoke", token["id"])
    assert revoked.code == 0, revoked.stderr
    again = await admin("tokens", "revoke", token["id"])
    assert again.code == 3


async def test_refusals_and_failures_exit_with_their_codes(env: Env, live: str, admin: Cli) -> None:
    _, member_token = await env.new_user("bob")
    member = Cli(env, live, member_token)
    stranger = Cli(env, live, "cgt_" + "x" * 43)
    nowhere = Cli(env, UNREACHABLE, env.owner_token)
    forbidden, unauthenticated, unreachable, bad_group, bad_time = await asyncio.gather(
        member("providers", "list"),
        stranger("models", "list"),
        nowhere("providers", "list"),
        admin("usage", "--group-by", "nonsense"),
        admin("audit", "--since", "not-a-time"),
    )
    assert (forbidden.code, "(forbidden)" in forbidden.stderr) == (1, True)
    assert unauthenticated.code == 1
    assert (unreachable.code, "cannot reach chatgate at" in unreachable.stderr) == (1, True)
    assert (bad_group.code, "--group-by" in bad_group.stderr) == (2, True)
    assert (bad_time.code, "since" in bad_time.stderr) == (2, True)

    no_url = cli_environ(env.runtime.settings.database_url, CHATGATE_TOKEN=env.owner_token)
    unset = await run_chatgate("providers", "list", environ=no_url)
    assert (unset.code, "CHATGATE_URL" in unset.stderr) == (2, True)


async def test_help_shows_flags_plainly_and_never_the_token(env: Env, admin: Cli) -> None:
    helped, version, generated = await asyncio.gather(
        admin("providers", "update", "--help"),
        admin("--version"),
        admin("keys", "generate", "--json"),  # --json after a database-direct command too
    )
    assert set(generated.json()) == {"key", "digest"}
    assert helped.code == 0
    assert "--enable / --disable" in helped.stdout
    assert "--json" in helped.stdout
    assert "<bool>" not in helped.stdout
    assert "CHATGATE_TOKEN" in helped.stdout
    assert (version.code, version.stdout) == (0, "chatgate 0.1.0\n")


async def test_config_plan_refuses_a_literal_secret_without_printing_it(
    admin: Cli, tmp_path: Path
) -> None:
    secret = "sk-literal-" + uuid.uuid4().hex
    document = {
        "version": 1,
        "providers": [
            {"name": "a", "family": "openai", "keys": [{"label": "main", "api_key": "env:X"}]},
            {"name": "b", "family": "openai", "keys": [{"label": "main", "api_key": secret}]},
        ],
    }
    path = tmp_path / "chatgate.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    refused = await admin("config", "plan", str(path))
    assert refused.code == 2
    assert "providers[1].keys[0].api_key" in refused.stderr
    assert secret not in refused.stdout + refused.stderr
