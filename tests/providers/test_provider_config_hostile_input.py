"""Hostile provider-config input is a 4xx on both databases, never a 500 (SPEC §3)."""

from __future__ import annotations

import pytest

from tests.support.providers import Api


@pytest.mark.parametrize("display_name", ["Open\x00AI", "Open\x1bAI", "Open\nAI"])
async def test_a_nul_or_control_character_in_a_display_name_is_400_on_create_and_patch(
    api: Api, display_name: str
) -> None:
    # PostgreSQL text cannot hold U+0000: the write must be refused, not fail with a 500.
    # A string is the right type, so it is a rule's 400 (SPEC §3), not a 422.
    created = await api.create_provider("openai", api_key="sk-one", display_name=display_name)
    assert created.status_code == 400, created.text
    assert created.json()["code"] == "display_name_invalid"
    assert created.json()["detail"] == {"field": "display_name"}

    config = await api.provider("openai", display_name="  Team  ")
    assert config["display_name"] == "Team"
    patched = await api.patch_provider(config["id"], display_name=display_name)
    assert patched.status_code == 400, patched.text
    assert patched.json()["code"] == "display_name_invalid"
    assert (await api.get_provider(config["id"])).json()["display_name"] == "Team"


async def test_a_base_url_longer_than_its_2048_character_limit_is_422(api: Api) -> None:
    long_url = "https://example.com/" + "p" * 2100
    created = await api.create_provider("openai", api_key="sk-one", base_url=long_url)
    assert created.status_code == 422, created.text
    assert created.json()["detail"][0]["field"] == "base_url"

    config = await api.provider("openai")
    patched = await api.patch_provider(config["id"], base_url=long_url, drop_keys=True)
    assert patched.status_code == 422, patched.text
    assert patched.json()["detail"][0]["field"] == "base_url"

    fits = "https://example.com/" + "p" * (2048 - len("https://example.com/"))
    accepted = await api.create_provider("openai", api_key="sk-two", base_url=fits)
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("base_url", ["https://h\\evil.example/v1", "https://evil\\@h/v1"])
async def test_a_backslash_in_the_base_url_host_is_base_url_invalid(
    api: Api, base_url: str
) -> None:
    # Parsers disagree on such a host (WHATWG reads "\" as "/"), so the origin keys are
    # bound to would depend on who parses it.
    response = await api.create_provider("openai", api_key="sk-one", base_url=base_url)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "base_url_invalid"
