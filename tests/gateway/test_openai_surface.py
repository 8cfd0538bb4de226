"""Everything under ``/v1`` speaks OpenAI: ``models.retrieve`` works, and unknown paths and
wrong methods answer in OpenAI's error shape (SPEC §9)."""

from __future__ import annotations

import openai
import pytest

from tests.gateway.conftest import add_model, add_provider, sdk
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env


async def test_the_sdk_retrieves_an_available_model_and_not_an_invisible_one(
    env: Env, fake: FakeUpstream
) -> None:
    await add_provider(env, family="openai", name="up", base_url=fake.url + "/v1", api_key="sk-1")
    await add_model(env, family="openai", model="gpt-up", name="team/chat")
    await add_model(env, family="openai", model="gpt-off", name="off", enabled=False)
    client = sdk(env)
    model = await client.models.retrieve("team/chat")
    assert (model.id, model.object, model.owned_by) == ("team/chat", "model", "chatgate")
    listed = [m.id for m in (await client.models.list()).data]
    assert listed == ["team/chat"]
    for missing in ("off", "nope"):
        with pytest.raises(openai.NotFoundError) as error:
            await client.models.retrieve(missing)
        assert error.value.code == "model_not_found"
    _, member = await env.new_user("mia")
    with pytest.raises(openai.AuthenticationError):
        await sdk(env, "cgt_" + "x" * 43).models.retrieve("team/chat")
    assert (await sdk(env, member).models.retrieve("team/chat")).id == "team/chat"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/v1/embeddings", 404, "unknown_url"),
        ("POST", "/v1/completions", 404, "unknown_url"),
        ("GET", "/v1", 404, "unknown_url"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
        ("DELETE", "/v1/models", 405, "method_not_allowed"),
        ("POST", "/v1/models/chat", 405, "method_not_allowed"),
    ],
)
async def test_unknown_paths_and_wrong_methods_answer_in_openais_shape(
    env: Env, method: str, path: str, status: int, code: str
) -> None:
    response = await env.client.request(method, path, headers=env.auth(env.owner_token))
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert (body["error"]["code"], body["error"]["type"]) == (code, "invalid_request_error")
    assert body["error"]["message"]
    assert response.headers["x-chatgate-request-id"]
    if status == 405:
        assert response.headers["allow"] in ("POST", "GET")
