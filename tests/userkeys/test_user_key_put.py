"""PUT /api/v1/me/provider-keys/{id}: checks in the order of SPEC §6, sealing and audit."""

from __future__ import annotations

import uuid

import pytest

from chatgate.crypto.keyring import KeyRingError
from chatgate.db.sealed import user_key_context
from chatgate.ids import new_id
from tests.support.helpers import Env
from tests.support.userkeys import (
    USER_KEY,
    add_provider,
    audit_entries,
    my_keys,
    patch_provider,
    put_key,
    stored_user_keys,
)

USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}


async def test_a_member_stores_a_key_and_gets_the_list_entry_back_without_the_key(
    env: Env,
) -> None:
    provider = await add_provider(env, name="byok", display_name="Team BYOK", **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    response = await put_key(env, token, provider["id"])
    assert response.status_code == 200, response.text
    entry = response.json()
    assert entry == {
        "provider_config_id": provider["id"],
        "family": "openai",
        "name": "byok",
        "display_name": "Team BYOK",
        "has_user_api_key": True,
        "api_key_hint": USER_KEY[-4:],
        "has_central_api_key_fallback": False,
        "usable": True,
    }
    assert await my_keys(env, token) == [entry]
    assert USER_KEY not in response.text


async def test_the_key_is_stored_trimmed_and_sealed_to_its_user_and_config(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    user_id, token = await env.new_user("mia")
    other_id, _ = await env.new_user("noah")
    response = await put_key(env, token, provider["id"], f"  {USER_KEY}\n")
    assert response.status_code == 200, response.text
    [row] = await stored_user_keys(env)
    keyring = env.runtime.keyring
    config_id = uuid.UUID(provider["id"])
    assert keyring.open(row.secret, user_key_context(uuid.UUID(user_id), config_id)) == USER_KEY
    assert row.secret_hint == USER_KEY[-4:]
    # Bound to the row: the same ciphertext does not open as another user's key.
    with pytest.raises(KeyRingError):
        keyring.open(row.secret, user_key_context(uuid.UUID(other_id), config_id))


async def test_a_key_shorter_than_16_characters_gets_no_hint(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    response = await put_key(env, token, provider["id"], "sk-short-123456")  # 15 characters
    assert response.status_code == 200, response.text
    assert response.json()["api_key_hint"] is None
    [row] = await stored_user_keys(env)
    assert row.secret_hint is None


async def test_putting_again_replaces_the_key_and_keeps_one_row(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    user_id, token = await env.new_user("mia")
    first = await put_key(env, token, provider["id"], USER_KEY)
    second = await put_key(env, token, provider["id"], "sk-replacement-key-000000009999")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["api_key_hint"] == "9999"
    [row] = await stored_user_keys(env)
    opened = env.runtime.keyring.open(
        row.secret, user_key_context(uuid.UUID(user_id), uuid.UUID(provider["id"]))
    )
    assert opened == "sk-replacement-key-000000009999"
    assert row.updated_at > row.created_at


async def test_an_unknown_config_is_404_before_anything_else(env: Env) -> None:
    _, token = await env.new_user("mia")
    for config_id in (str(new_id()), "not-a-uuid"):
        response = await put_key(env, token, config_id, "")  # the bad key is not looked at
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert await stored_user_keys(env) == []


async def test_a_disabled_config_is_400_provider_config_disabled(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    await patch_provider(env, provider["id"], enabled=False)
    _, token = await env.new_user("mia")
    for key in (USER_KEY, ""):  # the config is checked before the key
        response = await put_key(env, token, provider["id"], key)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "provider_config_disabled"
    assert await stored_user_keys(env) == []


async def test_a_config_that_does_not_allow_user_keys_is_400_user_api_key_not_allowed(
    env: Env,
) -> None:
    provider = await add_provider(env)  # central key only
    _, token = await env.new_user("mia")
    for key in (USER_KEY, ""):  # the policy is checked before the key
        response = await put_key(env, token, provider["id"], key)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "user_api_key_not_allowed"
    assert await stored_user_keys(env) == []


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("x" * 10_241, "longer than"),
        ("é" * 5_121, "longer than"),  # 10,242 bytes in 5,121 characters
        ("sk-abc\x00def-0123456789", "control characters"),
        ("sk-abc\ndef-0123456789", "control characters"),
    ],
)
async def test_an_invalid_key_is_400_api_key_invalid(env: Env, key: str, problem: str) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    response = await put_key(env, token, provider["id"], key)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "api_key_invalid"
    assert problem in body["message"]
    assert body["detail"] == {"field": "api_key"}
    assert await stored_user_keys(env) == []


async def test_a_key_of_exactly_10240_bytes_is_accepted(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    response = await put_key(env, token, provider["id"], "k" * 10_240)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", [{}, {"api_key": None}, {"api_key": 42}, {"api_key": "k", "x": 1}])
async def test_a_body_of_the_wrong_shape_is_422(env: Env, body: dict[str, object]) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    response = await env.client.put(
        f"/api/v1/me/provider-keys/{provider['id']}", json=body, headers=env.auth(token)
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_storing_needs_a_token(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    response = await env.client.put(
        f"/api/v1/me/provider-keys/{provider['id']}", json={"api_key": USER_KEY}
    )
    assert response.status_code == 401


async def test_every_key_change_is_audited_with_the_secret_redacted(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    user_id, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"], USER_KEY)).status_code == 200
    replacement = "sk-second-key-0000000000000042"
    assert (await put_key(env, token, provider["id"], replacement)).status_code == 200
    deleted = await env.client.delete(
        f"/api/v1/me/provider-keys/{provider['id']}", headers=env.auth(token)
    )
    assert deleted.status_code == 204
    entries = await audit_entries(env, "user_provider_key")
    target = f"{user_id}:{provider['id']}"
    assert [(e.action, e.target_id, str(e.actor_id), e.source) for e in entries] == [
        ("user_provider_key.create", target, user_id, "api"),
        ("user_provider_key.replace", target, user_id, "api"),
        ("user_provider_key.delete", target, user_id, "api"),
    ]
    view = {"user_id": user_id, "provider_config_id": provider["id"], "api_key": "<redacted>"}
    assert [(e.before, e.after) for e in entries] == [
        (None, view),
        (view, view),
        (view, None),
    ]
    for entry in entries:
        text = repr((entry.before, entry.after))
        assert USER_KEY not in text
        assert replacement not in text
        assert USER_KEY[-4:] not in text  # not even the hint: admins read the audit log


async def test_a_rejected_key_changes_nothing_and_audits_nothing(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    assert (await put_key(env, token, provider["id"], USER_KEY)).status_code == 200
    assert (await put_key(env, token, provider["id"], "")).status_code == 400
    assert len(await audit_entries(env, "user_provider_key")) == 1
    assert (await my_keys(env, token))[0]["api_key_hint"] == USER_KEY[-4:]


async def test_a_replica_whose_primary_encryption_key_is_revoked_refuses_with_503(
    env: Env,
) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    keyring = env.runtime.keyring
    keyring.revoked = frozenset({keyring.primary_digest})
    response = await put_key(env, token, provider["id"])
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "encryption_key_revoked"
    assert await stored_user_keys(env) == []
