"""Deleting a provider config (SPEC §3): one transaction, its cascade, and the preview."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.providers import Api, live_defaults


async def impact(api: Api, provider_id: str) -> dict[str, Any]:
    response = await api.client.get(
        f"/api/v1/providers/{provider_id}/delete-impact", headers=api.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_delete_soft_deletes_bound_models_with_updated_by_the_deleting_admin(
    api: Api,
) -> None:
    admin_id, admin_token = await api.env.new_user("ada", "admin")
    provider = await api.provider("openai")
    bound = await api.model(provider_config_id=provider["id"], model="gpt-4o")

    response = await api.client.delete(
        f"/api/v1/providers/{provider['id']}", headers=api.env.auth(admin_token)
    )

    assert response.status_code == 204
    row = await api.model_row(bound["id"])
    assert row.deleted is True
    assert row.deleted_at is not None
    assert str(row.updated_by) == admin_id
    assert row.provider_config_id == uuid.UUID(provider["id"])  # the historical binding stays
    assert (await api.get_model(bound["id"])).status_code == 404
    assert (await api.get_provider(provider["id"])).status_code == 404


async def test_delete_keeps_unbound_models_while_an_enabled_sibling_remains(api: Api) -> None:
    first = await api.provider("openai")
    await api.provider("openai")
    unbound = await api.model(family="openai", provider_config_id=None, model="gpt-4o-mini")

    assert (await impact(api, first["id"]))["model_configs"] == []
    assert (await api.delete_provider(first["id"])).status_code == 204
    assert (await api.model_row(unbound["id"])).deleted is False


async def test_delete_cleans_unbound_models_when_the_last_usable_config_goes(api: Api) -> None:
    last = await api.provider("openai")
    disabled_sibling = await api.provider("openai", enabled=False)
    unbound = await api.model(family="openai", provider_config_id=None, model="gpt-4o-mini")
    other_family = await api.model(family="google", provider_config_id=None, model="gemini")

    assert (await api.delete_provider(last["id"])).status_code == 204

    assert (await api.model_row(unbound["id"])).deleted is True
    assert (await api.model_row(other_family["id"])).deleted is False
    assert (await api.get_provider(disabled_sibling["id"])).status_code == 200


async def test_delete_keeps_unbound_models_when_a_deployment_key_exists(api: Api) -> None:
    api.set_deployment(openai="sk-deployment-0123456789abcdef")
    only = await api.provider("openai")
    unbound = await api.model(family="openai", provider_config_id=None, model="gpt-4o-mini")

    assert (await api.delete_provider(only["id"])).status_code == 204
    assert (await api.model_row(unbound["id"])).deleted is False


async def test_a_sibling_that_only_allows_user_keys_keeps_unbound_models(api: Api) -> None:
    keyed = await api.provider("openai")
    await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    unbound = await api.model(family="openai", provider_config_id=None, model="gpt-4o-mini")

    assert (await api.delete_provider(keyed["id"])).status_code == 204
    assert (await api.model_row(unbound["id"])).deleted is False


async def test_delete_promotes_a_new_default_when_the_default_goes(api: Api) -> None:
    doomed = await api.provider("openai")
    survivor = await api.provider("anthropic")
    default = await api.model(provider_config_id=doomed["id"], model="gpt-4o")
    other = await api.model(provider_config_id=survivor["id"], model="claude")
    assert default["is_default"] is True

    preview = await impact(api, doomed["id"])
    assert (await api.delete_provider(doomed["id"])).status_code == 204

    assert preview["new_default_model_config_id"] == other["id"]
    defaults = live_defaults(await api.all_models())
    assert [str(m.id) for m in defaults] == [other["id"]]
    promotions = await api.audit("model_config.default_promote")
    assert [e.target_id for e in promotions] == [other["id"]]


async def test_delete_impact_lists_exactly_what_delete_then_removes(api: Api) -> None:
    member_id, _ = await api.env.new_user("uma")
    doomed = await api.provider("openai", allow_user_api_key=True,
                                allow_central_api_key_fallback=True)  # fmt: skip
    await api.provider("openai", enabled=False)
    survivor = await api.provider("google")
    bound = await api.model(provider_config_id=doomed["id"], model="gpt-4o", name="a-default")
    unbound = await api.model(family="openai", provider_config_id=None, model="gpt-4o-mini")
    kept = await api.model(provider_config_id=survivor["id"], model="gemini-pro")
    await api.add_user_key(member_id, doomed["id"], "sk-users-own-0123456789abcdef")

    preview = await impact(api, doomed["id"])
    before = {str(m.id) for m in await api.all_models() if not m.deleted}
    assert (await api.delete_provider(doomed["id"])).status_code == 204
    after = {str(m.id) for m in await api.all_models() if not m.deleted}

    listed = {m["id"]: m["reason"] for m in preview["model_configs"]}
    assert listed == {bound["id"]: "bound", unbound["id"]: "family_unusable"}
    assert before - after == set(listed)
    assert after == {kept["id"]}
    assert preview["new_default_model_config_id"] == kept["id"]
    assert preview["user_keys_removed"] == 1
    assert await api.user_keys(doomed["id"]) == []


async def test_delete_impact_reports_no_new_default_when_the_default_stays(api: Api) -> None:
    keep = await api.provider("google")
    doomed = await api.provider("openai")
    await api.model(provider_config_id=keep["id"], model="gemini")
    await api.model(provider_config_id=doomed["id"], model="gpt-4o")
    preview = await impact(api, doomed["id"])
    assert preview["new_default_model_config_id"] is None
    assert len(preview["model_configs"]) == 1


async def test_delete_audits_every_step(api: Api) -> None:
    member_id, _ = await api.env.new_user("ivy")
    doomed = await api.provider("openai", allow_user_api_key=True,
                                allow_central_api_key_fallback=True)  # fmt: skip
    bound = await api.model(provider_config_id=doomed["id"], model="gpt-4o")
    await api.add_user_key(member_id, doomed["id"], "sk-ivys-own-0123456789abcdef")
    count_before = len(await api.audit())

    assert (await api.delete_provider(doomed["id"])).status_code == 204

    steps = [(e.action, e.target_id) for e in (await api.audit())[count_before:]]
    [key] = [e.target_id for e in await api.audit("provider_key.create")]
    assert steps == [
        ("model_config.delete", bound["id"]),
        ("provider_key.delete", key),
        ("user_provider_key.delete", f"{member_id}:{doomed['id']}"),
        ("provider_config.delete", doomed["id"]),
    ]
    [deleted] = await api.audit("provider_config.delete")
    assert deleted.before is not None
    assert deleted.before["name"] == "openai"
    assert deleted.before["user_keys_removed"] == 1
