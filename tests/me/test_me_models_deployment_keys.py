"""GET /api/v1/me/models with deployment keys (SPEC §1, §5 case 4, §6 (c)): a deployment
key serves a family only through the family's default base URL."""

from __future__ import annotations

import pytest

from tests.support.helpers import Env
from tests.support.userkeys import (
    add_model,
    add_provider,
    availability,
    catalog,
    my_keys,
    patch_provider,
)


@pytest.fixture
def deployment_environ() -> dict[str, str]:
    return {
        "CHATGATE_OPENAI_API_KEY": "sk-deployment-openai-000000000000",
        "CHATGATE_ANTHROPIC_API_KEY": "sk-deployment-anthropic-0000000000",
        # openai-compat has no built-in default base URL: this one makes its key usable.
        "CHATGATE_OPENAI_COMPAT_API_KEY": "sk-deployment-compat-00000000000",
        "CHATGATE_OPENAI_COMPAT_BASE_URL": "http://127.0.0.1:9/v1",
        # azure has no default base URL at all: its deployment key can serve nothing.
        "CHATGATE_AZURE_API_KEY": "sk-deployment-azure-000000000000",
    }


async def test_an_unbound_model_in_a_family_without_configs_is_served_by_the_deployment_key(
    env: Env,
) -> None:
    await add_model(env, family="anthropic", model="claude-up", name="claude")
    _, member = await env.new_user("mia")
    entry = (await catalog(env, member))["claude"]
    assert availability(entry) == (True, None)
    assert entry["provider_config_id"] is None


async def test_a_deployment_key_without_a_default_base_url_serves_nothing(env: Env) -> None:
    await add_model(env, family="azure", model="gpt-deployment", name="azure-chat")
    _, member = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert await catalog(env, member) == {}
    assert availability((await catalog(env, admin))["azure-chat"]) == (False, "missing_api_key")


async def test_a_config_on_the_default_base_url_uses_the_deployment_key_as_its_central_key(
    env: Env,
) -> None:
    provider = await add_provider(env, name="deploy", central_api_key_enabled=True, api_key=None)
    assert provider["has_api_key"] is False
    assert provider["has_effective_api_key"] is True
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    _, member = await env.new_user("mia")
    assert availability((await catalog(env, member))["chat"]) == (True, None)


async def test_moving_such_a_config_off_the_default_base_url_hides_its_models_from_members(
    env: Env,
) -> None:
    provider = await add_provider(env, name="deploy", api_key=None)
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    # The deployment key is never sent to another URL: no effective central key is left.
    moved = await patch_provider(env, provider["id"], base_url="https://proxy.example.com/v1")
    assert moved["has_effective_api_key"] is False
    _, member = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert await catalog(env, member) == {}
    assert availability((await catalog(env, admin))["chat"]) == (False, "missing_api_key")


async def test_with_configs_all_disabled_the_deployment_key_does_not_serve_unbound_models(
    env: Env,
) -> None:
    provider = await add_provider(env, name="only")
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")
    await patch_provider(env, provider["id"], enabled=False)
    _, member = await env.new_user("mia")
    _, admin = await env.new_user("ada", "admin")
    assert "chat" not in await catalog(env, member)
    assert availability((await catalog(env, admin))["chat"]) == (False, "provider_disabled")


async def test_unbound_openai_compat_models_are_served_by_the_deployment_key_whatever_configs_exist(
    env: Env,
) -> None:
    await add_provider(
        env,
        family="openai-compat",
        name="local-llm",
        base_url="http://127.0.0.1:8000/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(
        env, family="openai-compat", provider_config_id=None, model="llama", name="llama"
    )
    _, member = await env.new_user("mia")
    entry = (await catalog(env, member))["llama"]
    assert availability(entry) == (True, None)
    assert entry["provider_config_id"] is None


async def test_the_fallback_flag_counts_a_deployment_key_as_an_effective_central_key(
    env: Env,
) -> None:
    await add_provider(
        env,
        name="deploy-fallback",
        api_key=None,
        allow_user_api_key=True,
        allow_central_api_key_fallback=True,
    )
    _, member = await env.new_user("mia")
    [entry] = await my_keys(env, member)
    assert entry["has_central_api_key_fallback"] is True
