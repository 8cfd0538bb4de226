"""Every validation error of SPEC §3, with its status and code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.providers import Api


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"family": "mistral"}, "family_invalid", "family"),
        ({"name": "Has Caps"}, "name_invalid", "name"),
        ({"name": "-leading-dash"}, "name_invalid", "name"),
        ({"name": "x" * 64}, "name_invalid", "name"),
        ({"name": ""}, "name_invalid", "name"),
        ({"base_url": "ftp://example.com"}, "base_url_invalid", "base_url"),
        ({"base_url": "api.openai.com/v1"}, "base_url_invalid", "base_url"),
        ({"base_url": "https:///v1"}, "base_url_invalid", "base_url"),
        ({"base_url": "https://user:pw@example.com/v1"}, "base_url_invalid", "base_url"),
        ({"base_url": "https://example.com/v1?key=1"}, "base_url_invalid", "base_url"),
        ({"base_url": "https://example.com/v1#frag"}, "base_url_invalid", "base_url"),
        ({"base_url": "https://example.com:99999/v1"}, "base_url_invalid", "base_url"),
        ({"base_url": "https://exa mple.com/v1"}, "base_url_invalid", "base_url"),
        ({"base_url": "http://ex%00ample.com/v1"}, "base_url_invalid", "base_url"),
        ({"api_key": "   "}, "api_key_invalid", "api_key"),
        ({"api_key": "k" * 10_241}, "api_key_invalid", "api_key"),
        ({"api_key": "sk-with\nnewline-0123456789"}, "api_key_invalid", "api_key"),
        ({"api_key": "sk-with\x00nul-0123456789"}, "api_key_invalid", "api_key"),
        ({"connect_timeout_s": 0}, "timeout_invalid", "connect_timeout_s"),
        ({"idle_timeout_s": -1.5}, "timeout_invalid", "idle_timeout_s"),
    ],
)
async def test_create_rejects_a_value_a_rule_forbids_with_400_and_its_code(
    api: Api, fields: dict[str, Any], code: str, field: str
) -> None:
    body = {"family": "openai", "api_key": "sk-valid-0123456789abcdef", **fields}
    response = await api.client.post("/api/v1/providers", json=body, headers=api.headers)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"] == {"field": field}
    assert response.json()["message"]


async def test_unknown_family_message_names_the_valid_families(api: Api) -> None:
    response = await api.create_provider("mistral")
    assert (
        "anthropic, azure, bedrock, google, openai, openai-compat, openrouter, vercel"
        in (response.json()["message"])
    )


async def test_a_key_of_exactly_10240_bytes_is_accepted(api: Api) -> None:
    response = await api.create_provider("openai", api_key="k" * 10_240)
    assert response.status_code == 201


@pytest.mark.parametrize("family", ["azure", "openai-compat", "bedrock"])
async def test_families_without_a_default_base_url_require_one(api: Api, family: str) -> None:
    response = await api.create_provider(family, api_key="sk-valid-0123456789abcdef")
    assert response.status_code == 400
    assert response.json()["code"] == "base_url_required"


async def test_a_base_url_from_the_environment_lifts_the_base_url_requirement(api: Api) -> None:
    api.set_deployment({"CHATGATE_AZURE_BASE_URL": "https://res.openai.azure.com/openai/v1"})
    response = await api.create_provider("azure", api_key="sk-valid-0123456789abcdef")
    assert response.status_code == 201
    assert response.json()["effective_base_url"] == "https://res.openai.azure.com/openai/v1"


async def test_clearing_the_base_url_of_a_family_without_default_is_rejected(api: Api) -> None:
    created = await api.provider("openai-compat", base_url="http://10.1.1.1:8000/v1")
    response = await api.patch_provider(created["id"], base_url="", drop_keys=True)
    assert response.status_code == 400
    assert response.json()["code"] == "base_url_required"


async def test_key_policy_violations_have_three_distinct_messages(api: Api) -> None:
    no_source = await api.create_provider(
        "openai", central_api_key_enabled=False, allow_user_api_key=False
    )
    without_central = await api.create_provider(
        "openai", central_api_key_enabled=False, allow_user_api_key=True,
        allow_central_api_key_fallback=True,
    )  # fmt: skip
    without_users = await api.create_provider(
        "openai", api_key="sk-valid-0123456789abcdef", allow_central_api_key_fallback=True
    )

    responses = [no_source, without_central, without_users]
    assert [r.status_code for r in responses] == [400, 400, 400]
    assert {r.json()["code"] for r in responses} == {"key_policy_invalid"}
    assert len({r.json()["message"] for r in responses}) == 3


async def test_central_key_missing_on_create_without_any_effective_key(api: Api) -> None:
    response = await api.create_provider("openai")
    assert response.status_code == 400
    assert response.json()["code"] == "central_key_missing"


async def test_a_deployment_key_satisfies_the_central_key_rule_only_on_the_default_url(
    api: Api,
) -> None:
    api.set_deployment(openai="sk-deployment-0123456789abcdef")
    on_default = await api.create_provider("openai")
    on_own_server = await api.create_provider("openai", base_url="https://proxy.example.com/v1")
    assert on_default.status_code == 201
    assert on_own_server.status_code == 400
    assert on_own_server.json()["code"] == "central_key_missing"


async def test_patch_turning_central_on_without_any_key_is_central_key_missing(api: Api) -> None:
    created = await api.provider(
        "openai", api_key=None, central_api_key_enabled=False, allow_user_api_key=True
    )
    response = await api.patch_provider(created["id"], central_api_key_enabled=True)
    assert response.status_code == 400
    assert response.json()["code"] == "central_key_missing"


async def test_patch_removing_the_last_key_of_a_central_config_is_central_key_missing(
    api: Api,
) -> None:
    created = await api.provider("openai")
    response = await api.patch_provider(created["id"], api_key=None)
    assert response.status_code == 400
    assert response.json()["code"] == "central_key_missing"
    assert len(await api.pool(created["id"])) == 1


async def test_patch_policy_flags_merge_before_the_check(api: Api) -> None:
    created = await api.provider("openai")
    response = await api.patch_provider(created["id"], allow_central_api_key_fallback=True)
    assert response.status_code == 400
    assert response.json()["code"] == "key_policy_invalid"


async def test_patch_family_to_another_family_is_family_immutable(api: Api) -> None:
    created = await api.provider("openai")
    response = await api.patch_provider(created["id"], family="anthropic")
    assert response.status_code == 400
    assert response.json()["code"] == "family_immutable"


async def test_names_sent_by_the_client_are_409_name_taken_when_used(api: Api) -> None:
    await api.provider("openai", name="main")
    on_create = await api.create_provider("google", name="main", api_key="sk-0123456789abcdef")
    other = await api.provider("openai", name="other")
    on_rename = await api.patch_provider(other["id"], name="main")
    for response in (on_create, on_rename):
        assert response.status_code == 409
        assert response.json()["code"] == "name_taken"


async def test_generated_names_skip_taken_suffixes(api: Api) -> None:
    await api.provider("openai", name="openai-2")
    first = await api.provider("openai")
    second = await api.provider("openai")
    assert (first["name"], second["name"]) == ("openai", "openai-3")


async def test_api_key_over_one_key_needs_the_key_endpoints(api: Api) -> None:
    created = await api.provider("openai")
    await api.add_pool_key(created["id"], "sk-second-0123456789abcdef")
    response = await api.patch_provider(created["id"], api_key="sk-third-0123456789abcdef")
    assert response.status_code == 409
    assert response.json()["code"] == "use_key_endpoints"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"api_key": "sk-0123456789abcdef"}, "family"),
        ({"family": 3}, "family"),
        ({"family": "openai", "enabled": "yes"}, "enabled"),
        ({"family": "openai", "unknown": 1}, "unknown"),
        ({"family": "openai", "connect_timeout_s": "10"}, "connect_timeout_s"),
        ({"family": "openai", "display_name": "d" * 201}, "display_name"),
    ],
)
async def test_schema_violations_on_create_are_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await api.client.post("/api/v1/providers", json=body, headers=api.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"][0]["field"] == field


async def test_a_body_that_is_not_json_is_422(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/providers",
        content=b"{not json",
        headers={**api.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("field", ["enabled", "name", "base_url", "allow_user_api_key"])
async def test_patch_with_null_for_a_required_field_is_422(api: Api, field: str) -> None:
    created = await api.provider("openai")
    response = await api.patch_provider(created["id"], **{field: None})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
