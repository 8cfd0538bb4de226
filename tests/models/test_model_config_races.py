"""Concurrent model-config requests on PostgreSQL hold the invariants (SPEC §2, §4)."""

from __future__ import annotations

from collections import Counter

from tests.support.helpers import gather_all
from tests.support.providers import Api, live_defaults, pg_only

N = 30


@pg_only
async def test_concurrent_creates_with_one_name_leave_exactly_one_and_answer_409(
    pg_api: Api,
) -> None:
    api = pg_api
    responses = await gather_all(
        [lambda: api.create_model(family="openai", model="gpt-4o") for _ in range(N)]
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"name_taken"}
    live = [m for m in await api.all_models() if not m.deleted]
    assert len(live) == 1
    assert live[0].is_default is True


@pg_only
async def test_concurrent_default_creates_and_set_default_leave_exactly_one_live_default(
    pg_api: Api,
) -> None:
    api = pg_api
    models = [await api.model(family="openai", model=f"gpt-{i}") for i in range(N)]
    calls = [lambda m=m: api.patch_model(m["id"], is_default=True) for m in models]
    calls += [
        lambda i=i: api.create_model(family="openai", model=f"new-{i}", is_default=True)
        for i in range(5)
    ]

    responses = await gather_all(calls)

    assert [r.status_code for r in responses] == [200] * N + [201] * 5
    assert len(live_defaults(await api.all_models())) == 1


@pg_only
async def test_concurrent_undefault_and_delete_keep_exactly_one_live_default(
    pg_api: Api,
) -> None:
    api = pg_api
    models = [await api.model(family="openai", model=f"gpt-{i:02d}") for i in range(N)]
    calls = [lambda m=m: api.patch_model(m["id"], is_default=False) for m in models[::2]]
    calls += [lambda m=m: api.delete_model(m["id"]) for m in models[1::2]]
    calls += [
        lambda m=m: api.patch_model(m["id"], is_default=True) for m in models[::6]
    ]  # never deleted ones

    responses = await gather_all(calls)

    assert {r.status_code for r in responses} <= {200, 204}
    assert len(live_defaults(await api.all_models())) == 1


@pg_only
async def test_concurrent_patches_of_one_model_lose_no_field(pg_api: Api) -> None:
    api = pg_api
    model = await api.model(family="openai", model="gpt-4o", name="base")
    patches = [
        {"display_name": "Display"},
        {"context_limit": 1234},
        {"compression_threshold": 42},
        {"options": {"temperature": 0.5}},
        {"model": "gpt-4o-2024"},
        {"enabled": False},
    ]
    calls = [
        lambda body=patches[i % len(patches)]: api.patch_model(model["id"], **body)
        for i in range(N)
    ]

    responses = await gather_all(calls)

    assert [r.status_code for r in responses] == [200] * N
    final = (await api.get_model(model["id"])).json()
    assert final["display_name"] == "Display"
    assert final["context_limit"] == 1234
    assert final["compression_threshold"] == 42
    assert final["options"] == {"temperature": 0.5}
    assert final["model"] == "gpt-4o-2024"
    assert final["enabled"] is False
    assert final["name"] == "base"
