"""Every validation error of SPEC §4, with its status and code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.providers import Api


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"model": "   "}, "model_invalid", "model"),
        ({"context_limit": 0}, "context_limit_invalid", "context_limit"),
        ({"context_limit": -5}, "context_limit_invalid", "context_limit"),
        ({"context_limit": 2**40}, "context_limit_invalid", "context_limit"),
        ({"compression_threshold": 101}, "compression_threshold_invalid", "compression_threshold"),
        ({"compression_threshold": -1}, "compression_threshold_invalid", "compression_threshold"),
        ({"name": "has space"}, "name_invalid", "name"),
        ({"name": ""}, "name_invalid", "name"),
        ({"name": "n" * 129}, "name_invalid", "name"),
        ({"name": "tab\there"}, "name_invalid", "name"),
        ({"name": "0190c6a0-0000-7000-8000-000000000000"}, "name_invalid", "name"),
        ({"name": "0190c6a000007000800000000000000a"}, "name_invalid", "name"),
        ({"family": "mistral"}, "family_invalid", "family"),
        ({"options": {"temperature": 3}}, "options_invalid", "temperature"),
        ({"options": {"top_p": -0.1}}, "options_invalid", "top_p"),
        ({"options": {"max_tokens": 0}}, "options_invalid", "max_tokens"),
        (
            {"options": {"extra_headers": {"Authorization": "x"}}},
            "header_not_allowed",
            "extra_headers",
        ),
        ({"options": {"extra_headers": {"X-Api-Key": "x"}}}, "header_not_allowed", "extra_headers"),
        ({"options": {"extra_headers": {"cookie": "x"}}}, "header_not_allowed", "extra_headers"),
        ({"options": {"extra_body": {"stream": True}}}, "extra_body_not_allowed", "extra_body"),
        ({"options": {"extra_body": {"messages": []}}}, "extra_body_not_allowed", "extra_body"),
    ],
)
async def test_create_rejects_a_value_a_rule_forbids_with_400_and_its_code(
    api: Api, fields: dict[str, Any], code: str, field: str
) -> None:
    body = {"family": "openai", "model": "gpt-4o", "context_limit": 8192, **fields}
    response = await api.client.post("/api/v1/models", json=body, headers=api.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"] == {"field": field}


async def test_names_allow_slashes_colons_dots_dashes_and_underscores(api: Api) -> None:
    model = await api.model(family="openai", model="x", name="org/model:v1.2-beta_3")
    assert model["name"] == "org/model:v1.2-beta_3"


async def test_a_live_name_is_unique_409_name_taken_on_create_and_rename(api: Api) -> None:
    await api.model(family="openai", model="gpt-4o")
    on_create = await api.create_model(family="google", model="gpt-4o")
    other = await api.model(family="openai", model="gpt-5")
    on_rename = await api.patch_model(other["id"], name="gpt-4o")
    for response in (on_create, on_rename):
        assert response.status_code == 409
        assert response.json()["code"] == "name_taken"


async def test_names_are_case_sensitive(api: Api) -> None:
    await api.model(family="openai", model="GPT")
    assert (await api.create_model(family="openai", model="gpt")).status_code == 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"options": {"seed": 1}}, "options.seed"),
        ({"options": {"stop": ["a", "b", "c", "d", "e"]}}, "options.stop"),
        ({"options": {"temperature": "hot"}}, "options.temperature"),
        ({"options": []}, "options"),
        ({"context_limit": "8192"}, "context_limit"),
        ({"compression_threshold": 7.5}, "compression_threshold"),
        ({"provider_config_id": 42}, "provider_config_id"),
        ({"bogus": True}, "bogus"),
    ],
)
async def test_schema_violations_are_422_naming_the_field(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    body = {"family": "openai", "model": "gpt-4o", "context_limit": 8192, **fields}
    response = await api.client.post("/api/v1/models", json=body, headers=api.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"][0]["field"] == field


async def test_integers_written_with_a_zero_fraction_are_integers(api: Api) -> None:
    created = await api.create_model(
        family="openai", model="gpt-4o", context_limit=8192.0, compression_threshold=80.0
    )
    assert created.status_code == 201, created.text
    assert (created.json()["context_limit"], created.json()["compression_threshold"]) == (8192, 80)
    patched = await api.patch_model(created.json()["id"], options={"max_tokens": 256.0})
    assert patched.status_code == 200, patched.text
    assert patched.json()["options"] == {"max_tokens": 256}


async def test_a_missing_context_limit_is_422(api: Api) -> None:
    body = {"family": "openai", "model": "gpt-4o"}
    response = await api.client.post("/api/v1/models", json=body, headers=api.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "context_limit"


async def test_options_are_stored_and_returned_without_unset_keys(api: Api) -> None:
    options = {"temperature": 0.2, "stop": ["END"], "extra_headers": {"x-team": "a"},
               "extra_body": {"seed": 7}, "reasoning_effort": "low"}  # fmt: skip
    model = await api.model(family="openai", model="gpt-4o", options=options)
    assert model["options"] == options
    cleared = await api.patch_model(model["id"], options=None)
    assert cleared.json()["options"] == {}


async def test_patch_validation_matches_create(api: Api) -> None:
    model = await api.model(family="openai", model="gpt-4o")
    bad_limit = await api.patch_model(model["id"], context_limit=0)
    assert bad_limit.status_code == 400
    assert bad_limit.json()["code"] == "context_limit_invalid"
    null_field = await api.patch_model(model["id"], enabled=None)
    assert null_field.status_code == 422
    assert null_field.json()["detail"][0]["field"] == "enabled"


async def test_member_and_auditor_permissions_on_models(api: Api) -> None:
    _, member = await api.env.new_user("max")
    _, auditor = await api.env.new_user("ann", "auditor")
    model = await api.model(family="openai", model="gpt-4o")
    member_read = await api.client.get("/api/v1/models", headers=api.env.auth(member))
    auditor_read = await api.client.get(
        f"/api/v1/models/{model['id']}", headers=api.env.auth(auditor)
    )
    auditor_write = await api.create_model(
        family="openai", model="x", headers=api.env.auth(auditor)
    )
    assert (member_read.status_code, auditor_read.status_code) == (403, 200)
    assert auditor_write.status_code == 403


async def test_a_single_stop_string_of_any_length_is_a_valid_option(api: Api) -> None:
    model = await api.model(family="openai", model="gpt-4o", options={"stop": "\n\nHuman:"})
    assert model["options"] == {"stop": "\n\nHuman:"}
