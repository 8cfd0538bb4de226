"""Concurrent provider-config requests on PostgreSQL hold the invariants (SPEC §2)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from tests.support.helpers import gather_all
from tests.support.providers import Api, pg_only

N = 30


@pg_only
async def test_concurrent_creates_with_one_name_leave_exactly_one_and_answer_409(
    pg_api: Api,
) -> None:
    api = pg_api
    responses = await gather_all(
        [
            lambda i=i: api.create_provider(
                "openai", name="shared", api_key=f"sk-{i:04d}-0123456789ab"
            )
            for i in range(N)
        ]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"name_taken"}
    assert [p["name"] for p in await api.list_providers()] == ["shared"]


@pg_only
async def test_concurrent_creates_without_a_name_all_get_distinct_generated_names(
    pg_api: Api,
) -> None:
    api = pg_api
    responses = await gather_all(
        [lambda: api.create_provider("openai", api_key="sk-0123456789abcdef") for _ in range(N)]
    )
    assert [r.status_code for r in responses] == [201] * N
    names = sorted(r.json()["name"] for r in responses)
    assert names == sorted(["openai"] + [f"openai-{n}" for n in range(2, N + 1)])


@pg_only
async def test_delete_racing_bound_model_creates_never_leaves_a_model_bound_to_a_missing_config(
    pg_api: Api,
) -> None:
    api = pg_api
    doomed = await api.provider("openai")
    await api.provider("google")
    calls = [
        lambda i=i: api.create_model(provider_config_id=doomed["id"], model=f"gpt-{i}")
        for i in range(N)
    ]
    calls.insert(N // 2, lambda: api.delete_provider(doomed["id"]))

    responses = await gather_all(calls)

    assert responses[N // 2].status_code == 204
    creates = [r for i, r in enumerate(responses) if i != N // 2]
    assert {r.status_code for r in creates} <= {201, 400}
    assert {r.json()["code"] for r in creates if r.status_code == 400} <= {
        "provider_config_not_found"
    }
    live_bound = [m for m in await api.all_models() if not m.deleted and m.provider_config_id]
    assert live_bound == []


@pg_only
async def test_disable_racing_bound_and_auto_bound_creates_never_binds_a_disabled_config(
    pg_api: Api,
) -> None:
    api = pg_api
    target = await api.provider("openai")
    calls = [
        (lambda i=i: api.create_model(provider_config_id=target["id"], model=f"m-{i}"))
        if i % 2
        else (lambda i=i: api.create_model(family="openai", model=f"m-{i}"))
        for i in range(N)
    ]
    calls.insert(N // 2, lambda: api.patch_provider(target["id"], enabled=False))

    responses = await gather_all(calls)

    assert responses[N // 2].status_code == 200
    creates = [r for i, r in enumerate(responses) if i != N // 2]
    assert {r.status_code for r in creates} <= {201, 400}
    provider = (await api.get_provider(target["id"])).json()
    assert provider["enabled"] is False
    # Every model bound to it was bound before the disable committed: the disable waited for
    # their FOR SHARE locks, and later binds re-validated after acquiring theirs.
    disabled_at = datetime.fromisoformat(provider["updated_at"])
    for model in await api.all_models():
        if model.provider_config_id is not None:
            assert model.created_at < disabled_at
    rejected = {r.json()["code"] for r in creates if r.status_code == 400}
    assert rejected <= {"provider_config_disabled"}
