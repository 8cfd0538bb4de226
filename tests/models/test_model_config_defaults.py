"""Exactly one live default model (SPEC §4)."""

from __future__ import annotations

from tests.support.providers import Api, live_defaults


async def default_ids(api: Api) -> list[str]:
    return [str(m.id) for m in live_defaults(await api.all_models())]


async def test_the_first_live_model_becomes_the_default(api: Api) -> None:
    first = await api.model(family="openai", model="gpt-4o")
    second = await api.model(family="openai", model="gpt-4o-mini")
    assert first["is_default"] is True
    assert second["is_default"] is False
    assert await default_ids(api) == [first["id"]]


async def test_creating_with_is_default_moves_the_default(api: Api) -> None:
    await api.model(family="openai", model="gpt-4o")
    new = await api.model(family="openai", model="gpt-5", is_default=True)
    assert await default_ids(api) == [new["id"]]


async def test_setting_is_default_clears_the_previous_default(api: Api) -> None:
    await api.model(family="openai", model="gpt-4o")
    other = await api.model(family="openai", model="gpt-5")
    response = await api.patch_model(other["id"], is_default=True)
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert await default_ids(api) == [other["id"]]
    [cleared] = await api.audit("model_config.default_clear")
    assert cleared.after == {"is_default": False}


async def test_undefaulting_promotes_enabled_models_first_in_family_then_model_order(
    api: Api,
) -> None:
    default = await api.model(family="anthropic", model="a-model")
    await api.model(family="anthropic", model="claude-disabled", enabled=False)
    await api.model(family="openai", model="b-model")
    expected = await api.model(family="google", model="z-model")
    await api.model(family="google", model="zz-model")

    response = await api.patch_model(default["id"], is_default=False)

    assert response.status_code == 200
    assert response.json()["is_default"] is False
    assert await default_ids(api) == [expected["id"]]


async def test_promotion_prefers_the_most_recently_updated_of_equal_models(api: Api) -> None:
    default = await api.model(family="openai", model="gpt-4o", name="main")
    older = await api.model(family="openai", model="gpt-4o-mini", name="older")
    newer = await api.model(family="openai", model="gpt-4o-mini", name="newer")
    await api.patch_model(older["id"], display_name="touched later")

    await api.patch_model(default["id"], is_default=False)

    assert newer["id"] != older["id"]
    assert await default_ids(api) == [older["id"]]


async def test_disabled_models_are_promoted_only_when_no_enabled_model_is_left(api: Api) -> None:
    default = await api.model(family="openai", model="gpt-4o")
    disabled = await api.model(family="openai", model="gpt-3", enabled=False)
    assert (await api.delete_model(default["id"])).status_code == 204
    assert await default_ids(api) == [disabled["id"]]


async def test_undefaulting_the_only_live_model_is_accepted_and_it_stays_the_default(
    api: Api,
) -> None:
    only = await api.model(family="openai", model="gpt-4o")
    response = await api.patch_model(only["id"], is_default=False)
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert await default_ids(api) == [only["id"]]


async def test_deleting_the_default_promotes_another_and_the_last_delete_leaves_none(
    api: Api,
) -> None:
    default = await api.model(family="openai", model="gpt-4o")
    other = await api.model(family="openai", model="gpt-5")
    assert (await api.delete_model(default["id"])).status_code == 204
    assert await default_ids(api) == [other["id"]]
    assert (await api.delete_model(other["id"])).status_code == 204
    assert await default_ids(api) == []
    again = await api.model(family="openai", model="gpt-6")
    assert again["is_default"] is True


async def test_delete_is_soft_and_frees_the_name(api: Api) -> None:
    model = await api.model(family="openai", model="gpt-4o", name="chat")
    assert (await api.delete_model(model["id"])).status_code == 204

    row = await api.model_row(model["id"])
    assert row.deleted is True
    assert row.deleted_at is not None
    assert str(row.updated_by) == str(row.created_by)
    assert (await api.get_model(model["id"])).status_code == 404
    assert (await api.delete_model(model["id"])).status_code == 404
    assert model["id"] not in [m["id"] for m in await api.list_models()]
    reused = await api.create_model(family="openai", model="gpt-4o", name="chat")
    assert reused.status_code == 201


async def test_models_are_listed_by_family_then_name(api: Api) -> None:
    await api.model(family="openai", model="m", name="b")
    await api.model(family="anthropic", model="m", name="z")
    await api.model(family="openai", model="m", name="a")
    listed = [(m["family"], m["name"]) for m in await api.list_models()]
    assert listed == [("anthropic", "z"), ("openai", "a"), ("openai", "b")]
