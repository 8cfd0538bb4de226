"""Hostile model-config input is a 4xx and never breaks a later request (SPEC §3, §4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.providers import Api

DEEP = '{"a":' * 300 + "1" + "}" * 300


async def _post_raw(api: Api, body: str) -> Any:
    return await api.client.post(
        "/api/v1/models",
        content=body.encode(),
        headers={**api.headers, "content-type": "application/json"},
    )


@pytest.mark.parametrize(
    "extra_body",
    ['{"x": NaN}', '{"x": Infinity}', '{"x": 100000000000000000000000}', DEEP],
    ids=["nan", "infinity", "int-beyond-64-bits", "nested-300-deep"],
)
async def test_extra_body_values_json_cannot_carry_are_400_and_the_model_list_keeps_working(
    api: Api, extra_body: str
) -> None:
    body = (
        '{"family": "openai", "model": "gpt-4o", "context_limit": 8192, '
        f'"options": {{"extra_body": {extra_body}}}}}'
    )
    response = await _post_raw(api, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "options_invalid"
    assert response.json()["detail"] == {"field": "extra_body"}
    assert await api.list_models() == []


async def test_extra_body_at_the_nesting_limit_and_64_bit_integers_are_accepted(api: Api) -> None:
    nested: dict[str, Any] = {"v": 2**63 - 1}
    for _ in range(30):
        nested = {"n": nested}
    model = await api.model(family="openai", model="gpt-4o", options={"extra_body": nested})
    assert model["options"]["extra_body"] == nested
    assert [m["id"] for m in await api.list_models()] == [model["id"]]


async def test_max_tokens_beyond_32_bits_is_400_and_stores_nothing(api: Api) -> None:
    response = await _post_raw(
        api,
        json.dumps(
            {
                "family": "openai",
                "model": "gpt-4o",
                "context_limit": 8192,
                "options": {"max_tokens": 2**64},
            }
        ),
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "options_invalid"
    assert await api.list_models() == []


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"model": "gpt\n4o"}, "model_invalid", "model"),
        ({"model": "gpt\x1b4o"}, "model_invalid", "model"),
    ],
)
async def test_control_characters_in_the_upstream_model_id_are_400_on_create_and_patch(
    api: Api, fields: dict[str, str], code: str, field: str
) -> None:
    created = await api.create_model(family="openai", **{"model": "gpt-4o", **fields})
    assert created.status_code == 400, created.text
    assert created.json()["code"] == code
    assert created.json()["detail"] == {"field": field}

    model = await api.model(family="openai", model="gpt-4o", display_name="GPT")
    patched = await api.patch_model(model["id"], **fields)
    assert patched.status_code == 400, patched.text
    assert patched.json()["code"] == code
    assert (await api.get_model(model["id"])).json()["model"] == "gpt-4o"


@pytest.mark.parametrize("display_name", ["GPT\x00", "GPT\x7f", "G\tPT"])
async def test_a_nul_or_control_character_in_a_display_name_is_400_on_both_databases(
    api: Api, display_name: str
) -> None:
    created = await api.create_model(family="openai", model="gpt-4o", display_name=display_name)
    assert created.status_code == 400, created.text
    assert created.json()["code"] == "display_name_invalid"
    assert created.json()["detail"] == {"field": "display_name"}
    model = await api.model(family="openai", model="gpt-4o", display_name="GPT")
    patched = await api.patch_model(model["id"], display_name=display_name)
    assert patched.status_code == 400, patched.text
    assert patched.json()["code"] == "display_name_invalid"
    assert (await api.get_model(model["id"])).json()["display_name"] == "GPT"


async def test_binding_checks_enabled_before_family_as_listed_in_spec(api: Api) -> None:
    disabled = await api.provider("anthropic", enabled=False)
    response = await api.create_model(
        family="openai", model="gpt-4o", provider_config_id=disabled["id"]
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "provider_config_disabled"
