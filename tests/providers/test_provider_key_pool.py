"""Central key pools through the API (SPEC §8, §14): list, add, relabel, enable, disable,
replace and remove keys; never a secret out; the last usable key is protected."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.db.tables import ProviderKey
from chatgate.ids import new_id, utcnow
from chatgate.store.cooldowns import extend_cooldown
from tests.support.helpers import gather_all
from tests.support.providers import Api, pg_only

CANARY = "sk-canary-pool-3c9e1a7b5d2f4e6a8b0c"
KEY_FIELDS = {
    "id",
    "label",
    "hint",
    "enabled",
    "state",
    "cooldown_until",
    "cooldown_model",
    "last_error",
    "last_used_at",
    "created_at",
}


def keys_url(provider_id: str, key_id: str | None = None) -> str:
    base = f"/api/v1/providers/{provider_id}/keys"
    return base if key_id is None else f"{base}/{key_id}"


async def list_keys(api: Api, provider_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(keys_url(provider_id), headers=api.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def add_key(api: Api, provider_id: str, **fields: Any) -> httpx.Response:
    return await api.client.post(keys_url(provider_id), json=fields, headers=api.headers)


async def new_key(api: Api, provider_id: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("api_key", f"sk-pool-{uuid.uuid4().hex}")
    response = await add_key(api, provider_id, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch_key(
    api: Api, provider_id: str, key_id: str, *, force: bool = False, **fields: Any
) -> httpx.Response:
    params = {"force": "true"} if force else {}
    return await api.client.patch(
        keys_url(provider_id, key_id), json=fields, params=params, headers=api.headers
    )


async def delete_key(
    api: Api, provider_id: str, key_id: str, *, force: bool = False
) -> httpx.Response:
    params = {"force": "true"} if force else {}
    return await api.client.delete(
        keys_url(provider_id, key_id), params=params, headers=api.headers
    )


async def mark_invalid(api: Api, key_id: str) -> None:
    """What the gateway does on a 401 (the key becomes invalid, with an error), after a 429
    that cooled it down for an hour."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(ProviderKey)
            .where(ProviderKey.id == uuid.UUID(key_id))
            .values(state="invalid", last_error="401 from upstream")
        )
        now = utcnow()
        await extend_cooldown(session, uuid.UUID(key_id), "gpt-x", now + timedelta(hours=1), now)

    await api.env.runtime.db.write(work)


async def provider_with_one_key(api: Api, **fields: Any) -> tuple[dict[str, Any], str]:
    provider = await api.provider("openai", **fields)
    [key] = await list_keys(api, provider["id"])
    return provider, str(key["id"])


# -- list and add ---------------------------------------------------------------------------


async def test_key_list_shows_hints_and_state_in_creation_order_but_no_secret(api: Api) -> None:
    provider = await api.provider("openai", api_key=CANARY)
    short = await new_key(api, provider["id"], api_key="sk-short", label="backup")
    listed = await list_keys(api, provider["id"])

    assert [set(k) for k in listed] == [KEY_FIELDS, KEY_FIELDS]
    assert [k["label"] for k in listed] == ["primary", "backup"]
    assert listed[1]["id"] == short["id"]
    assert [k["hint"] for k in listed] == [CANARY[-4:], None]  # < 16 characters: no hint
    assert [(k["enabled"], k["state"]) for k in listed] == [(True, "active")] * 2
    assert CANARY not in json.dumps(listed)


async def test_the_canary_key_appears_in_no_response_and_no_audit_row(api: Api) -> None:
    provider = await api.provider("openai", api_key="sk-first-0123456789abcdef")
    responses = [await add_key(api, provider["id"], api_key=CANARY, label="canary")]
    key_id = responses[0].json()["id"]
    responses.append(await api.client.get(keys_url(provider["id"]), headers=api.headers))
    responses.append(await patch_key(api, provider["id"], key_id, label="renamed"))
    responses.append(await patch_key(api, provider["id"], key_id, api_key=f"{CANARY}-2"))
    responses.append(await patch_key(api, provider["id"], key_id, enabled=False))
    responses.append(await api.get_provider(provider["id"]))
    responses.append(await delete_key(api, provider["id"], key_id))

    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 200, 204]
    for response in responses:
        assert CANARY not in response.text
    audit = await api.audit("provider_key.")
    assert len(audit) == 6  # the first key, the canary, label, secret, disable, delete
    for entry in audit:
        assert CANARY not in json.dumps([entry.before, entry.after])


async def test_an_added_key_is_sealed_for_its_id_and_counts_on_the_provider(api: Api) -> None:
    provider = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    assert (provider["has_api_key"], provider["key_count"]) == (False, 0)

    disabled = await new_key(api, provider["id"], api_key="  sk-off-0123456789abcdef ",
                             enabled=False)  # fmt: skip
    after_disabled = (await api.get_provider(provider["id"])).json()
    assert (after_disabled["has_api_key"], after_disabled["key_count"]) == (False, 1)

    added = await new_key(api, provider["id"], api_key="sk-on-0123456789abcdef", label=" main ")
    assert (added["label"], added["enabled"], added["state"]) == ("main", True, "active")
    after_added = (await api.get_provider(provider["id"])).json()
    assert (after_added["has_api_key"], after_added["key_count"]) == (True, 2)

    stored = {str(k.id): api.open_key(k) for k in await api.pool(provider["id"])}
    assert stored == {
        disabled["id"]: "sk-off-0123456789abcdef",  # trimmed, like every key
        added["id"]: "sk-on-0123456789abcdef",
    }


async def test_an_invalid_key_is_400_and_a_malformed_body_is_422(api: Api) -> None:
    provider = await api.provider("openai")
    key_id = (await list_keys(api, provider["id"]))[0]["id"]

    for bad_key in ("   ", "sk-with\ncontrol-char", "k" * 10_241):
        response = await add_key(api, provider["id"], api_key=bad_key)
        assert (response.status_code, response.json()["code"]) == (400, "api_key_invalid")
        response = await patch_key(api, provider["id"], key_id, api_key=bad_key)
        assert (response.status_code, response.json()["code"]) == (400, "api_key_invalid")
    malformed: list[dict[str, Any]] = [
        {},
        {"api_key": 123},
        {"api_key": "sk-x", "enabled": "yes"},
        {"api_key": "sk-x", "label": "l" * 101},
        {"api_key": "sk-x", "label": "nul\x00"},
        {"api_key": "sk-x", "secret": "sk-y"},
    ]
    for body in malformed:
        response = await add_key(api, provider["id"], **body)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), body
    for field in ("label", "enabled", "api_key"):
        response = await api.client.patch(
            keys_url(provider["id"], key_id), json={field: None}, headers=api.headers
        )
        assert response.status_code == 422, field
    assert len(await api.pool(provider["id"])) == 1


# -- change and remove ----------------------------------------------------------------------


async def test_a_key_is_relabelled_disabled_enabled_and_deleted(api: Api) -> None:
    provider = await api.provider("openai")
    key = await new_key(api, provider["id"], label="spare")

    relabelled = await patch_key(api, provider["id"], key["id"], label="second")
    assert (relabelled.status_code, relabelled.json()["label"]) == (200, "second")
    disabled = await patch_key(api, provider["id"], key["id"], enabled=False)
    assert (disabled.status_code, disabled.json()["enabled"]) == (200, False)
    enabled = await patch_key(api, provider["id"], key["id"], enabled=True)
    assert (enabled.status_code, enabled.json()["enabled"]) == (200, True)
    assert (await delete_key(api, provider["id"], key["id"])).status_code == 204

    assert [k["label"] for k in await list_keys(api, provider["id"])] == ["primary"]
    actions = [e.action for e in await api.audit("provider_key.")]
    assert actions == ["provider_key.create"] * 2 + ["provider_key.update"] * 3 + [
        "provider_key.delete"
    ]


async def test_replacing_the_secret_keeps_the_key_id_and_label(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api, api_key="sk-old-0123456789abcdef")
    response = await patch_key(api, provider["id"], key_id, api_key="sk-new-0123456789abcxyz")

    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["label"]) == (key_id, "primary")
    assert response.json()["hint"] == "cxyz"
    [stored] = await api.pool(provider["id"])
    assert api.open_key(stored) == "sk-new-0123456789abcxyz"
    [entry] = await api.audit("provider_key.secret_replace")
    assert entry.target_id == key_id


async def test_enabling_an_invalid_key_resets_it_to_active(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    await mark_invalid(api, key_id)

    response = await patch_key(api, provider["id"], key_id, enabled=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["state"], body["cooldown_until"], body["last_error"]) == ("active", None, None)


async def test_replacing_the_secret_of_an_invalid_key_resets_it_to_active(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    await mark_invalid(api, key_id)

    response = await patch_key(api, provider["id"], key_id, api_key="sk-fresh-0123456789abcdef")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["state"], body["cooldown_until"], body["last_error"]) == ("active", None, None)


async def test_a_label_only_patch_leaves_an_invalid_key_invalid(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    await mark_invalid(api, key_id)

    response = await patch_key(api, provider["id"], key_id, label="still broken")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["label"], body["state"], body["last_error"]) == (
        "still broken",
        "invalid",
        "401 from upstream",
    )
    assert body["cooldown_until"] is not None


# -- the last usable key --------------------------------------------------------------------


async def test_removing_or_disabling_the_last_usable_key_is_409(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    broken = await new_key(api, provider["id"])
    await mark_invalid(api, broken["id"])  # enabled but invalid: not usable

    refused = [
        await delete_key(api, provider["id"], key_id),
        await patch_key(api, provider["id"], key_id, enabled=False),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(409, "last_usable_key")] * 2
    assert [k["enabled"] for k in await list_keys(api, provider["id"])] == [True, True]
    # An unusable key goes freely.
    assert (await delete_key(api, provider["id"], broken["id"])).status_code == 204


async def test_force_removes_the_last_usable_key_and_the_config_reports_missing_api_key(
    api: Api,
) -> None:
    provider, key_id = await provider_with_one_key(api)
    model = await api.model(provider_config_id=provider["id"], model="gpt-4o")

    response = await delete_key(api, provider["id"], key_id, force=True)
    assert response.status_code == 204, response.text
    after = (await api.get_provider(provider["id"])).json()
    assert (after["has_api_key"], after["has_effective_api_key"], after["key_count"]) == (
        False,
        False,
        0,
    )
    catalog = await api.client.get("/api/v1/me/models", headers=api.headers)
    [entry] = [m for m in catalog.json() if m["id"] == model["id"]]
    assert (entry["available"], entry["unavailable_reason"]) == (False, "missing_api_key")


async def test_force_disables_the_last_usable_key(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    response = await patch_key(api, provider["id"], key_id, enabled=False, force=True)
    assert (response.status_code, response.json()["enabled"]) == (200, False)
    assert (await api.get_provider(provider["id"])).json()["has_api_key"] is False


async def test_the_last_key_goes_freely_where_the_config_does_not_depend_on_its_pool(
    api: Api,
) -> None:
    api.set_deployment(openai="sk-deployment-0123456789abcdef")
    on_deployment, key_a = await provider_with_one_key(api)
    disabled, key_b = await provider_with_one_key(api, enabled=False)
    central_off, key_c = await provider_with_one_key(
        api, central_api_key_enabled=False, allow_user_api_key=True
    )

    assert (await delete_key(api, on_deployment["id"], key_a)).status_code == 204
    assert (await delete_key(api, disabled["id"], key_b)).status_code == 204
    assert (await patch_key(api, central_off["id"], key_c, enabled=False)).status_code == 200
    after = (await api.get_provider(on_deployment["id"])).json()
    assert after["has_effective_api_key"] is True  # the deployment key now serves it


async def test_a_config_with_its_own_base_url_cannot_fall_back_to_the_deployment_key(
    api: Api,
) -> None:
    api.set_deployment(openai="sk-deployment-0123456789abcdef")
    provider, key_id = await provider_with_one_key(api, base_url="https://proxy.example.com/v1")

    response = await delete_key(api, provider["id"], key_id)
    assert (response.status_code, response.json()["code"]) == (409, "last_usable_key")


# -- not found ------------------------------------------------------------------------------


async def test_unknown_providers_and_keys_and_keys_of_another_provider_are_404(
    api: Api,
) -> None:
    provider, key_id = await provider_with_one_key(api)
    other, other_key = await provider_with_one_key(api)
    missing = str(new_id())

    responses = [
        await api.client.get(keys_url(missing), headers=api.headers),
        await add_key(api, missing, api_key="sk-0123456789abcdef"),
        await patch_key(api, missing, key_id, label="x"),
        await delete_key(api, missing, key_id),
        await patch_key(api, provider["id"], missing, label="x"),
        await delete_key(api, provider["id"], missing),
        await patch_key(api, provider["id"], other_key, label="x"),
        await delete_key(api, provider["id"], other_key, force=True),
        await patch_key(api, provider["id"], "not-a-uuid", label="x"),
        await api.client.get(keys_url("not-a-uuid"), headers=api.headers),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert [len(await api.pool(p["id"])) for p in (provider, other)] == [1, 1]
    assert [k.label for k in await api.pool(other["id"])] == ["primary"]


async def test_an_auditor_lists_keys_but_cannot_change_them(api: Api) -> None:
    provider, key_id = await provider_with_one_key(api)
    _, token = await api.env.new_user("pool-auditor", "auditor")
    auditor = api.env.auth(token)

    listed = await api.client.get(keys_url(provider["id"]), headers=auditor)
    assert (listed.status_code, [k["id"] for k in listed.json()]) == (200, [key_id])
    added = await api.client.post(
        keys_url(provider["id"]), json={"api_key": "sk-0123456789abcdef"}, headers=auditor
    )
    removed = await api.client.delete(keys_url(provider["id"], key_id), headers=auditor)
    assert (added.status_code, removed.status_code) == (403, 403)


# -- races ----------------------------------------------------------------------------------

N = 20


@pg_only
async def test_concurrent_disables_of_the_last_two_keys_leave_one_enabled(pg_api: Api) -> None:
    api = pg_api
    provider, first = await provider_with_one_key(api)
    second = (await new_key(api, provider["id"]))["id"]

    def disable(key_id: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: patch_key(api, provider["id"], key_id, enabled=False)

    responses = await gather_all([disable(key) for key in [first, second] * (N // 2)])
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}
    assert statuses[409] >= 1
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"last_usable_key"}
    assert [k.enabled for k in await api.pool(provider["id"])].count(True) == 1
