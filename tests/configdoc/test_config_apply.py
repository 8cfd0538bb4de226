"""Configuration as code on the server (SPEC §12, §14): export, plan and apply through the
HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.helpers import Env, gather_all
from tests.support.providers import pg_only
from tests.support.userkeys import my_keys, put_key

SECRETS = {
    ("openai-a", "primary"): "sk-openai-a-primary-0123456789",
    ("openai-a", "backup"): "sk-openai-a-backup-0123456789",
    ("local", "main"): "sk-local-main-0123456789abcdef",
}


def document() -> dict[str, Any]:
    """A configuration with literal secrets, as the CLI sends it after resolving references."""
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
                "keys": [
                    {
                        "label": "primary",
                        "api_key": SECRETS["openai-a", "primary"],
                        "enabled": True,
                    },
                    {"label": "backup", "api_key": SECRETS["openai-a", "backup"], "enabled": False},
                ],
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
                "first_byte_timeout_s": 30.0,
                "keys": [{"label": "main", "api_key": SECRETS["local", "main"], "enabled": True}],
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
                "options": {"temperature": 0.2},
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


async def call(
    env: Env, verb: str, doc: dict[str, Any], *, token: str | None = None, **flags: bool
) -> Any:
    return await env.client.post(
        f"/api/v1/config/{verb}",
        json={"document": doc, **flags},
        headers=env.auth(token or env.owner_token),
    )


async def changes(env: Env, verb: str, doc: dict[str, Any], **flags: bool) -> list[dict[str, Any]]:
    response = await call(env, verb, doc, **flags)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["changes"]
    return found


async def export(env: Env, token: str | None = None) -> dict[str, Any]:
    response = await env.client.get("/api/v1/config", headers=env.auth(token or env.owner_token))
    assert response.status_code == 200, response.text
    exported: dict[str, Any] = response.json()["document"]
    return exported


def resolved(exported: dict[str, Any]) -> dict[str, Any]:
    """What the CLI sends for an exported file: each reference replaced by its secret."""
    doc = copy.deepcopy(exported)
    for provider in doc["providers"]:
        for key in provider["keys"]:
            key["api_key"] = SECRETS[provider["name"], key["label"]]
    return doc


def summary(found: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    return [(c["action"], c["kind"], c["name"], c["cascade"]) for c in found]


async def test_an_export_applied_to_an_empty_configuration_reproduces_it(env: Env) -> None:
    await changes(env, "apply", document())
    exported = await export(env)
    assert exported["providers"][0]["keys"][0]["api_key"] == "env:CHATGATE_KEY_OPENAI_A_PRIMARY"
    assert exported["providers"][1]["keys"][0]["api_key"] == "env:CHATGATE_KEY_LOCAL_MAIN"
    assert exported["default_model"] == "chat"
    assert exported["models"][0]["options"] == {"temperature": 0.2}

    await changes(env, "apply", {"version": 1}, prune=True, allow_user_key_loss=True)
    emptied = await export(env)
    assert (emptied["providers"], emptied["models"], emptied["default_model"]) == ([], [], None)

    created = await changes(env, "apply", resolved(exported))
    assert ("create", "provider_key", "openai-a/backup", False) in summary(created)
    # Equal secrets compare equal inside the server: nothing left to do.
    assert await changes(env, "plan", resolved(exported), prune=True) == []
    assert await export(env) == exported


async def test_a_second_apply_of_the_same_document_changes_nothing(env: Env) -> None:
    first = await changes(env, "apply", document())
    assert summary(first) == [
        ("create", "provider", "local", False),
        ("create", "provider_key", "local/main", False),
        ("create", "provider", "openai-a", False),
        ("create", "provider_key", "openai-a/backup", False),
        ("create", "provider_key", "openai-a/primary", False),
        ("create", "model", "chat", False),
        ("create", "model", "fast", False),
        ("update", "default_model", "chat", False),
        ("update", "chat_retention_days", "chat_retention_days", False),
    ]
    assert await changes(env, "apply", document()) == []
    assert await changes(env, "apply", document(), prune=True) == []
    # A key given without its secret keeps the stored one.
    without_secret = document()
    del without_secret["providers"][0]["keys"][0]["api_key"]
    assert await changes(env, "plan", without_secret) == []


async def test_plan_stores_nothing(env: Env) -> None:
    planned = await changes(env, "plan", document())
    assert len(planned) == 9
    assert (await export(env))["providers"] == []
    assert await changes(env, "apply", document()) == planned


async def test_a_failing_item_rolls_the_whole_apply_back_and_is_named(env: Env) -> None:
    await changes(env, "apply", document())
    before = await export(env)

    broken = document()
    broken["providers"][0]["display_name"] = "renamed"
    broken["chat_retention_days"] = 14
    broken["providers"].append(
        {
            "name": "third",
            "family": "openai",
            "base_url": "ftp://nowhere.example",
            "keys": [{"label": "k", "api_key": "sk-third-0123456789abcdef"}],
        }
    )
    response = await call(env, "apply", broken)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "base_url_invalid"
    assert response.json()["detail"]["path"] == "providers[2].base_url"
    assert await export(env) == before

    bad_model = document()
    bad_model["providers"][0]["display_name"] = "renamed"
    bad_model["models"][1]["context_limit"] = 0
    response = await call(env, "apply", bad_model)
    assert (response.status_code, response.json()["detail"]["path"]) == (
        400,
        "models[1].context_limit",
    ), response.text
    assert await export(env) == before

    no_secret = document()
    no_secret["providers"][1]["keys"].append({"label": "second", "enabled": True})
    response = await call(env, "apply", no_secret)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "api_key_required"
    assert response.json()["detail"]["path"] == "providers[1].keys[1].api_key"

    wrong_type = document()
    wrong_type["providers"][1]["enabled"] = "yes"
    response = await call(env, "apply", wrong_type)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["path"] == "providers[1].enabled"

    unknown_provider = document()
    unknown_provider["models"][0]["provider"] = "nobody"
    response = await call(env, "apply", unknown_provider)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["path"] == "models[0].provider"
    assert await export(env) == before


async def test_prune_deletes_with_every_cascade_and_guards_user_keys(env: Env) -> None:
    await changes(env, "apply", document())
    exported = await export(env)
    member_id, member = await env.new_user("member")
    assert (await put_key(env, member, await provider_id(env, "openai-a"))).status_code == 200

    smaller = document()
    smaller["providers"] = [smaller["providers"][1]]
    smaller["models"] = [smaller["models"][1]]
    smaller["default_model"] = None

    refused = await call(env, "plan", smaller, prune=True)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "user_key_loss"
    assert member_id not in refused.text
    assert "member" not in refused.text
    assert (await call(env, "apply", smaller, prune=True)).status_code == 409

    planned = await changes(env, "plan", smaller, prune=True, allow_user_key_loss=True)
    assert summary(planned) == [
        ("delete", "provider", "openai-a", False),
        ("delete", "provider_key", "openai-a/backup", True),
        ("delete", "provider_key", "openai-a/primary", True),
        ("delete", "user_keys", "openai-a", True),
        ("delete", "model", "chat", True),
        ("update", "default_model", "fast", True),
    ]
    details = {(c["kind"], c["name"]): c["detail"] for c in planned}
    assert details["user_keys", "openai-a"] == "1 user keys removed with provider 'openai-a'"
    assert details["model", "chat"] == "model 'chat' soft-deleted: its provider is deleted"
    assert details["default_model", "fast"] == "new default model: 'fast'"
    assert member_id not in str(planned)
    assert await export(env) == exported  # a plan stores nothing

    # Without prune, what the document leaves out is left alone.
    assert await changes(env, "apply", smaller) == []

    applied = await changes(env, "apply", smaller, prune=True, allow_user_key_loss=True)
    assert applied == planned
    after = await export(env)
    assert [p["name"] for p in after["providers"]] == ["local"]
    assert [m["name"] for m in after["models"]] == ["fast"]
    assert after["default_model"] == "fast"
    assert [k["name"] for k in await my_keys(env, member)] == []


async def provider_id(env: Env, name: str) -> str:
    response = await env.client.get("/api/v1/providers", headers=env.auth(env.owner_token))
    return str(next(p["id"] for p in response.json() if p["name"] == name))


async def test_a_changed_secret_is_an_update_that_never_shows_the_secret(env: Env) -> None:
    await changes(env, "apply", document())
    new_secret = "sk-openai-a-rotated-9876543210"
    rotated = document()
    rotated["providers"][0]["keys"][0]["api_key"] = new_secret

    response = await call(env, "plan", rotated)
    assert response.status_code == 200, response.text
    assert response.json()["changes"] == [
        {
            "action": "update",
            "kind": "provider_key",
            "name": "openai-a/primary",
            "fields": ["api_key"],
            "cascade": False,
            "detail": "key 'primary' of provider 'openai-a': api_key changed",
        }
    ]
    applied = await call(env, "apply", rotated)
    assert applied.status_code == 200, applied.text
    exported = await env.client.get("/api/v1/config", headers=env.auth(env.owner_token))
    for text in (response.text, applied.text, exported.text):
        assert new_secret not in text
        assert SECRETS["openai-a", "primary"] not in text
    assert await changes(env, "plan", rotated) == []


async def test_applied_changes_are_audited_as_config_apply_without_secrets(env: Env) -> None:
    owner = env.auth(env.owner_token)
    started = (await env.client.get("/api/v1/audit-log", headers=owner)).json()["items"]
    await changes(env, "apply", document())
    log = await env.client.get("/api/v1/audit-log", params={"limit": 500}, headers=owner)
    assert log.status_code == 200, log.text
    entries = log.json()["items"]
    actions = {e["action"] for e in entries if e["source"] == "config-apply"}
    assert {
        "provider_config.create",
        "provider_key.create",
        "model_config.create",
        "setting.update",
    } <= actions
    known = {e["id"] for e in started}
    assert {e["source"] for e in entries if e["id"] not in known} == {"config-apply"}
    for secret in SECRETS.values():
        assert secret not in log.text


async def test_an_auditor_may_export_and_plan_but_not_apply(env: Env) -> None:
    _, auditor = await env.new_user("auditor", "auditor")
    _, member = await env.new_user("member")
    assert (await export(env, auditor))["providers"] == []
    planned = await call(env, "plan", document(), token=auditor)
    assert planned.status_code == 200, planned.text
    assert len(planned.json()["changes"]) == 9
    refused = await call(env, "apply", document(), token=auditor)
    assert refused.status_code == 403, refused.text
    assert (await export(env))["providers"] == []
    for verb in ("plan", "apply"):
        assert (await call(env, verb, document(), token=member)).status_code == 403
    response = await env.client.get("/api/v1/config", headers=env.auth(member))
    assert response.status_code == 403


def variant(label: str, context_limit: int) -> dict[str, Any]:
    """One of two documents that disagree on every shared object."""
    return {
        "version": 1,
        "providers": [
            {
                "name": "shared",
                "family": "openai",
                "display_name": f"shared {label}",
                "base_url": f"https://{label}.example/v1",
                "keys": [{"label": label, "api_key": f"sk-{label}-0123456789abcdef"}],
            },
            {
                "name": f"only-{label}",
                "family": "anthropic",
                "keys": [{"label": "k", "api_key": f"sk-only-{label}-0123456789"}],
            },
        ],
        "models": [
            {
                "name": "m",
                "model": f"model-{label}",
                "family": "openai",
                "provider": "shared",
                "context_limit": context_limit,
            },
            {
                "name": f"m-{label}",
                "model": "claude",
                "family": "anthropic",
                "provider": f"only-{label}",
                "context_limit": context_limit,
            },
        ],
        "default_model": f"m-{label}",
        "chat_retention_days": context_limit // 1000,
    }


def shape(doc: dict[str, Any]) -> dict[str, Any]:
    """What a document says, secrets aside, for comparing an export with its source."""
    return {
        "providers": sorted(
            (
                p["name"],
                p.get("display_name", ""),
                p.get("base_url", ""),
                tuple(k["label"] for k in p["keys"]),
            )
            for p in doc["providers"]
        ),
        "models": sorted(
            (m["name"], m["model"], m["provider"], m["context_limit"]) for m in doc["models"]
        ),
        "default_model": doc["default_model"],
        "chat_retention_days": doc["chat_retention_days"],
    }


@pg_only
async def test_concurrent_applies_leave_one_document_applied_whole(env: Env) -> None:
    first, second = variant("a", 1000), variant("b", 2000)
    for _ in range(3):
        await changes(env, "apply", document())
        results = await gather_all(
            [
                lambda: call(env, "apply", first, prune=True, allow_user_key_loss=True),
                lambda: call(env, "apply", second, prune=True, allow_user_key_loss=True),
            ]
        )
        assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
        final = shape(await export(env))
        assert final in (shape(first), shape(second))
        # The later apply saw the earlier one's result: its changes turned that into its own.
        assert await changes(env, "plan", first if final == shape(first) else second) == []
