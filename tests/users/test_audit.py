"""Changes to users and tokens are audited in the same transaction (SPEC §2 audit_log)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Role
from chatgate.db.tables import AuditEntry, User
from chatgate.users import service
from chatgate.users.schemas import UserCreate
from tests.support.helpers import Env


async def audit_rows(env: Env) -> list[AuditEntry]:
    async def work(session: AsyncSession) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.created_at, AuditEntry.id)
        return list((await session.execute(query)).scalars())

    return await env.runtime.db.read(work)


async def count_users(env: Env) -> int:
    return int(await env.runtime.db.read(lambda s: s.scalar(select(func.count(User.id)))) or 0)


async def test_user_and_token_changes_record_actor_source_action_and_target(env: Env) -> None:
    owner = env.auth(env.owner_token)
    owner_id = uuid.UUID((await env.client.get("/api/v1/users/me", headers=owner)).json()["id"])
    before = len(await audit_rows(env))
    created = await env.client.post(
        "/api/v1/users", json={"username": "bob", "role": "member"}, headers=owner
    )
    bob_id = created.json()["id"]
    minted = await env.client.post(
        f"/api/v1/users/{bob_id}/tokens", json={"name": "laptop"}, headers=owner
    )
    await env.client.patch(f"/api/v1/users/{bob_id}", json={"role": "auditor"}, headers=owner)
    await env.client.delete(f"/api/v1/tokens/{minted.json()['id']}", headers=owner)

    rows = (await audit_rows(env))[before:]
    assert [(r.action, r.target_type, r.target_id) for r in rows] == [
        ("user.create", "user", bob_id),
        ("token.create", "api_token", minted.json()["id"]),
        ("user.update", "user", bob_id),
        ("token.delete", "api_token", minted.json()["id"]),
    ]
    assert {(r.actor_id, r.source) for r in rows} == {(owner_id, "api")}
    assert rows[0].after is not None
    assert rows[0].after["username"] == "bob"
    assert rows[1].after == {"user_id": bob_id, "name": "laptop", "expires_at": None}
    assert rows[2].before is not None
    assert rows[2].after is not None
    assert (rows[2].before["role"], rows[2].after["role"]) == ("member", "auditor")
    assert minted.json()["token"] not in json.dumps([(r.before, r.after) for r in rows])


async def test_the_first_owner_is_created_by_the_system_and_audited(env: Env) -> None:
    rows = await audit_rows(env)
    assert [(r.action, r.source, r.actor_id) for r in rows] == [
        ("user.create", "system", None),
        ("token.create", "system", None),
    ]


async def test_refused_changes_leave_no_audit_row(env: Env) -> None:
    owner = env.auth(env.owner_token)
    owner_id = (await env.client.get("/api/v1/users/me", headers=owner)).json()["id"]
    bob_id, bob = await env.new_user("bob")
    before = await audit_rows(env)
    refused = [
        await env.client.patch(f"/api/v1/users/{owner_id}", json={"disabled": True}, headers=owner),
        await env.client.post("/api/v1/users", json={"username": "BOB"}, headers=owner),
        await env.client.post(f"/api/v1/users/{bob_id}/tokens", json={"name": "x"}, headers=owner),
        await env.client.patch(
            f"/api/v1/users/{owner_id}", json={"role": "admin"}, headers=env.auth(bob)
        ),
        await env.client.post("/api/v1/users", json={"username": "x", "bogus": 1}, headers=owner),
    ]
    assert [r.status_code for r in refused] == [403, 409, 409, 403, 422]
    assert [r.id for r in await audit_rows(env)] == [r.id for r in before]


async def test_a_change_that_fails_after_auditing_leaves_neither_change_nor_audit_row(
    env: Env,
) -> None:
    users_before = await count_users(env)
    audit_before = len(await audit_rows(env))
    admin = Actor(user_id=None, role=Role.ADMIN, username="test", source="api")

    class LaterStepFailed(Exception):
        pass

    async def create_then_fail(session: AsyncSession) -> None:
        await service.create_user(session, admin, UserCreate(username="carol"))
        raise LaterStepFailed

    with pytest.raises(LaterStepFailed):
        await env.runtime.db.write(create_then_fail)
    assert await count_users(env) == users_before
    assert len(await audit_rows(env)) == audit_before


async def test_a_no_op_update_writes_no_audit_row(env: Env) -> None:
    bob_id, _ = await env.new_user("bob")
    before = len(await audit_rows(env))
    same = await env.client.patch(
        f"/api/v1/users/{bob_id}", json={"role": "member"}, headers=env.auth(env.owner_token)
    )
    assert same.status_code == 200
    assert len(await audit_rows(env)) == before
