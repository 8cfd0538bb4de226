"""``AsyncClient``: the asynchronous SDK over httpx.AsyncClient (``Client``'s twin)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from chatgate.audit.schemas import AuditEntryOut
from chatgate.chats.schemas import ChatOut, MessageOut
from chatgate.client import operations as ops
from chatgate.client.binding import async_op
from chatgate.client.connection import DEFAULT_TIMEOUT_S, Connection
from chatgate.client.errors import connection_error, error_from_response
from chatgate.client.operations import Call, Id, Page, When

if TYPE_CHECKING:
    import openai

T = TypeVar("T")
R = TypeVar("R")


class AsyncClient:
    """Every ``/api/v1`` operation as a method returning the API's own response models.

    ``url`` and ``token`` default to ``CHATGATE_URL`` and ``CHATGATE_TOKEN``. Error
    answers raise ``ChatgateError`` subclasses; an unreachable server raises
    ``ChatgateConnectionError``. Use it as an async context manager, or await ``close()``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._connection = Connection.from_arguments(url, token)
        self._http = httpx.AsyncClient(
            base_url=self._connection.base_url,
            headers=self._connection.headers(),
            timeout=timeout,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._connection.base_url

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _execute(self, call: Call[R]) -> R:
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params or None, json=call.json
            )
        except httpx.TransportError as error:
            # ``from None``: httpx's exception holds the request, headers (token) included.
            raise connection_error(self.base_url, error) from None
        if response.status_code >= 400 and response.status_code not in call.accept:
            raise error_from_response(response) from None
        return call.parse(response)

    async def _follow(self, fetch: Callable[[str | None], Call[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await self._execute(fetch(cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def openai(self, **options: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` client for this server's gateway (``/v1``), same token."""
        import openai

        return openai.AsyncOpenAI(**self._connection.openai_arguments(), **options)

    # -- paginated lists, every page followed --------------------------------------------

    def audit_log(
        self,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        actor_id: Id | None = None,
        since: When | None = None,
        until: When | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[AuditEntryOut]:
        """Every matching audit entry, newest first, fetching pages as it goes."""
        return self._follow(
            lambda cursor: ops.audit_log_page(
                target_type=target_type,
                target_id=target_id,
                actor_id=actor_id,
                since=since,
                until=until,
                limit=page_size,
                cursor=cursor,
            )
        )

    def chats(
        self, *, archived: bool | None = None, page_size: int | None = None
    ) -> AsyncIterator[ChatOut]:
        """Every chat of the caller's, newest first."""
        return self._follow(
            lambda cursor: ops.chats_page(archived=archived, limit=page_size, cursor=cursor)
        )

    def messages(self, chat_id: Id, *, page_size: int | None = None) -> AsyncIterator[MessageOut]:
        """Every message of a chat, oldest first."""
        return self._follow(
            lambda cursor: ops.messages_page(chat_id, limit=page_size, cursor=cursor)
        )

    # -- one method per operation (chatgate.client.operations) ---------------------------

    healthz = async_op(ops.healthz)
    readyz = async_op(ops.readyz)
    metrics = async_op(ops.metrics)
    create_user = async_op(ops.create_user)
    list_users = async_op(ops.list_users)
    me = async_op(ops.me)
    get_user = async_op(ops.get_user)
    update_user = async_op(ops.update_user)
    create_token = async_op(ops.create_token)
    list_tokens = async_op(ops.list_tokens)
    revoke_token = async_op(ops.revoke_token)
    sign_in = async_op(ops.sign_in)
    sign_out = async_op(ops.sign_out)
    list_provider_families = async_op(ops.list_provider_families)
    list_providers = async_op(ops.list_providers)
    create_provider = async_op(ops.create_provider)
    connection_test_unsaved = async_op(ops.connection_test_unsaved)
    get_provider = async_op(ops.get_provider)
    update_provider = async_op(ops.update_provider)
    delete_provider = async_op(ops.delete_provider)
    provider_delete_impact = async_op(ops.provider_delete_impact)
    connection_test = async_op(ops.connection_test)
    list_provider_keys = async_op(ops.list_provider_keys)
    add_provider_key = async_op(ops.add_provider_key)
    update_provider_key = async_op(ops.update_provider_key)
    delete_provider_key = async_op(ops.delete_provider_key)
    list_models = async_op(ops.list_models)
    create_model = async_op(ops.create_model)
    get_model = async_op(ops.get_model)
    update_model = async_op(ops.update_model)
    delete_model = async_op(ops.delete_model)
    my_models = async_op(ops.my_models)
    my_provider_keys = async_op(ops.my_provider_keys)
    set_my_provider_key = async_op(ops.set_my_provider_key)
    delete_my_provider_key = async_op(ops.delete_my_provider_key)
    get_chat_retention_days = async_op(ops.get_chat_retention_days)
    set_chat_retention_days = async_op(ops.set_chat_retention_days)
    audit_log_page = async_op(ops.audit_log_page)
    usage = async_op(ops.usage)
    create_chat = async_op(ops.create_chat)
    chats_page = async_op(ops.chats_page)
    get_chat = async_op(ops.get_chat)
    update_chat = async_op(ops.update_chat)
    delete_chat = async_op(ops.delete_chat)
    messages_page = async_op(ops.messages_page)
    send_message = async_op(ops.send_message)
    export_config = async_op(ops.export_config)
    plan_config = async_op(ops.plan_config)
    apply_config = async_op(ops.apply_config)
