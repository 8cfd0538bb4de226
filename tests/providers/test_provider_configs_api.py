"""Provider configs through the API (SPEC §3): several per family, per-config key facts."""

from __future__ import annotations

from typing import Any

from tests.support.providers import Api

CANARY = "sk-canary-7f3e9a1c5b2d4e6f8a0b"


def by_id(entries: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {entry["id"]: entry for entry in entries}


async def test_two_configs_of_one_family_are_created_through_the_api(api: Api) -> None:
    first = await api.provider("openai", api_key="sk-first-0123456789abcdef")
    second = await api.provider("openai", api_key="sk-second-0123456789abcdef")

    assert (first["name"], second["name"]) == ("openai", "openai-2")
    assert first["family"] == second["family"] == "openai"
    assert first["id"] != second["id"]
    listed = [p["id"] for p in await api.list_providers()]
    assert listed == [first["id"], second["id"]]


async def test_has_api_key_is_reported_per_config(api: Api) -> None:
    keyed = await api.provider("openai", api_key="sk-keyed-0123456789abcdef")
    keyless = await api.provider("openai", api_key=None, allow_user_api_key=True,
                                 central_api_key_enabled=False)  # fmt: skip

    listed = by_id(await api.list_providers())
    assert listed[keyed["id"]]["has_api_key"] is True
    assert listed[keyed["id"]]["key_count"] == 1
    assert listed[keyless["id"]]["has_api_key"] is False
    assert listed[keyless["id"]]["key_count"] == 0


async def test_config_with_central_disabled_never_reports_an_effective_key_from_a_keyed_sibling(
    api: Api,
) -> None:
    keyed = await api.provider("openai", api_key="sk-sibling-0123456789abcdef")
    central_off = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )

    listed = by_id(await api.list_providers())
    assert listed[keyed["id"]]["has_effective_api_key"] is True
    assert listed[central_off["id"]]["has_api_key"] is False
    assert listed[central_off["id"]]["has_effective_api_key"] is False
    single = await api.get_provider(central_off["id"])
    assert single.json()["has_effective_api_key"] is False


async def test_a_deployment_key_makes_has_effective_api_key_true_only_where_central_is_enabled(
    api: Api,
) -> None:
    api.set_deployment(openai="sk-deployment-0123456789abcdef")
    central_on = await api.provider("openai", api_key=None)
    central_off = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    own_server = await api.provider(
        "openai", api_key=None, base_url="https://proxy.example.com/v1", enabled=False
    )

    listed = by_id(await api.list_providers())
    assert listed[central_on["id"]]["has_api_key"] is False
    assert listed[central_on["id"]]["has_effective_api_key"] is True
    assert listed[central_off["id"]]["has_effective_api_key"] is False
    # A deployment key is only sent to the family's default base URL.
    assert listed[own_server["id"]]["has_effective_api_key"] is False


async def test_list_orders_families_then_precedence_with_synthetic_deployment_entries(
    api: Api,
) -> None:
    api.set_deployment(anthropic="sk-ant-deployment-0123456789", openai="sk-oa-deploy-0123456789")
    openai_1 = await api.provider("openai")
    google = await api.provider("google")
    openai_2 = await api.provider("openai")

    listed = await api.list_providers()
    assert [(p["family"], p["id"]) for p in listed] == [
        ("anthropic", None),
        ("google", google["id"]),
        ("openai", openai_1["id"]),
        ("openai", openai_2["id"]),
    ]
    synthetic = listed[0]
    assert synthetic["source"] == "deployment"
    assert synthetic["name"] == "deployment:anthropic"
    assert synthetic["has_effective_api_key"] is True
    assert synthetic["effective_base_url"] == "https://api.anthropic.com"
    assert all(p["source"] == "database" for p in listed[1:])


async def test_provider_families_lists_every_family_in_order_with_its_defaults(api: Api) -> None:
    api.set_deployment({"CHATGATE_AZURE_BASE_URL": "https://res.openai.azure.com/openai/v1/"},
                       vercel="vk-0123456789abcdef")  # fmt: skip
    response = await api.client.get("/api/v1/provider-families", headers=api.headers)

    assert response.status_code == 200
    families = {f["family"]: f for f in response.json()}
    assert list(families) == [
        "anthropic", "azure", "bedrock", "google", "openai", "openai-compat", "openrouter", "vercel",
    ]  # fmt: skip
    assert families["openai"]["default_base_url"] == "https://api.openai.com/v1"
    assert families["openai"]["display_name"] == "OpenAI"
    assert families["azure"]["default_base_url"] == "https://res.openai.azure.com/openai/v1"
    assert families["bedrock"]["default_base_url"] is None
    assert families["vercel"]["has_deployment_key"] is True
    assert families["openai"]["has_deployment_key"] is False


async def test_base_url_is_stored_trimmed_and_cleared_by_empty_string(api: Api) -> None:
    created = await api.provider("openai", base_url="  https://proxy.example.com/v1/  ")
    assert created["base_url"] == "https://proxy.example.com/v1"
    assert created["effective_base_url"] == "https://proxy.example.com/v1"

    # Same origin, new path: keys stay bound, nothing else needed.
    moved = await api.patch_provider(created["id"], base_url="https://proxy.example.com/v2")
    assert moved.status_code == 200, moved.text

    cleared = await api.patch_provider(created["id"], base_url="", drop_keys=True,
                                       api_key="sk-new-for-openai-0123456789")  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["base_url"] == ""
    assert cleared.json()["effective_base_url"] == "https://api.openai.com/v1"


async def test_family_input_is_trimmed_and_lower_cased(api: Api) -> None:
    created = await api.provider("  OpenAI-Compat ", base_url="http://10.0.0.5:8000/v1")
    assert created["family"] == "openai-compat"
    assert created["name"] == "openai-compat"


async def test_patch_family_with_the_current_value_is_a_no_op(api: Api) -> None:
    created = await api.provider("openai")
    response = await api.patch_provider(created["id"], family="OPENAI")
    assert response.status_code == 200
    assert response.json()["updated_at"] == created["updated_at"]


async def test_patch_merges_policy_flags_with_the_stored_row(api: Api) -> None:
    created = await api.provider("openai")
    allow_users = await api.patch_provider(created["id"], allow_user_api_key=True)
    assert allow_users.status_code == 200
    fallback = await api.patch_provider(created["id"], allow_central_api_key_fallback=True)
    assert fallback.status_code == 200, fallback.text
    body = fallback.json()
    assert (body["central_api_key_enabled"], body["allow_user_api_key"]) == (True, True)
    assert body["allow_central_api_key_fallback"] is True


async def test_timeouts_are_stored_and_cleared_with_null(api: Api) -> None:
    created = await api.provider("openai", connect_timeout_s=2.5, idle_timeout_s=30)
    assert (created["connect_timeout_s"], created["idle_timeout_s"]) == (2.5, 30.0)
    assert created["first_byte_timeout_s"] is None
    cleared = await api.patch_provider(created["id"], connect_timeout_s=None)
    assert cleared.json()["connect_timeout_s"] is None
    assert cleared.json()["idle_timeout_s"] == 30.0


async def test_patch_api_key_replaces_the_primary_keys_secret(api: Api) -> None:
    created = await api.provider("openai", api_key="sk-original-0123456789abcdef")
    [original] = await api.pool(created["id"])

    response = await api.patch_provider(created["id"], api_key="  sk-rotated-0123456789abcdef  ")

    assert response.status_code == 200, response.text
    [rotated] = await api.pool(created["id"])
    assert rotated.id == original.id
    assert api.open_key(rotated) == "sk-rotated-0123456789abcdef"
    assert rotated.secret_hint == "cdef"


async def test_patch_api_key_adds_a_key_when_the_pool_is_empty(api: Api) -> None:
    created = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    response = await api.patch_provider(created["id"], api_key="sk-added-0123456789abcdef")
    assert response.status_code == 200
    assert response.json()["has_api_key"] is True
    assert response.json()["has_effective_api_key"] is False  # central still disabled


async def test_api_key_given_while_central_is_disabled_is_kept_and_used_once_enabled(
    api: Api,
) -> None:
    created = await api.provider(
        "openai", api_key="sk-parked-0123456789abcdef", central_api_key_enabled=False,
        allow_user_api_key=True,
    )  # fmt: skip
    assert created["has_api_key"] is True
    assert created["has_effective_api_key"] is False
    enabled = await api.patch_provider(created["id"], central_api_key_enabled=True)
    assert enabled.status_code == 200
    assert enabled.json()["has_effective_api_key"] is True


async def test_patch_api_key_null_removes_every_stored_central_key(api: Api) -> None:
    created = await api.provider(
        "openai", allow_user_api_key=True, central_api_key_enabled=False,
        api_key="sk-to-remove-0123456789abcdef",
    )  # fmt: skip
    await api.add_pool_key(created["id"], "sk-second-0123456789abcdef")
    response = await api.patch_provider(created["id"], api_key=None)
    assert response.status_code == 200, response.text
    assert response.json()["key_count"] == 0
    assert await api.pool(created["id"]) == []


async def test_patch_api_key_adds_an_enabled_primary_when_the_pool_holds_only_a_disabled_key(
    api: Api,
) -> None:
    created = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    await api.add_pool_key(created["id"], "sk-disabled-0123456789abcdef", enabled=False)
    response = await api.patch_provider(created["id"], api_key="sk-fresh-0123456789abcdef")
    assert response.status_code == 200
    assert response.json()["key_count"] == 2
    assert response.json()["has_api_key"] is True


async def test_patch_api_key_adds_a_primary_even_when_several_disabled_keys_remain(
    api: Api,
) -> None:
    created = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    await api.add_pool_key(created["id"], "sk-disabled-1-0123456789abcdef", enabled=False)
    await api.add_pool_key(created["id"], "sk-disabled-2-0123456789abcdef", enabled=False)
    response = await api.patch_provider(created["id"], api_key="sk-fresh-0123456789abcdef")
    assert response.status_code == 200, response.text
    assert response.json()["key_count"] == 3
    assert response.json()["has_api_key"] is True


async def test_key_hints_are_kept_only_for_keys_of_16_characters_or_more(api: Api) -> None:
    long_key = await api.provider("openai", api_key="sk-abcdefghijWXYZ")
    short_key = await api.provider("openai", api_key="sk-short-123")
    [long_row] = await api.pool(long_key["id"])
    [short_row] = await api.pool(short_key["id"])
    assert long_row.secret_hint == "WXYZ"
    assert short_row.secret_hint is None
    assert long_row.label == "primary"


async def test_changing_the_origin_with_stored_keys_needs_a_new_key_or_drop_keys(api: Api) -> None:
    member_id, _ = await api.env.new_user("bob")
    created = await api.provider(
        "openai", base_url="https://a.example.com/v1", allow_user_api_key=True,
        api_key="sk-bound-to-a-0123456789abcdef",
    )  # fmt: skip
    await api.add_pool_key(created["id"], "sk-second-bound-0123456789")
    await api.add_user_key(member_id, created["id"], "sk-bobs-own-0123456789abcdef")

    refused = await api.patch_provider(created["id"], base_url="https://b.example.com/v1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "keys_bound_to_origin"
    port_change = await api.patch_provider(created["id"], base_url="https://a.example.com:8443/v1")
    assert port_change.json()["code"] == "keys_bound_to_origin"

    moved = await api.patch_provider(
        created["id"], base_url="https://b.example.com/v1", api_key="sk-for-b-0123456789abcdef"
    )

    assert moved.status_code == 200, moved.text
    [only] = await api.pool(created["id"])
    assert api.open_key(only) == "sk-for-b-0123456789abcdef"
    assert await api.user_keys(created["id"]) == []
    deletions = [e.action for e in await api.audit() if e.action.endswith(".delete")]
    assert deletions == ["provider_key.delete", "user_provider_key.delete"]


async def test_base_urls_are_stored_normalised_and_compared_as_origins_in_that_form(
    api: Api,
) -> None:
    member_id, _ = await api.env.new_user("dave")
    created = await api.provider(
        "openai-compat", base_url="HTTP://127.0.0.1:9/v1/", allow_user_api_key=True,
        api_key="sk-bound-to-9-0123456789abcdef",
    )  # fmt: skip
    assert created["base_url"] == "http://127.0.0.1:9/v1"
    assert created["effective_base_url"] == "http://127.0.0.1:9/v1"
    await api.add_user_key(member_id, created["id"], "sk-daves-own-0123456789abcdef")

    # Scheme and host lower-cased, trailing slashes gone, the path's case kept: the same
    # origin, so the keys stay without an acknowledgement.
    same_origin = await api.patch_provider(created["id"], base_url="Http://127.0.0.1:9/V2//")
    assert same_origin.status_code == 200, same_origin.text
    assert same_origin.json()["base_url"] == "http://127.0.0.1:9/V2"
    assert len(await api.pool(created["id"])) == 1
    assert len(await api.user_keys(created["id"])) == 1

    named = await api.provider("openai", base_url="  HTTPS://API.Example.COM:8443/Team/v1/ ")
    assert named["base_url"] == "https://api.example.com:8443/Team/v1"
    fetched = await api.get_provider(named["id"])
    assert fetched.json()["base_url"] == "https://api.example.com:8443/Team/v1"

    # Another port is another origin, however it is written.
    moved = await api.patch_provider(created["id"], base_url="HTTP://127.0.0.1:10/V2")
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "keys_bound_to_origin"


async def test_drop_keys_on_an_origin_change_deletes_central_and_user_keys(api: Api) -> None:
    member_id, _ = await api.env.new_user("carol")
    created = await api.provider(
        "openai", base_url="https://a.example.com/v1", allow_user_api_key=True,
        central_api_key_enabled=False, api_key="sk-parked-0123456789abcdef",
    )  # fmt: skip
    await api.add_user_key(member_id, created["id"], "sk-carols-own-0123456789abcdef")

    moved = await api.patch_provider(
        created["id"], base_url="https://b.example.com/v1", drop_keys=True
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["key_count"] == 0
    assert await api.pool(created["id"]) == []
    assert await api.user_keys(created["id"]) == []


async def test_origin_change_without_any_keys_needs_no_acknowledgement(api: Api) -> None:
    created = await api.provider(
        "openai", base_url="https://a.example.com/v1", api_key=None,
        central_api_key_enabled=False, allow_user_api_key=True,
    )  # fmt: skip
    moved = await api.patch_provider(created["id"], base_url="https://b.example.com/v1")
    assert moved.status_code == 200


async def test_disabled_config_with_central_on_and_no_key_is_accepted_until_enabled(
    api: Api,
) -> None:
    created = await api.provider("openai", api_key=None, enabled=False)
    renamed = await api.patch_provider(created["id"], display_name="Later")
    assert renamed.status_code == 200
    enabled = await api.patch_provider(created["id"], enabled=True)
    assert enabled.status_code == 400
    assert enabled.json()["code"] == "central_key_missing"


async def test_member_cannot_read_and_auditor_cannot_write_provider_configs(api: Api) -> None:
    _, member = await api.env.new_user("mia")
    _, auditor = await api.env.new_user("audrey", "auditor")
    created = await api.provider("openai")

    member_list = await api.client.get("/api/v1/providers", headers=api.env.auth(member))
    assert member_list.status_code == 403
    auditor_list = await api.client.get("/api/v1/providers", headers=api.env.auth(auditor))
    assert auditor_list.status_code == 200
    auditor_write = await api.create_provider("google", headers=api.env.auth(auditor))
    assert auditor_write.status_code == 403
    auditor_delete = await api.client.delete(
        f"/api/v1/providers/{created['id']}", headers=api.env.auth(auditor)
    )
    assert auditor_delete.status_code == 403


async def test_unknown_or_malformed_provider_ids_are_404(api: Api) -> None:
    for path in ("00000000-0000-7000-8000-000000000000", "not-a-uuid"):
        for response in (
            await api.get_provider(path),
            await api.patch_provider(path, display_name="x"),
            await api.delete_provider(path),
            await api.client.get(f"/api/v1/providers/{path}/delete-impact", headers=api.headers),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


async def test_every_change_is_audited_with_secrets_redacted(api: Api) -> None:
    created = await api.provider("openai", api_key=CANARY)
    await api.patch_provider(created["id"], display_name="Main", api_key=CANARY + "-2")

    entries = await api.audit()
    actions = [e.action for e in entries]
    assert actions[-4:] == [
        "provider_config.create",
        "provider_key.create",
        "provider_config.update",
        "provider_key.secret_replace",
    ]
    update = entries[-2]
    assert update.before is not None
    assert update.before["display_name"] == ""
    assert update.after is not None
    assert update.after["display_name"] == "Main"
    assert all(CANARY not in repr((e.before, e.after)) for e in entries)


async def test_no_response_ever_contains_a_stored_key(api: Api) -> None:
    """Plant a canary key and look for it in every response of the provider/model API."""
    member_id, _ = await api.env.new_user("eve")
    seen: list[str] = []

    async def keep(response: Any) -> Any:
        seen.append(response.text + repr(dict(response.headers)))
        return response

    created = await keep(await api.create_provider("openai", api_key=CANARY))
    provider = created.json()
    await api.add_user_key(member_id, provider["id"], CANARY + "-user")
    await keep(await api.get_provider(provider["id"]))
    await keep(await api.client.get("/api/v1/providers", headers=api.headers))
    await keep(await api.patch_provider(provider["id"], api_key=CANARY + "-rotated"))
    await keep(await api.patch_provider(provider["id"], api_key=CANARY + "x" * 10_300))
    await keep(await api.patch_provider(provider["id"], api_key=CANARY + "\x07"))
    await keep(await api.patch_provider(provider["id"], base_url="https://other.example.com"))
    await keep(await api.create_provider("openai", api_key=CANARY, name="openai"))
    await keep(await api.create_provider("openai", api_key=CANARY, bogus=1))
    await keep(await api.create_model(provider_config_id=provider["id"], model="gpt-4o"))
    await keep(await api.client.get("/api/v1/models", headers=api.headers))
    await keep(
        await api.client.get(
            f"/api/v1/providers/{provider['id']}/delete-impact", headers=api.headers
        )
    )
    await keep(await api.delete_provider(provider["id"]))

    assert len(seen) == 13
    assert not [text for text in seen if CANARY in text]
    assert all(CANARY not in repr((e.before, e.after)) for e in await api.audit())


async def test_a_replica_whose_primary_key_is_revoked_refuses_to_store_a_central_key(
    api: Api,
) -> None:
    keyring = api.env.runtime.keyring
    keyring.revoked = frozenset({keyring.primary_digest})
    response = await api.create_provider(family="openai", api_key="sk-new-0123456789abcdef")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "encryption_key_revoked"
    assert await api.list_providers() == []
