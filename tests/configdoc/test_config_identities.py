"""Configuration as code: documents that name objects the way people write them, exports of
configurations built through the API, and documents that must settle after one apply
(SPEC §12, §14), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

from chatgate.configdoc.export import unique_references
from tests.configdoc.test_config_apply import (
    SECRETS,
    call,
    changes,
    document,
    export,
    provider_id,
    summary,
)
from tests.support.helpers import Env, add_model, add_provider

LOCAL_URL = "http://127.0.0.1:9/v1"


def with_secrets(exported: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """What the CLI sends for an exported file: each ``env:`` reference replaced by the
    secret ``secrets`` holds under that variable's name."""
    doc = copy.deepcopy(exported)
    for provider in doc["providers"]:
        for key in provider["keys"]:
            key["api_key"] = secrets[key["api_key"].removeprefix("env:")]
    return doc


async def empty_configuration(env: Env) -> None:
    await changes(env, "apply", {"version": 1}, prune=True, allow_user_key_loss=True)
    emptied = await export(env)
    assert (emptied["providers"], emptied["models"]) == ([], [])


async def test_names_and_labels_with_surrounding_spaces_are_the_stored_ones(env: Env) -> None:
    spaced = document()
    spaced["providers"][1]["name"] = " local "
    spaced["providers"][1]["keys"][0]["label"] = " main"
    spaced["providers"][0]["keys"][1]["label"] = "backup "
    spaced["models"][1]["provider"] = "local "
    # On a configuration applied from the tidy spelling, nothing is new.
    await changes(env, "apply", document())
    assert await changes(env, "apply", spaced) == []
    key_only = document()
    key_only["providers"][1]["keys"][0]["label"] = "main "
    assert await changes(env, "apply", key_only) == []

    await empty_configuration(env)
    created = await changes(env, "apply", spaced)
    assert ("create", "provider", "local", False) in summary(created)
    assert ("create", "provider_key", "local/main", False) in summary(created)

    # The same document again, and its tidy spelling, find what the first apply stored.
    assert await changes(env, "apply", spaced) == []
    assert await changes(env, "plan", spaced, prune=True) == []
    assert await changes(env, "plan", document(), prune=True) == []
    stored = await export(env)
    assert [p["name"] for p in stored["providers"]] == ["openai-a", "local"]
    assert [k["label"] for k in stored["providers"][0]["keys"]] == ["primary", "backup"]

    # Two spellings of one name are one name twice.
    twice = document()
    twice["providers"].append({**document()["providers"][1], "name": "local  "})
    response = await call(env, "plan", twice)
    assert response.status_code == 400, response.text
    assert (response.json()["code"], response.json()["detail"]["path"]) == (
        "name_duplicate",
        "providers[2].name",
    )
    relabelled = document()
    relabelled["providers"][0]["keys"][1]["label"] = " primary"
    response = await call(env, "plan", relabelled)
    assert (response.json()["code"], response.json()["detail"]["path"]) == (
        "label_duplicate",
        "providers[0].keys[1].label",
    ), response.text

    # A label is what identifies a key in a document: a blank one is refused, named.
    blank = document()
    blank["providers"][1]["keys"][0]["label"] = "  "
    response = await call(env, "apply", blank)
    assert response.status_code == 400, response.text
    assert (response.json()["code"], response.json()["detail"]["path"]) == (
        "label_required",
        "providers[1].keys[0].label",
    )
    assert await export(env) == stored


async def test_keys_added_without_a_label_export_under_labels_that_round_trip(env: Env) -> None:
    secrets = {
        "primary": "sk-local-primary-0123456789",
        "unlabelled-1": "sk-local-unlabelled-1-0123456789",
        "real-key-1": "sk-local-real-key-1-0123456789",
        "unlabelled-2": "sk-local-unlabelled-2-0123456789",
    }
    provider = await add_provider(
        env, family="openai-compat", name="local", base_url=LOCAL_URL, api_key=secrets["primary"]
    )
    owner = env.auth(env.owner_token)
    keys_url = f"/api/v1/providers/{provider['id']}/keys"
    for name, label in (("unlabelled-1", None), ("real-key-1", "key-1"), ("unlabelled-2", None)):
        body = {"api_key": secrets[name]} | ({} if label is None else {"label": label})
        response = await env.client.post(keys_url, json=body, headers=owner)
        assert response.status_code == 201, response.text

    exported = await export(env)
    keys = exported["providers"][0]["keys"]
    # Generated labels skip the one a key really has; every reference is distinct.
    assert [k["label"] for k in keys] == ["primary", "key-2", "key-1", "key-3"]
    references = [k["api_key"].removeprefix("env:") for k in keys]
    assert references == [
        "CHATGATE_KEY_LOCAL_PRIMARY",
        "CHATGATE_KEY_LOCAL_KEY_2",
        "CHATGATE_KEY_LOCAL_KEY_1",
        "CHATGATE_KEY_LOCAL_KEY_3",
    ]
    by_reference = dict(zip(references, secrets.values(), strict=True))
    resolved = with_secrets(exported, by_reference)

    # On the same database the export finds every key: the only change is that the
    # unlabelled ones get their generated label for real.
    planned = await changes(env, "plan", resolved, prune=True)
    assert [(c["action"], c["name"], c["fields"]) for c in planned] == [
        ("update", "local/key-2", ["label"]),
        ("update", "local/key-3", ["label"]),
    ]
    assert await changes(env, "apply", resolved, prune=True) == planned
    assert await changes(env, "plan", resolved, prune=True) == []
    assert await export(env) == exported
    listed = (await env.client.get(keys_url, headers=owner)).json()
    assert [k["label"] for k in listed] == ["primary", "key-2", "key-1", "key-3"]

    # On an empty configuration it rebuilds the pool, and then has nothing left to do.
    await empty_configuration(env)
    created = await changes(env, "apply", resolved)
    assert [c["name"] for c in created if c["kind"] == "provider_key"] == [
        "local/key-1",
        "local/key-2",
        "local/key-3",
        "local/primary",
    ]
    assert await changes(env, "plan", resolved, prune=True) == []
    assert await export(env) == exported


async def test_keys_whose_names_map_to_one_variable_get_distinct_references(env: Env) -> None:
    doc = {
        "version": 1,
        "providers": [
            {
                "name": name,
                "family": "openai-compat",
                "base_url": LOCAL_URL,
                "keys": [{"label": label, "api_key": f"sk-{name}-{label}-0123456789"}],
            }
            for name, label in (("a-b", "c"), ("a", "b-c"))
        ],
    }
    await changes(env, "apply", doc)
    exported = await export(env)
    references = {
        (p["name"], k["label"]): k["api_key"] for p in exported["providers"] for k in p["keys"]
    }
    assert sorted(references.values()) == [
        "env:CHATGATE_KEY_A_B_C",
        "env:CHATGATE_KEY_A_B_C_2",
    ]
    secrets = {
        reference.removeprefix("env:"): f"sk-{name}-{label}-0123456789"
        for (name, label), reference in references.items()
    }
    resolved = with_secrets(exported, secrets)
    assert await changes(env, "plan", resolved, prune=True) == []
    await empty_configuration(env)
    await changes(env, "apply", resolved)
    assert await changes(env, "plan", resolved, prune=True) == []
    assert await export(env) == exported


def test_a_suffixed_reference_never_takes_another_keys_own_name() -> None:
    pairs = [("a-b", "c"), ("a", "b-c"), ("a-b", "c-2"), ("a", "b-c")]
    assert unique_references(pairs) == [
        "env:CHATGATE_KEY_A_B_C",
        "env:CHATGATE_KEY_A_B_C_3",
        "env:CHATGATE_KEY_A_B_C_2",
        "env:CHATGATE_KEY_A_B_C_4",
    ]
    assert unique_references(pairs) == unique_references(list(pairs))  # deterministic


def disabled_provider_document() -> dict[str, Any]:
    """A provider disabled with a model still bound to it (SPEC §3 keeps the binding), and
    one disabled with no key at all, which could not even be enabled as it stands."""
    return {
        "version": 1,
        "providers": [
            {
                "name": "paused",
                "family": "openai",
                "enabled": False,
                "keys": [{"label": "main", "api_key": "sk-paused-main-0123456789"}],
            },
            {"name": "keyless", "family": "anthropic", "enabled": False, "keys": []},
        ],
        "models": [
            {"name": "gpt", "model": "gpt-4o", "family": "openai", "provider": "paused",
             "context_limit": 8192},
            {"name": "claude", "model": "claude-3", "family": "anthropic", "provider": "keyless",
             "context_limit": 8192},
        ],
    }  # fmt: skip


async def test_a_model_bound_to_a_disabled_provider_round_trips(env: Env) -> None:
    doc = disabled_provider_document()
    created = await changes(env, "apply", doc)
    assert ("create", "model", "gpt", False) in summary(created)
    assert await changes(env, "apply", doc) == []
    exported = await export(env)
    assert sorted((m["name"], m["provider"]) for m in exported["models"]) == [
        ("claude", "keyless"),
        ("gpt", "paused"),
    ]
    assert [p["enabled"] for p in exported["providers"]] == [False, False]

    await empty_configuration(env)
    resolved = with_secrets(exported, {"CHATGATE_KEY_PAUSED_MAIN": "sk-paused-main-0123456789"})
    await changes(env, "apply", resolved)
    assert await changes(env, "plan", resolved, prune=True) == []
    assert await export(env) == exported

    # A model moving onto a provider the document declares disabled moves too.
    moved = copy.deepcopy(resolved)
    moved["models"].append(
        {"name": "moving", "model": "gpt-4o-mini", "family": "openai", "provider": None,
         "context_limit": 4096}
    )  # fmt: skip
    await changes(env, "apply", moved)
    moved["models"][-1]["provider"] = "paused"
    updated = await changes(env, "apply", moved)
    assert [(c["action"], c["name"], c["fields"]) for c in updated] == [
        ("update", "moving", ["provider"])
    ]

    # The API itself still refuses to bind a model to a disabled provider (SPEC §4), and
    # so does a document that does not declare the provider disabled itself.
    response = await env.client.post(
        "/api/v1/models",
        json={"name": "api", "model": "gpt-4o", "provider_config_id": await provider_id(env, "paused"),
              "context_limit": 8192},
        headers=env.auth(env.owner_token),
    )  # fmt: skip
    assert (response.status_code, response.json()["code"]) == (400, "provider_config_disabled")
    gpt = next(m for m in moved["models"] if m["name"] == "gpt")
    undeclared = {"version": 1, "models": [{**gpt, "name": "gpt-2"}]}
    response = await call(env, "apply", undeclared)
    assert (response.status_code, response.json()["code"]) == (400, "provider_config_disabled")
    assert response.json()["detail"]["path"] == "models[0].provider"


async def test_prune_refuses_to_remove_a_model_the_document_keeps(env: Env) -> None:
    await add_provider(env, family="anthropic", name="anthropic", api_key="sk-ant-0123456789ab")
    await add_model(
        env, name="claude", model="claude-3", family="anthropic", provider_config_id=None
    )
    await add_model(env, name="gpt", model="gpt-4o", family="openai", provider_config_id=None)
    before = await export(env)
    claude = next(m for m in before["models"] if m["name"] == "claude")
    gpt = next(m for m in before["models"] if m["name"] == "gpt")

    # The document keeps 'claude' unbound but drops the last anthropic provider: pruning it
    # would soft-delete 'claude', and the next apply would create it again.
    doc = {"version": 1, "models": [gpt, {**claude, "provider": None}]}
    for verb in ("plan", "apply"):
        response = await call(env, verb, doc, prune=True)
        assert response.status_code == 400, response.text
        body = response.json()
        assert (body["code"], body["detail"]["path"]) == ("model_pruned", "models[1]")
        assert body["message"] == (
            "models[1]: model 'claude' would be soft-deleted by pruning provider 'anthropic' "
            "(no usable anthropic provider config would be left): keep a provider config of "
            "family anthropic in the document or drop the model"
        )
    assert await export(env) == before

    # Dropping the model as well is a document that settles.
    settled = {"version": 1, "models": [gpt]}
    pruned = await changes(env, "apply", settled, prune=True)
    assert ("delete", "model", "claude", True) in summary(pruned)
    assert await changes(env, "apply", settled, prune=True) == []


async def test_an_option_error_names_the_option_under_options(env: Env) -> None:
    bad = document()
    bad["models"][0]["options"] = {"extra_headers": {"Authorization": "Bearer x"}}
    response = await call(env, "apply", bad)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["path"] == "models[0].options.extra_headers"

    await changes(env, "apply", document())
    bad["models"][0]["options"] = {"temperature": 5}
    response = await call(env, "plan", bad)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["path"] == "models[0].options.temperature"


async def test_an_auditors_plan_never_compares_secrets(env: Env) -> None:
    await changes(env, "apply", document())
    _, auditor = await env.new_user("auditor", "auditor")
    guess = document()
    guess["providers"][0]["keys"][0]["api_key"] = "sk-openai-a-guess-0123456789"

    as_admin = await changes(env, "plan", guess)
    assert [(c["name"], c["fields"]) for c in as_admin] == [("openai-a/primary", ["api_key"])]
    as_auditor = await call(env, "plan", guess, token=auditor)
    assert as_auditor.status_code == 200, as_auditor.text
    assert as_auditor.json()["changes"] == []
    # Whether the guess is right or wrong, the auditor sees the same answer.
    right = await call(env, "plan", document(), token=auditor)
    assert right.json() == as_auditor.json()
    assert SECRETS["openai-a", "primary"] not in as_auditor.text
