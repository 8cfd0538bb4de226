"""Storing a key races a disable, a policy change or a delete of its config (SPEC §2: the
config row is locked FOR SHARE before validating on PostgreSQL; SQLite writes are BEGIN
IMMEDIATE). Never a 500, never a key left on a config that is gone."""

from __future__ import annotations

from functools import partial
from typing import Any

from tests.support.helpers import Env, gather_all
from tests.support.userkeys import USER_KEY, add_provider, audit_entries, put_key, stored_user_keys

USER_KEYS_ONLY = {"central_api_key_enabled": False, "allow_user_api_key": True}
ROUNDS = 5


async def test_storing_a_key_while_the_config_is_deleted_is_200_or_404_and_leaves_no_key(
    env: Env,
) -> None:
    _, token = await env.new_user("mia")
    owner = env.auth(env.owner_token)
    for round_ in range(ROUNDS):
        provider = await add_provider(env, name=f"race-{round_}", **USER_KEYS_ONLY)
        put, delete = await gather_all(
            [
                partial(put_key, env, token, provider["id"]),
                partial(env.client.delete, f"/api/v1/providers/{provider['id']}", headers=owner),
            ]
        )
        assert put.status_code in (200, 404), put.text
        assert delete.status_code == 204, delete.text
    assert await stored_user_keys(env) == []


async def test_storing_a_key_while_the_config_is_disabled_or_closed_never_errors(
    env: Env,
) -> None:
    _, token = await env.new_user("mia")
    owner = env.auth(env.owner_token)
    changes: list[tuple[dict[str, Any], str]] = [
        ({"enabled": False}, "provider_config_disabled"),
        ({"allow_user_api_key": False}, "user_api_key_not_allowed"),
    ]
    for round_ in range(ROUNDS):
        for index, (change, refusal) in enumerate(changes):
            provider = await add_provider(
                env, name=f"race-{round_}-{index}", allow_user_api_key=True
            )
            put, patch = await gather_all(
                [
                    partial(put_key, env, token, provider["id"]),
                    partial(
                        env.client.patch,
                        f"/api/v1/providers/{provider['id']}",
                        json=change,
                        headers=owner,
                    ),
                ]
            )
            assert patch.status_code == 200, patch.text
            if put.status_code == 200:
                # Stored before the change committed: the change then made it unusable.
                assert put.json()["usable"] is True
            else:
                assert (put.status_code, put.json()["code"]) == (400, refusal), put.text


async def test_concurrent_puts_of_one_user_leave_one_key_and_audit_each_write(env: Env) -> None:
    provider = await add_provider(env, **USER_KEYS_ONLY)
    _, token = await env.new_user("mia")
    keys = [f"{USER_KEY}-{n}" for n in range(6)]
    responses = await gather_all([partial(put_key, env, token, provider["id"], k) for k in keys])
    assert [r.status_code for r in responses] == [200] * len(keys)
    assert len(await stored_user_keys(env)) == 1
    actions = [e.action for e in await audit_entries(env, "user_provider_key")]
    assert sorted(actions) == ["user_provider_key.create"] + ["user_provider_key.replace"] * 5
