"""The SDK against a live server (a real uvicorn on 127.0.0.1, SQLite and PostgreSQL):
each resource group round-trips through ``Client`` and ``AsyncClient`` alike, errors
arrive typed with the server's code, paginated lists follow their cursors, and
``openai()`` reaches the gateway with the same token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from chatgate.audit.schemas import AuditEntryOut
from chatgate.chats.schemas import ChatCreate, ChatOut, MessageOut
from chatgate.client import (
    AsyncClient,
    BadRequest,
    ChatgateConnectionError,
    Client,
    ConfigDocument,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)
from chatgate.models.schemas import ModelCreate, ModelOut, ModelUpdate
from chatgate.providers.schemas import (
    ProviderCreate,
    ProviderKeyCreate,
    ProviderKeyUpdate,
    ProviderOut,
    ProviderTestUnsaved,
    ProviderUpdate,
)
from chatgate.users.schemas import TokenCreate, UserCreate, UserUpdate
from tests.client.sdk_callers import AwaitedClient, Caller, ThreadedClient
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env, eventually

KEY = "sk-upstream-key-0123456789"
USER_KEY = "sk-user-own-key-0123456789"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(params=["sync", "async"])
async def connect(
    request: pytest.FixtureRequest, live: str
) -> AsyncIterator[Callable[[str], Caller]]:
    """Open an SDK client of the test's kind on the live server with a token."""
    opened: list[Client | AsyncClient] = []

    def open_client(token: str) -> Caller:
        if request.param == "sync":
            sync_client = Client(live, token)
            opened.append(sync_client)
            return ThreadedClient(sync_client)
        async_client = AsyncClient(live, token)
        opened.append(async_client)
        return AwaitedClient(async_client)

    yield open_client
    for client in opened:
        if isinstance(client, AsyncClient):
            await client.close()
        else:
            client.close()


@pytest.fixture
def admin(env: Env, connect: Callable[[str], Caller]) -> Caller:
    return connect(env.owner_token)


async def bound_model(admin: Caller, fake: FakeUpstream) -> tuple[ProviderOut, ModelOut]:
    provider = await admin.create_provider(
        ProviderCreate(family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY)
    )
    model = await admin.create_model(
        ModelCreate(
            provider_config_id=str(provider.id),
            model="gpt-up",
            name="chat",
            context_limit=8192,
            is_default=True,
        )
    )
    return provider, model


async def test_providers_keys_and_models_round_trip(admin: Caller, fake: FakeUpstream) -> None:
    families = await admin.list_provider_families()
    assert "openai-compat" in [f.family for f in families]

    provider = await admin.create_provider(
        ProviderCreate(family="openai-compat", name="vllm", base_url=fake.url + "/v1", api_key=KEY)
    )
    assert isinstance(provider, ProviderOut)
    assert (provider.name, provider.key_count, provider.has_api_key) == ("vllm", 1, True)
    assert (await admin.get_provider(provider.id)).base_url == fake.url + "/v1"
    renamed = await admin.update_provider(provider.id, ProviderUpdate(display_name="Our box"))
    assert renamed.display_name == "Our box"
    assert [p.name for p in await admin.list_providers()] == ["vllm"]
    with pytest.raises(Conflict) as taken:
        await admin.create_provider(
            {"family": "openai-compat", "name": "vllm", "base_url": fake.url, "api_key": KEY}
        )
    assert (taken.value.status, taken.value.code) == (409, "name_taken")

    second = await admin.add_provider_key(
        provider.id, ProviderKeyCreate(api_key=KEY + "-2", label="second")
    )
    relabelled = await admin.update_provider_key(
        provider.id, second.id, ProviderKeyUpdate(label="backup")
    )
    assert relabelled.label == "backup"
    assert sorted(k.label for k in await admin.list_provider_keys(provider.id)) == [
        "backup",
        "primary",
    ]
    tested = await admin.connection_test(provider.id, key_id=second.id)
    assert tested.ok
    assert [k.id for k in tested.keys] == [second.id]
    unsaved = await admin.connection_test_unsaved(
        ProviderTestUnsaved(family="openai-compat", base_url=fake.url + "/v1", api_key=KEY)
    )
    assert unsaved.ok
    await admin.delete_provider_key(provider.id, second.id)
    assert [k.label for k in await admin.list_provider_keys(provider.id)] == ["primary"]

    model = await admin.create_model(
        ModelCreate(
            provider_config_id=str(provider.id),
            model="llama",
            name="chat",
            context_limit=8192,
            is_default=True,
        )
    )
    assert (await admin.get_model(model.id)).provider_config_id == provider.id
    updated = await admin.update_model(model.id, ModelUpdate(display_name="Chat"))
    assert updated.display_name == "Chat"
    assert [m.name for m in await admin.list_models()] == ["chat"]
    assert [(m.name, m.available) for m in await admin.my_models()] == [("chat", True)]
    impact = await admin.provider_delete_impact(provider.id)
    assert [m.name for m in impact.model_configs] == ["chat"]

    await admin.delete_model(model.id)
    await admin.delete_provider(provider.id)
    with pytest.raises(NotFound) as gone:
        await admin.get_provider(provider.id)
    assert (gone.value.status, gone.value.code) == (404, "not_found")
    assert await admin.list_providers() == []


async def test_users_tokens_and_roles(
    env: Env, admin: Caller, connect: Callable[[str], Caller]
) -> None:
    user = await admin.create_user(UserCreate(username="Mia", role="member"))
    assert (user.username, user.role) == ("mia", "member")
    assert (await admin.get_user(user.id)).username == "mia"
    renamed = await admin.update_user(user.id, UserUpdate(display_name="Mia M."))
    assert renamed.display_name == "Mia M."
    assert sorted(u.username for u in await admin.list_users()) == ["admin", "mia"]

    minted = await admin.create_token(user.id, TokenCreate(name="laptop"))
    assert [t.name for t in await admin.list_tokens(user.id)] == ["laptop"]
    member = connect(minted.token)
    assert (await member.me()).id == user.id
    with pytest.raises(Forbidden) as refused:
        await member.list_providers()
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    with pytest.raises(Conflict) as live_token:
        await admin.create_token(user.id, TokenCreate(name="another"))
    assert live_token.value.code == "user_has_live_token"

    await admin.revoke_token(minted.id)
    with pytest.raises(Unauthorized) as revoked:
        await member.me()
    assert revoked.value.status == 401
    assert minted.token not in str(revoked.value)


async def test_retention_days_and_user_keys(
    env: Env, admin: Caller, connect: Callable[[str], Caller], fake: FakeUpstream
) -> None:
    assert await admin.get_chat_retention_days() == 30
    await admin.set_chat_retention_days(7)
    assert await admin.get_chat_retention_days() == 7
    with pytest.raises(BadRequest) as invalid:
        await admin.set_chat_retention_days(5000)
    assert (invalid.value.status, invalid.value.code) == (400, "retention_days_invalid")
    assert invalid.value.detail == {"field": "retention_days"}

    provider = await admin.create_provider(
        ProviderCreate(
            family="openai-compat",
            name="byok",
            base_url=fake.url + "/v1",
            central_api_key_enabled=False,
            allow_user_api_key=True,
        )
    )
    stored = await admin.set_my_provider_key(provider.id, USER_KEY)
    assert stored.has_user_api_key
    assert [e.has_user_api_key for e in await admin.my_provider_keys()] == [True]
    await admin.delete_my_provider_key(provider.id)
    assert [e.has_user_api_key for e in await admin.my_provider_keys()] == [False]


async def test_paginated_lists_follow_their_cursors(admin: Caller, fake: FakeUpstream) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        await admin.create_user(UserCreate(username=name))
    first = await admin.audit_log_page(target_type="user", limit=2)
    assert len(first.items) == 2
    assert first.next_cursor is not None
    entries = await admin.audit_log(target_type="user", page_size=2)
    assert all(isinstance(e, AuditEntryOut) for e in entries)
    # Newest first, every page followed: each creation once (the owner first of all).
    created = [e.after["username"] for e in entries if e.action == "user.create" and e.after]
    assert created == ["u5", "u4", "u3", "u2", "u1", "admin"]

    await bound_model(admin, fake)
    for title in ("a", "b", "c"):
        await admin.create_chat(ChatCreate(title=title))
    chats = await admin.chats(page_size=2)
    assert all(isinstance(c, ChatOut) for c in chats)
    assert [c.title for c in chats] == ["c", "b", "a"]

    fake.script(text="Hello from upstream.")
    reply = await admin.send_message(chats[0].id, "Hi")
    assert isinstance(reply, MessageOut)
    assert (reply.role, reply.content) == ("assistant", "Hello from upstream.")
    messages = await admin.messages(chats[0].id, page_size=1)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Hi"),
        ("assistant", "Hello from upstream."),
    ]
    archived = await admin.update_chat(chats[0].id, {"archived": True})
    assert archived.archived
    assert [c.title for c in await admin.chats(archived=True)] == ["c"]
    await admin.delete_chat(chats[0].id)
    with pytest.raises(NotFound):
        await admin.get_chat(chats[0].id)


async def test_system_endpoints_and_usage(admin: Caller) -> None:
    assert (await admin.healthz()).status == "ok"
    assert (await admin.readyz()).status == "ready"
    assert "chatgate_" in await admin.metrics()
    assert await admin.usage(group_by="user") == []


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_openai_reaches_the_gateway_with_the_same_token(
    env: Env, live: str, fake: FakeUpstream, kind: str
) -> None:
    async with AsyncClient(live, env.owner_token) as setup:
        await bound_model(AwaitedClient(setup), fake)
    fake.script(text="Through the gateway.")
    messages: Any = [{"role": "user", "content": "Hi"}]
    if kind == "sync":
        with Client(live, env.owner_token) as client, client.openai() as gateway:
            completion = await asyncio.to_thread(
                lambda: gateway.chat.completions.create(model="chat", messages=messages)
            )
    else:
        async with (
            AsyncClient(live, env.owner_token) as async_client,
            async_client.openai() as async_gateway,
        ):
            completion = await async_gateway.chat.completions.create(
                model="chat", messages=messages
            )
    assert completion.choices[0].message.content == "Through the gateway."
    assert fake.requests[-1].api_key == KEY
    async with AsyncClient(live, env.owner_token) as check:

        async def counted() -> bool:
            usage = await check.usage(group_by="model")
            return [(u.name, u.requests) for u in usage] == [("chat", 1)]

        # Usage rows are written after the answer (off the request path).
        await eventually(counted, what="the request in the usage totals")


async def test_an_unreachable_server_is_a_connection_error_without_the_token() -> None:
    token = "cgt_" + "s" * 43
    with Client(UNREACHABLE, token) as client, pytest.raises(ChatgateConnectionError) as sync_error:
        client.me()
    async with AsyncClient(UNREACHABLE, token) as async_client:
        with pytest.raises(ChatgateConnectionError) as async_error:
            await async_client.me()
    for error in (sync_error.value, async_error.value):
        assert UNREACHABLE in str(error)
        assert token not in str(error)
        assert error.__cause__ is None
    assert token not in repr(Client(UNREACHABLE, token))


async def test_configuration_as_code_export_plan_apply(admin: Caller) -> None:
    document = {
        "version": 1,
        "providers": [
            {
                "name": "local",
                "family": "openai-compat",
                "base_url": "http://127.0.0.1:9/v1",
                "allow_user_api_key": True,
                "keys": [{"label": "main", "api_key": KEY, "enabled": True}],
            }
        ],
        "models": [
            {
                "name": "fast",
                "model": "llama3",
                "family": "openai-compat",
                "provider": "local",
                "context_limit": 8192,
            }
        ],
        "default_model": "fast",
    }
    planned = await admin.plan_config(document)
    assert [(c.action, c.kind, c.name) for c in planned][:2] == [
        ("create", "provider", "local"),
        ("create", "provider_key", "local/main"),
    ]
    applied = await admin.apply_config(document)
    assert applied == planned
    assert await admin.plan_config(document) == []  # idempotent

    exported = await admin.export_config()
    assert isinstance(exported, ConfigDocument)
    assert [p.name for p in exported.providers] == ["local"]
    assert exported.providers[0].keys[0].api_key == "env:CHATGATE_KEY_LOCAL_MAIN"

    provider = (await admin.list_providers())[0]
    await admin.set_my_provider_key(provider.id, USER_KEY)
    with pytest.raises(Conflict) as refused:
        await admin.apply_config({"version": 1}, prune=True)
    assert refused.value.code == "user_key_loss"
    pruned = await admin.apply_config({"version": 1}, prune=True, allow_user_key_loss=True)
    assert ("delete", "provider", "local", False) in [
        (c.action, c.kind, c.name, c.cascade) for c in pruned
    ]
    with pytest.raises(BadRequest) as invalid:
        await admin.plan_config({"version": 1, "providers": [{"name": "x", "family": "nope"}]})
    assert invalid.value.detail["path"].startswith("providers[0]")


async def test_a_web_session_signs_in_and_out(env: Env, connect: Callable[[str], Caller]) -> None:
    # No bearer token: the session cookie the sign-in sets is what authenticates.
    browserless = connect("")
    with pytest.raises(Unauthorized):
        await browserless.me()
    await browserless.sign_in(env.owner_token)
    assert (await browserless.me()).username == "admin"
    await browserless.sign_out()
    with pytest.raises(Unauthorized):
        await browserless.me()
