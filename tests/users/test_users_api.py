"""Users and tokens through the API (SPEC §13, §14)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.app import create_app
from chatgate.db.tables import ApiToken, AuditEntry
from chatgate.ids import utcnow
from chatgate.startup import build_runtime
from tests.support.helpers import Env, settings_for


async def test_owner_token_reads_own_profile(env: Env) -> None:
    response = await env.client.get("/api/v1/users/me", headers=env.auth(env.owner_token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "admin"
    assert body["role"] == "owner"
    assert response.headers["x-chatgate-request-id"]


async def test_usernames_are_lower_cased_and_unique_case_insensitively(env: Env) -> None:
    owner = env.auth(env.owner_token)
    first = await env.client.post("/api/v1/users", json={"username": "  Alice "}, headers=owner)
    assert first.status_code == 201
    assert first.json()["username"] == "alice"
    second = await env.client.post("/api/v1/users", json={"username": "ALICE"}, headers=owner)
    assert second.status_code == 409
    assert second.json()["code"] == "username_taken"


TOKEN_FORMAT = re.compile(r"^cgt_[A-Za-z0-9_-]{43}$")


async def audit_rows(env: Env) -> list[AuditEntry]:
    async def work(session: AsyncSession) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.created_at, AuditEntry.id)
        return list((await session.execute(query)).scalars())

    return await env.runtime.db.read(work)


async def me(env: Env, token: str) -> httpx.Response:
    return await env.client.get("/api/v1/users/me", headers=env.auth(token))


async def test_tokens_are_cgt_plus_43_base64url_chars_stored_only_as_sha256(env: Env) -> None:
    _, token = await env.new_user("alice")
    assert TOKEN_FORMAT.fullmatch(token)
    assert TOKEN_FORMAT.fullmatch(env.owner_token)

    async def stored(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(ApiToken.token_hash))).scalars())

    hashes = await env.runtime.db.read(stored)
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    audit_text = json.dumps([(r.before, r.after) for r in await audit_rows(env)])
    assert token not in audit_text
    assert env.owner_token not in audit_text


async def test_a_minted_token_is_shown_once_and_never_listed(env: Env) -> None:
    created = await env.client.post(
        "/api/v1/users/me/tokens",
        json={"name": "laptop", "expires_in_days": 30},
        headers=env.auth(env.owner_token),
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "token", "expires_at"}
    assert body["name"] == "laptop"
    assert body["expires_at"] is not None
    listed = await env.client.get("/api/v1/users/me/tokens", headers=env.auth(env.owner_token))
    assert listed.status_code == 200
    assert body["token"] not in listed.text
    assert "token" not in listed.json()[0]
    assert "token_hash" not in listed.json()[0]
    assert [t["name"] for t in listed.json()] == ["bootstrap", "laptop"]
    assert (await me(env, body["token"])).json()["username"] == "admin"


async def test_unknown_and_malformed_tokens_are_401(env: Env) -> None:
    for header in (
        "Bearer cgt_" + "A" * 43,
        "Bearer " + "x" * 10_000,
        "Basic " + env.owner_token,
        env.owner_token,
        "Bearer",
    ):
        response = await env.client.get("/api/v1/users/me", headers={"authorization": header})
        assert response.status_code == 401, header[:20]
        assert response.json()["code"] == "unauthenticated"
    anonymous = await env.client.get("/api/v1/users/me")
    assert anonymous.status_code == 401


async def test_admin_creates_users_of_every_grantable_role_but_never_an_owner(env: Env) -> None:
    owner = env.auth(env.owner_token)
    for role in ("admin", "auditor", "member"):
        created = await env.client.post(
            "/api/v1/users",
            json={"username": f"u-{role}", "role": role, "display_name": f" {role} "},
            headers=owner,
        )
        assert created.status_code == 201
        assert created.json()["role"] == role
        assert created.json()["display_name"] == role
    owner_again = await env.client.post(
        "/api/v1/users", json={"username": "second-owner", "role": "owner"}, headers=owner
    )
    assert owner_again.status_code == 403
    assert owner_again.json()["code"] == "owner_protected"
    listed = await env.client.get("/api/v1/users", headers=owner)
    assert [u["username"] for u in listed.json()] == ["admin", "u-admin", "u-auditor", "u-member"]


async def test_invalid_usernames_are_400_naming_the_field(env: Env) -> None:
    for username in ("", "-dash-first", "has space", "ünïcode", "a" * 65, "semi;colon"):
        response = await env.client.post(
            "/api/v1/users", json={"username": username}, headers=env.auth(env.owner_token)
        )
        assert response.status_code in (400, 422), username
        assert "username" in response.text


async def test_owner_cannot_be_demoted_or_disabled_by_anyone(env: Env) -> None:
    owner_me = (await me(env, env.owner_token)).json()
    _, admin = await env.new_user("second-admin", "admin")
    for token in (admin, env.owner_token):  # owner_protected takes precedence over self
        for change in ({"role": "admin"}, {"disabled": True}, {"role": "member", "disabled": True}):
            response = await env.client.patch(
                f"/api/v1/users/{owner_me['id']}", json=change, headers=env.auth(token)
            )
            assert response.status_code == 403, change
            assert response.json()["code"] == "owner_protected"
    after = (await me(env, env.owner_token)).json()
    assert (after["role"], after["disabled"]) == ("owner", False)


async def test_nobody_demotes_or_disables_themselves(env: Env) -> None:
    _, admin = await env.new_user("second-admin", "admin")
    for change in ({"role": "member"}, {"disabled": True}):
        response = await env.client.patch("/api/v1/users/me", json=change, headers=env.auth(admin))
        assert response.status_code == 403
        assert response.json()["code"] == "self_change_forbidden"
    assert (await me(env, admin)).json()["role"] == "admin"
    renamed = await env.client.patch(
        "/api/v1/users/me", json={"display_name": "Me"}, headers=env.auth(admin)
    )
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Me"


async def test_owner_role_cannot_be_granted_through_the_api(env: Env) -> None:
    member_id, _ = await env.new_user("bob")
    response = await env.client.patch(
        f"/api/v1/users/{member_id}", json={"role": "owner"}, headers=env.auth(env.owner_token)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "owner_protected"
    bob = await env.client.get(f"/api/v1/users/{member_id}", headers=env.auth(env.owner_token))
    assert bob.json()["role"] == "member"


async def test_an_admin_granting_themselves_the_owner_role_is_owner_protected(env: Env) -> None:
    # A promotion, not a demotion: the owner rule (which takes precedence) is what refuses it.
    _, admin = await env.new_user("second-admin", "admin")
    for change in ({"role": "owner"}, {"role": "owner", "disabled": True}):
        response = await env.client.patch("/api/v1/users/me", json=change, headers=env.auth(admin))
        assert response.status_code == 403, change
        assert response.json()["code"] == "owner_protected"
    assert (await me(env, admin)).json()["role"] == "admin"


async def test_admin_changes_another_users_role_and_the_new_role_applies(env: Env) -> None:
    member_id, member = await env.new_user("bob")
    before = await env.client.get("/api/v1/users", headers=env.auth(member))
    assert before.status_code == 403
    promoted = await env.client.patch(
        f"/api/v1/users/{member_id}", json={"role": "auditor"}, headers=env.auth(env.owner_token)
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "auditor"
    after = await env.client.get("/api/v1/users", headers=env.auth(member))
    assert after.status_code == 200
    still_no_writes = await env.client.post(
        "/api/v1/users", json={"username": "carol"}, headers=env.auth(member)
    )
    assert still_no_writes.status_code == 403


async def test_null_role_or_disabled_is_422_and_absent_fields_stay_unchanged(env: Env) -> None:
    member_id, _ = await env.new_user("bob")
    owner = env.auth(env.owner_token)
    for change in ({"role": None}, {"disabled": None}):
        response = await env.client.patch(f"/api/v1/users/{member_id}", json=change, headers=owner)
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == next(iter(change))
    named = await env.client.patch(
        f"/api/v1/users/{member_id}", json={"display_name": "Bob"}, headers=owner
    )
    assert (named.json()["role"], named.json()["disabled"]) == ("member", False)
    cleared = await env.client.patch(
        f"/api/v1/users/{member_id}", json={"display_name": None}, headers=owner
    )
    assert cleared.json()["display_name"] == ""


async def test_a_disabled_users_tokens_stop_working_until_re_enabled(env: Env) -> None:
    member_id, member = await env.new_user("bob")
    owner = env.auth(env.owner_token)
    assert (await me(env, member)).status_code == 200
    disabled = await env.client.patch(
        f"/api/v1/users/{member_id}", json={"disabled": True}, headers=owner
    )
    assert disabled.json()["disabled"] is True
    assert (await me(env, member)).status_code == 401
    await env.client.patch(f"/api/v1/users/{member_id}", json={"disabled": False}, headers=owner)
    assert (await me(env, member)).status_code == 200


async def test_a_token_used_only_on_the_api_shows_when_it_was_last_used(env: Env) -> None:
    _, member = await env.new_user("bob")
    assert (await me(env, member)).status_code == 200
    await env.app.state.gateway.last_used.flush()  # the once-a-minute write, now
    listed = await env.client.get("/api/v1/users/me/tokens", headers=env.auth(member))
    (token,) = listed.json()
    assert token["last_used_at"] is not None
    assert token["last_used_at"] >= token["created_at"]


async def test_an_expired_token_stops_working_and_no_longer_counts_as_live(env: Env) -> None:
    member_id, member = await env.new_user("bob")

    async def expire_all(session: AsyncSession) -> None:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == uuid.UUID(member_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    await env.runtime.db.write(expire_all)
    assert (await me(env, member)).status_code == 401
    # With no live token left, an admin may mint one again (onboarding after expiry).
    again = await env.client.post(
        f"/api/v1/users/{member_id}/tokens",
        json={"name": "again"},
        headers=env.auth(env.owner_token),
    )
    assert again.status_code == 201
    assert (await me(env, again.json()["token"])).status_code == 200


async def test_admin_mints_for_another_user_only_while_they_have_no_live_token(env: Env) -> None:
    owner = env.auth(env.owner_token)
    created = await env.client.post("/api/v1/users", json={"username": "bob"}, headers=owner)
    bob_id = created.json()["id"]
    first = await env.client.post(
        f"/api/v1/users/{bob_id}/tokens", json={"name": "onboarding"}, headers=owner
    )
    assert first.status_code == 201
    second = await env.client.post(
        f"/api/v1/users/{bob_id}/tokens", json={"name": "sneaky"}, headers=owner
    )
    assert second.status_code == 409
    assert second.json()["code"] == "user_has_live_token"
    # Bob himself may have several tokens.
    own = await env.client.post(
        "/api/v1/users/me/tokens", json={"name": "phone"}, headers=env.auth(first.json()["token"])
    )
    assert own.status_code == 201
    # After revoking Bob's tokens (which Bob notices: they stop working), minting works again.
    for token_id in (first.json()["id"], own.json()["id"]):
        revoked = await env.client.delete(f"/api/v1/tokens/{token_id}", headers=owner)
        assert revoked.status_code == 204
    assert (await me(env, first.json()["token"])).status_code == 401
    third = await env.client.post(
        f"/api/v1/users/{bob_id}/tokens", json={"name": "reissued"}, headers=owner
    )
    assert third.status_code == 201


async def test_token_list_shows_who_created_each_token(env: Env) -> None:
    owner_id = (await me(env, env.owner_token)).json()["id"]
    bob_id, bob = await env.new_user("bob")  # minted by the owner
    await env.client.post("/api/v1/users/me/tokens", json={"name": "own"}, headers=env.auth(bob))
    listed = await env.client.get(f"/api/v1/users/{bob_id}/tokens", headers=env.auth(bob))
    assert [(t["name"], t["created_by"]) for t in listed.json()] == [
        ("t", owner_id),
        ("own", bob_id),
    ]
    as_admin = await env.client.get(
        f"/api/v1/users/{bob_id}/tokens", headers=env.auth(env.owner_token)
    )
    assert as_admin.json() == listed.json()


async def test_members_cannot_touch_other_users_or_their_tokens(env: Env) -> None:
    alice_id, alice = await env.new_user("alice")
    _, bob = await env.new_user("bob")
    alice_tokens = await env.client.get("/api/v1/users/me/tokens", headers=env.auth(alice))
    token_id = alice_tokens.json()[0]["id"]
    bob_h = env.auth(bob)
    checks = [
        await env.client.get(f"/api/v1/users/{alice_id}", headers=bob_h),
        await env.client.patch(f"/api/v1/users/{alice_id}", json={"disabled": True}, headers=bob_h),
        await env.client.get(f"/api/v1/users/{alice_id}/tokens", headers=bob_h),
        await env.client.post(
            f"/api/v1/users/{alice_id}/tokens", json={"name": "x"}, headers=bob_h
        ),
        await env.client.delete(f"/api/v1/tokens/{token_id}", headers=bob_h),
    ]
    assert [r.status_code for r in checks] == [403, 403, 403, 403, 403]
    assert (await me(env, alice)).status_code == 200


async def test_auditors_read_users_but_change_nothing(env: Env) -> None:
    member_id, _ = await env.new_user("bob")
    _, auditor = await env.new_user("eve", "auditor")
    h = env.auth(auditor)
    assert (await env.client.get("/api/v1/users", headers=h)).status_code == 200
    assert (await env.client.get(f"/api/v1/users/{member_id}", headers=h)).status_code == 200
    assert (await env.client.get(f"/api/v1/users/{member_id}/tokens", headers=h)).status_code == 403
    patch = await env.client.patch(f"/api/v1/users/{member_id}", json={"role": "admin"}, headers=h)
    assert patch.status_code == 403
    assert patch.json()["code"] == "forbidden"


async def test_unknown_and_non_uuid_user_ids_are_404(env: Env) -> None:
    owner = env.auth(env.owner_token)
    for user_id in ("not-a-uuid", str(uuid.uuid4()), "ME", "%20"):
        response = await env.client.get(f"/api/v1/users/{user_id}", headers=owner)
        assert response.status_code == 404, user_id
        assert response.json()["code"] == "not_found"
    missing = await env.client.post(
        f"/api/v1/users/{uuid.uuid4()}/tokens", json={"name": "x"}, headers=owner
    )
    assert missing.status_code == 404
    gone = await env.client.delete(f"/api/v1/tokens/{uuid.uuid4()}", headers=owner)
    assert gone.status_code == 404
    for token_id in ("not-a-uuid", "12345", "%20"):
        malformed = await env.client.delete(f"/api/v1/tokens/{token_id}", headers=owner)
        assert malformed.status_code == 404, token_id
        assert malformed.json()["code"] == "not_found"


async def test_a_role_outside_the_list_is_400_role_invalid_and_changes_nothing(env: Env) -> None:
    member_id, member = await env.new_user("bob")
    owner = env.auth(env.owner_token)
    for role in ("emperor", "Admin", "", "owner "):
        created = await env.client.post(
            "/api/v1/users", json={"username": "eve", "role": role}, headers=owner
        )
        assert created.status_code == 400, created.text
        assert created.json()["code"] == "role_invalid"
        assert created.json()["detail"] == {"field": "role"}
        assert "member" in created.json()["message"]
        patched = await env.client.patch(
            f"/api/v1/users/{member_id}", json={"role": role}, headers=owner
        )
        assert patched.status_code == 400, patched.text
        assert patched.json()["code"] == "role_invalid"
    users = await env.client.get("/api/v1/users", headers=owner)
    assert [(u["username"], u["role"]) for u in users.json()] == [
        ("admin", "owner"),
        ("bob", "member"),
    ]
    # Still a member: no admin reads.
    assert (await env.client.get("/api/v1/users", headers=env.auth(member))).status_code == 403


async def test_expires_in_days_outside_1_to_3650_is_400_and_mints_nothing(env: Env) -> None:
    headers = env.auth(env.owner_token)
    for days in (0, -3, 3651, 10**30):
        response = await env.client.post(
            "/api/v1/users/me/tokens", json={"name": "t", "expires_in_days": days}, headers=headers
        )
        assert response.status_code == 400, (days, response.text)
        assert response.json()["code"] == "expires_in_days_invalid"
        assert response.json()["detail"] == {"field": "expires_in_days"}
    listed = await env.client.get("/api/v1/users/me/tokens", headers=headers)
    assert [t["name"] for t in listed.json()] == ["bootstrap"]
    # 30.0 is the integer 30 in JSON (and in the OpenAPI document's JSON Schema); 1.5 is not.
    for days in (1, 3650, 30.0):
        minted = await env.client.post(
            "/api/v1/users/me/tokens", json={"name": "t", "expires_in_days": days}, headers=headers
        )
        assert minted.status_code == 201, minted.text
        lifetime = datetime.fromisoformat(minted.json()["expires_at"]) - utcnow()
        assert timedelta(days=days) - timedelta(minutes=1) < lifetime <= timedelta(days=days)


async def test_bootstrap_token_from_the_environment_becomes_the_owners_token(
    scratch_database_url: str,
) -> None:
    chosen = "automation-" + "z" * 30
    runtime, token = await build_runtime(settings_for(scratch_database_url, bootstrap_token=chosen))
    try:
        assert token == chosen
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(
                "/api/v1/users/me", headers={"authorization": f"Bearer {chosen}"}
            )
        assert (response.json()["username"], response.json()["role"]) == ("admin", "owner")
    finally:
        await runtime.db.dispose()
