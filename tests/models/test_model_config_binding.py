"""Binding model configs to provider configs (SPEC §4)."""

from __future__ import annotations

import pytest

from tests.support.providers import Api


async def test_create_without_provider_config_id_auto_binds_to_the_oldest_enabled_config(
    api: Api,
) -> None:
    oldest_disabled = await api.provider("openai", enabled=False)
    oldest_enabled = await api.provider("openai")
    await api.provider("openai")

    model = await api.model(family="openai", model="gpt-4o")

    assert model["provider_config_id"] == oldest_enabled["id"]
    assert model["provider_config_id"] != oldest_disabled["id"]


async def test_create_without_any_enabled_config_stays_unbound(api: Api) -> None:
    await api.provider("openai", enabled=False)
    model = await api.model(family="openai", model="gpt-4o")
    assert model["provider_config_id"] is None


async def test_create_with_provider_config_id_null_stays_unbound(api: Api) -> None:
    await api.provider("openai")
    model = await api.model(family="openai", provider_config_id=None, model="gpt-4o")
    assert model["provider_config_id"] is None


async def test_family_is_derived_from_the_provider_config(api: Api) -> None:
    provider = await api.provider("anthropic")
    model = await api.model(provider_config_id=provider["id"], model="claude-sonnet")
    assert model["family"] == "anthropic"
    assert model["name"] == "claude-sonnet"


async def test_rebind_to_another_config_of_the_family(api: Api) -> None:
    first = await api.provider("openai")
    second = await api.provider("openai")
    model = await api.model(provider_config_id=first["id"], model="gpt-4o")

    response = await api.patch_model(model["id"], provider_config_id=second["id"])

    assert response.status_code == 200, response.text
    assert response.json()["provider_config_id"] == second["id"]


async def test_unbind_with_null(api: Api) -> None:
    provider = await api.provider("openai")
    model = await api.model(provider_config_id=provider["id"], model="gpt-4o")
    response = await api.patch_model(model["id"], provider_config_id=None)
    assert response.status_code == 200
    assert response.json()["provider_config_id"] is None


async def test_absent_provider_config_id_keeps_the_binding(api: Api) -> None:
    first = await api.provider("openai")
    second = await api.provider("openai")
    model = await api.model(provider_config_id=second["id"], model="gpt-4o")
    # Even once its config is disabled, an unrelated PATCH neither fails nor rebinds.
    assert (await api.patch_provider(second["id"], enabled=False)).status_code == 200

    response = await api.patch_model(model["id"], display_name="GPT-4o")

    assert response.status_code == 200, response.text
    assert response.json()["provider_config_id"] == second["id"]
    assert response.json()["provider_config_id"] != first["id"]


async def test_binding_to_a_disabled_config_is_rejected(api: Api) -> None:
    enabled = await api.provider("openai")
    disabled = await api.provider("openai", enabled=False)
    on_create = await api.create_model(provider_config_id=disabled["id"], model="gpt-4o")
    model = await api.model(provider_config_id=enabled["id"], model="gpt-4o")
    on_patch = await api.patch_model(model["id"], provider_config_id=disabled["id"])
    for response in (on_create, on_patch):
        assert response.status_code == 400
        assert response.json()["code"] == "provider_config_disabled"


async def test_binding_to_another_familys_config_is_rejected(api: Api) -> None:
    anthropic = await api.provider("anthropic")
    openai = await api.provider("openai")
    on_create = await api.create_model(
        family="openai", provider_config_id=anthropic["id"], model="gpt-4o"
    )
    model = await api.model(provider_config_id=openai["id"], model="gpt-4o")
    on_patch = await api.patch_model(model["id"], provider_config_id=anthropic["id"])
    for response in (on_create, on_patch):
        assert response.status_code == 400
        assert response.json()["code"] == "provider_config_family_mismatch"


@pytest.mark.parametrize(
    "provider_config_id", ["01900000-0000-7000-8000-000000000000", "not-a-uuid", ""]
)
async def test_binding_to_a_missing_or_malformed_config_id_is_provider_config_not_found(
    api: Api, provider_config_id: str
) -> None:
    # A string that is not a UUID names no config, exactly like an unknown id: a rule's
    # 400 naming the field (SPEC §3), not a 422.
    response = await api.create_model(provider_config_id=provider_config_id, model="gpt-4o")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "provider_config_not_found"
    assert response.json()["detail"] == {"field": "provider_config_id"}
    model = await api.model(family="openai", model="gpt-4o")
    patched = await api.patch_model(model["id"], provider_config_id=provider_config_id)
    assert (patched.status_code, patched.json()["code"]) == (400, "provider_config_not_found")
    assert (await api.get_model(model["id"])).json()["provider_config_id"] == model[
        "provider_config_id"
    ]


async def test_neither_family_nor_provider_config_id_is_family_required(api: Api) -> None:
    response = await api.create_model(model="gpt-4o")
    assert response.status_code == 400
    assert response.json()["code"] == "family_required"


async def test_changing_family_without_an_id_re_auto_binds_in_the_new_family(api: Api) -> None:
    openai = await api.provider("openai")
    anthropic = await api.provider("anthropic")
    model = await api.model(provider_config_id=openai["id"], model="some-model")

    response = await api.patch_model(model["id"], family="anthropic")

    assert response.status_code == 200, response.text
    assert response.json()["family"] == "anthropic"
    assert response.json()["provider_config_id"] == anthropic["id"]


async def test_openai_compat_models_must_be_bound_once_the_family_has_two_configs(
    api: Api,
) -> None:
    first = await api.provider("openai-compat", base_url="http://10.0.0.1:8000/v1")
    solo = await api.model(family="openai-compat", model="llama")
    assert solo["provider_config_id"] == first["id"]
    await api.provider("openai-compat", base_url="http://10.0.0.2:8000/v1")

    implicit = await api.create_model(family="openai-compat", model="qwen")
    explicit_null = await api.create_model(
        family="openai-compat", provider_config_id=None, model="qwen"
    )
    unbind = await api.patch_model(solo["id"], provider_config_id=None)
    for response in (implicit, explicit_null, unbind):
        assert response.status_code == 400
        assert response.json()["code"] == "provider_config_required"
    bound = await api.create_model(provider_config_id=first["id"], model="qwen")
    assert bound.status_code == 201


async def test_model_changes_are_audited(api: Api) -> None:
    provider = await api.provider("openai")
    model = await api.model(provider_config_id=provider["id"], model="gpt-4o")
    await api.patch_model(model["id"], context_limit=4096)
    await api.delete_model(model["id"])
    actions = [(e.action, e.target_id) for e in await api.audit("model_config.")]
    assert actions == [
        ("model_config.create", model["id"]),
        ("model_config.update", model["id"]),
        ("model_config.delete", model["id"]),
    ]
    update = (await api.audit("model_config.update"))[0]
    assert update.before is not None
    assert update.after is not None
    assert (update.before["context_limit"], update.after["context_limit"]) == (8192, 4096)
