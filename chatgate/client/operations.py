"""Every API operation described once: method, path, query, body and answer type.

``Client`` and ``AsyncClient`` bind these builders as methods (``chatgate.client.binding``)
and run the ``Call`` they return with their own transport, so the two clients cannot
disagree about an operation. ``OPERATIONS`` maps each (method, path template) to its
builder's name: the contract test compares it with the server's OpenAPI document.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from chatgate.audit.schemas import AuditPage
from chatgate.catalog.schemas import MyModel
from chatgate.chats.schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    ChatUpdate,
    MessageOut,
    MessagePage,
    RetentionOut,
)
from chatgate.configdoc.schemas import ChangesOut, ConfigChange, ConfigDocument, ExportOut
from chatgate.models.schemas import ModelCreate, ModelOut, ModelUpdate
from chatgate.providers.schemas import (
    ConnectionTestOut,
    DeleteImpact,
    ProviderCreate,
    ProviderFamilyOut,
    ProviderKeyCreate,
    ProviderKeyOut,
    ProviderKeyUpdate,
    ProviderOut,
    ProviderTestUnsaved,
    ProviderUpdate,
)
from chatgate.usage.schemas import UsageGroupOut
from chatgate.userkeys.schemas import ProviderKeyEntry
from chatgate.users.schemas import (
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

if TYPE_CHECKING:
    # Imported when first used: their modules load the web framework (or the database
    # layer), which a command-line call should not pay for.
    from chatgate.system.routes import Health, Readiness
    from chatgate.usage.service import GroupBy

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M", bound=BaseModel)

# An id in a path: a UUID, or its text (``"me"`` where the API allows it).
Id = uuid.UUID | str
# A request body: the API's own request model (only the fields set are sent, so PATCH stays
# partial), or a plain mapping sent as it is.
Body = BaseModel | Mapping[str, Any]
When = datetime | str


@dataclass(frozen=True)
class Call(Generic[R_co]):
    """One HTTP exchange and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], R_co]
    params: dict[str, str] = field(default_factory=dict)
    json: Any = field(default=None, repr=False)  # may hold a secret (an api_key)
    # Statuses that are answers rather than errors (``/readyz`` answers 503 with a body).
    accept: frozenset[int] = frozenset()


class Page(Protocol[T_co]):
    """A page of a paginated list (audit log, chats, messages)."""

    @property
    def items(self) -> Sequence[T_co]: ...
    @property
    def next_cursor(self) -> str | None: ...


OPERATIONS: dict[tuple[str, str], str] = {}
F = TypeVar("F", bound=Callable[..., Call[Any]])


def operation(method: str, template: str) -> Callable[[F], F]:
    def register(build: F) -> F:
        OPERATIONS[(method, template)] = build.__name__
        return build

    return register


# -- helpers -------------------------------------------------------------------------------


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _model(kind: Any) -> Callable[[httpx.Response], Any]:
    adapter = _adapter(kind)

    def parse(response: httpx.Response) -> Any:
        return adapter.validate_json(response.content)

    return parse


def _read(kind: type[M], response: httpx.Response) -> M:
    return kind.model_validate_json(response.content)


def _nothing(_response: httpx.Response) -> None:
    return None


def _text(response: httpx.Response) -> str:
    return response.text


def _segment(value: Id) -> str:
    return quote(str(value), safe="")


def _body(body: Body | None) -> Any:
    if body is None:
        return None
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", exclude_unset=True)
    return dict(body)


def _query(**values: Any) -> dict[str, str]:
    """Query parameters without the absent ones, times as ISO 8601."""
    query: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            query[name] = value.isoformat()
        elif isinstance(value, bool):
            query[name] = "true" if value else "false"
        else:
            query[name] = str(value)
    return query


# -- system --------------------------------------------------------------------------------


@operation("GET", "/healthz")
def healthz() -> Call[Health]:
    from chatgate.system.routes import Health

    return Call("GET", "/healthz", _model(Health))


@operation("GET", "/readyz")
def readyz() -> Call[Readiness]:
    """Readiness: ``status`` is ``unready`` (with the failing checks) on a 503."""
    from chatgate.system.routes import Readiness

    return Call("GET", "/readyz", _model(Readiness), accept=frozenset({503}))


@operation("GET", "/metrics")
def metrics() -> Call[str]:
    """The Prometheus exposition text."""
    return Call("GET", "/metrics", _text)


# -- users and tokens ----------------------------------------------------------------------


@operation("POST", "/api/v1/users")
def create_user(body: UserCreate | Mapping[str, Any]) -> Call[UserOut]:
    return Call("POST", "/api/v1/users", _model(UserOut), json=_body(body))


@operation("GET", "/api/v1/users")
def list_users() -> Call[list[UserOut]]:
    return Call("GET", "/api/v1/users", _model(list[UserOut]))


@operation("GET", "/api/v1/users/me")
def me() -> Call[UserOut]:
    return Call("GET", "/api/v1/users/me", _model(UserOut))


@operation("GET", "/api/v1/users/{user_id}")
def get_user(user_id: Id) -> Call[UserOut]:
    return Call("GET", f"/api/v1/users/{_segment(user_id)}", _model(UserOut))


@operation("PATCH", "/api/v1/users/{user_id}")
def update_user(user_id: Id, body: UserUpdate | Mapping[str, Any]) -> Call[UserOut]:
    return Call("PATCH", f"/api/v1/users/{_segment(user_id)}", _model(UserOut), json=_body(body))


@operation("POST", "/api/v1/users/{user_id}/tokens")
def create_token(user_id: Id, body: TokenCreate | Mapping[str, Any]) -> Call[TokenCreated]:
    path = f"/api/v1/users/{_segment(user_id)}/tokens"
    return Call("POST", path, _model(TokenCreated), json=_body(body))


@operation("GET", "/api/v1/users/{user_id}/tokens")
def list_tokens(user_id: Id = "me") -> Call[list[TokenOut]]:
    return Call("GET", f"/api/v1/users/{_segment(user_id)}/tokens", _model(list[TokenOut]))


@operation("DELETE", "/api/v1/tokens/{token_id}")
def revoke_token(token_id: Id) -> Call[None]:
    return Call("DELETE", f"/api/v1/tokens/{_segment(token_id)}", _nothing)


# -- web sessions (cookies kept by the client's cookie jar) ---------------------------------


@operation("POST", "/api/v1/sessions")
def sign_in(token: str) -> Call[None]:
    return Call("POST", "/api/v1/sessions", _nothing, json={"token": token})


@operation("DELETE", "/api/v1/sessions/current")
def sign_out() -> Call[None]:
    return Call("DELETE", "/api/v1/sessions/current", _nothing)


# -- provider configs and their keys -------------------------------------------------------


@operation("GET", "/api/v1/provider-families")
def list_provider_families() -> Call[list[ProviderFamilyOut]]:
    return Call("GET", "/api/v1/provider-families", _model(list[ProviderFamilyOut]))


@operation("GET", "/api/v1/providers")
def list_providers() -> Call[list[ProviderOut]]:
    return Call("GET", "/api/v1/providers", _model(list[ProviderOut]))


@operation("POST", "/api/v1/providers")
def create_provider(body: ProviderCreate | Mapping[str, Any]) -> Call[ProviderOut]:
    return Call("POST", "/api/v1/providers", _model(ProviderOut), json=_body(body))


@operation("POST", "/api/v1/providers/test")
def connection_test_unsaved(
    body: ProviderTestUnsaved | Mapping[str, Any],
) -> Call[ConnectionTestOut]:
    return Call("POST", "/api/v1/providers/test", _model(ConnectionTestOut), json=_body(body))


@operation("GET", "/api/v1/providers/{provider_id}")
def get_provider(provider_id: Id) -> Call[ProviderOut]:
    return Call("GET", f"/api/v1/providers/{_segment(provider_id)}", _model(ProviderOut))


@operation("PATCH", "/api/v1/providers/{provider_id}")
def update_provider(provider_id: Id, body: ProviderUpdate | Mapping[str, Any]) -> Call[ProviderOut]:
    path = f"/api/v1/providers/{_segment(provider_id)}"
    return Call("PATCH", path, _model(ProviderOut), json=_body(body))


@operation("DELETE", "/api/v1/providers/{provider_id}")
def delete_provider(provider_id: Id) -> Call[None]:
    return Call("DELETE", f"/api/v1/providers/{_segment(provider_id)}", _nothing)


@operation("GET", "/api/v1/providers/{provider_id}/delete-impact")
def provider_delete_impact(provider_id: Id) -> Call[DeleteImpact]:
    path = f"/api/v1/providers/{_segment(provider_id)}/delete-impact"
    return Call("GET", path, _model(DeleteImpact))


@operation("POST", "/api/v1/providers/{provider_id}/test")
def connection_test(provider_id: Id, key_id: Id | None = None) -> Call[ConnectionTestOut]:
    """Test every enabled pool key, or only ``key_id``."""
    path = f"/api/v1/providers/{_segment(provider_id)}/test"
    body = {"key_id": str(key_id)} if key_id is not None else {}
    return Call("POST", path, _model(ConnectionTestOut), json=body)


@operation("GET", "/api/v1/providers/{provider_id}/keys")
def list_provider_keys(provider_id: Id) -> Call[list[ProviderKeyOut]]:
    path = f"/api/v1/providers/{_segment(provider_id)}/keys"
    return Call("GET", path, _model(list[ProviderKeyOut]))


@operation("POST", "/api/v1/providers/{provider_id}/keys")
def add_provider_key(
    provider_id: Id, body: ProviderKeyCreate | Mapping[str, Any]
) -> Call[ProviderKeyOut]:
    path = f"/api/v1/providers/{_segment(provider_id)}/keys"
    return Call("POST", path, _model(ProviderKeyOut), json=_body(body))


@operation("PATCH", "/api/v1/providers/{provider_id}/keys/{key_id}")
def update_provider_key(
    provider_id: Id,
    key_id: Id,
    body: ProviderKeyUpdate | Mapping[str, Any],
    *,
    force: bool = False,
) -> Call[ProviderKeyOut]:
    path = f"/api/v1/providers/{_segment(provider_id)}/keys/{_segment(key_id)}"
    params = _query(force=True) if force else {}
    return Call("PATCH", path, _model(ProviderKeyOut), params=params, json=_body(body))


@operation("DELETE", "/api/v1/providers/{provider_id}/keys/{key_id}")
def delete_provider_key(provider_id: Id, key_id: Id, *, force: bool = False) -> Call[None]:
    path = f"/api/v1/providers/{_segment(provider_id)}/keys/{_segment(key_id)}"
    return Call("DELETE", path, _nothing, params=_query(force=True) if force else {})


# -- model configs -------------------------------------------------------------------------


@operation("GET", "/api/v1/models")
def list_models() -> Call[list[ModelOut]]:
    return Call("GET", "/api/v1/models", _model(list[ModelOut]))


@operation("POST", "/api/v1/models")
def create_model(body: ModelCreate | Mapping[str, Any]) -> Call[ModelOut]:
    return Call("POST", "/api/v1/models", _model(ModelOut), json=_body(body))


@operation("GET", "/api/v1/models/{model_id}")
def get_model(model_id: Id) -> Call[ModelOut]:
    return Call("GET", f"/api/v1/models/{_segment(model_id)}", _model(ModelOut))


@operation("PATCH", "/api/v1/models/{model_id}")
def update_model(model_id: Id, body: ModelUpdate | Mapping[str, Any]) -> Call[ModelOut]:
    path = f"/api/v1/models/{_segment(model_id)}"
    return Call("PATCH", path, _model(ModelOut), json=_body(body))


@operation("DELETE", "/api/v1/models/{model_id}")
def delete_model(model_id: Id) -> Call[None]:
    return Call("DELETE", f"/api/v1/models/{_segment(model_id)}", _nothing)


# -- the caller's own catalog and keys -----------------------------------------------------


@operation("GET", "/api/v1/me/models")
def my_models() -> Call[list[MyModel]]:
    return Call("GET", "/api/v1/me/models", _model(list[MyModel]))


@operation("GET", "/api/v1/me/provider-keys")
def my_provider_keys() -> Call[list[ProviderKeyEntry]]:
    return Call("GET", "/api/v1/me/provider-keys", _model(list[ProviderKeyEntry]))


@operation("PUT", "/api/v1/me/provider-keys/{provider_config_id}")
def set_my_provider_key(provider_config_id: Id, api_key: str) -> Call[ProviderKeyEntry]:
    path = f"/api/v1/me/provider-keys/{_segment(provider_config_id)}"
    return Call("PUT", path, _model(ProviderKeyEntry), json={"api_key": api_key})


@operation("DELETE", "/api/v1/me/provider-keys/{provider_config_id}")
def delete_my_provider_key(provider_config_id: Id) -> Call[None]:
    return Call("DELETE", f"/api/v1/me/provider-keys/{_segment(provider_config_id)}", _nothing)


# -- settings ------------------------------------------------------------------------------


def _retention_days(response: httpx.Response) -> int:
    return _read(RetentionOut, response).retention_days


@operation("GET", "/api/v1/settings/chat-retention-days")
def get_chat_retention_days() -> Call[int]:
    return Call("GET", "/api/v1/settings/chat-retention-days", _retention_days)


@operation("PUT", "/api/v1/settings/chat-retention-days")
def set_chat_retention_days(retention_days: int) -> Call[None]:
    body = {"retention_days": retention_days}
    return Call("PUT", "/api/v1/settings/chat-retention-days", _nothing, json=body)


# -- audit log and usage -------------------------------------------------------------------


@operation("GET", "/api/v1/audit-log")
def audit_log_page(
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_id: Id | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[AuditPage]:
    """One page, newest first; ``audit_log`` follows the cursors for you."""
    params = _query(
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return Call("GET", "/api/v1/audit-log", _model(AuditPage), params=params)


@operation("GET", "/api/v1/usage")
def usage(
    *, group_by: GroupBy = "model", since: When | None = None, until: When | None = None
) -> Call[list[UsageGroupOut]]:
    params = _query(group_by=group_by, since=since, until=until)
    return Call("GET", "/api/v1/usage", _model(list[UsageGroupOut]), params=params)


# -- chats and messages (SPEC §10) ---------------------------------------------------------


@operation("POST", "/api/v1/chats")
def create_chat(body: ChatCreate | Mapping[str, Any] | None = None) -> Call[ChatOut]:
    return Call("POST", "/api/v1/chats", _model(ChatOut), json=_body(body) or {})


@operation("GET", "/api/v1/chats")
def chats_page(
    *, archived: bool | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[ChatPage]:
    """One page, newest first; ``chats`` follows the cursors for you."""
    params = _query(archived=archived, limit=limit, cursor=cursor)
    return Call("GET", "/api/v1/chats", _model(ChatPage), params=params)


@operation("GET", "/api/v1/chats/{chat_id}")
def get_chat(chat_id: Id) -> Call[ChatOut]:
    return Call("GET", f"/api/v1/chats/{_segment(chat_id)}", _model(ChatOut))


@operation("PATCH", "/api/v1/chats/{chat_id}")
def update_chat(chat_id: Id, body: ChatUpdate | Mapping[str, Any]) -> Call[ChatOut]:
    return Call("PATCH", f"/api/v1/chats/{_segment(chat_id)}", _model(ChatOut), json=_body(body))


@operation("DELETE", "/api/v1/chats/{chat_id}")
def delete_chat(chat_id: Id) -> Call[None]:
    return Call("DELETE", f"/api/v1/chats/{_segment(chat_id)}", _nothing)


@operation("GET", "/api/v1/chats/{chat_id}/messages")
def messages_page(
    chat_id: Id, *, limit: int | None = None, cursor: str | None = None
) -> Call[MessagePage]:
    """One page, oldest first; ``messages`` follows the cursors for you."""
    path = f"/api/v1/chats/{_segment(chat_id)}/messages"
    return Call("GET", path, _model(MessagePage), params=_query(limit=limit, cursor=cursor))


@operation("POST", "/api/v1/chats/{chat_id}/messages")
def send_message(chat_id: Id, content: str) -> Call[MessageOut]:
    """Send a message and wait for the stored reply (the API's ``stream=false``); for a
    streamed reply use the gateway through ``openai()``."""
    path = f"/api/v1/chats/{_segment(chat_id)}/messages"
    params = _query(stream=False)
    return Call("POST", path, _model(MessageOut), params=params, json={"content": content})


# -- configuration as code -----------------------------------------------------------------


def _document(response: httpx.Response) -> ConfigDocument:
    return _read(ExportOut, response).document


def _changes(response: httpx.Response) -> list[ConfigChange]:
    return _read(ChangesOut, response).changes


def _config_body(
    document: ConfigDocument | Mapping[str, Any], prune: bool, allow_user_key_loss: bool
) -> dict[str, Any]:
    # Only the fields the document sets: an absent one means "keep what is stored".
    return {
        "document": _body(document),
        "prune": prune,
        "allow_user_key_loss": allow_user_key_loss,
    }


@operation("GET", "/api/v1/config")
def export_config() -> Call[ConfigDocument]:
    """The configuration document (secrets as ``env:`` references)."""
    return Call("GET", "/api/v1/config", _document)


@operation("POST", "/api/v1/config/plan")
def plan_config(
    document: ConfigDocument | Mapping[str, Any],
    *,
    prune: bool = False,
    allow_user_key_loss: bool = False,
) -> Call[list[ConfigChange]]:
    """The changes ``apply_config`` would make; nothing is stored."""
    body = _config_body(document, prune, allow_user_key_loss)
    return Call("POST", "/api/v1/config/plan", _changes, json=body)


@operation("POST", "/api/v1/config/apply")
def apply_config(
    document: ConfigDocument | Mapping[str, Any],
    *,
    prune: bool = False,
    allow_user_key_loss: bool = False,
) -> Call[list[ConfigChange]]:
    """Apply the document in one transaction; the changes made (none the second time)."""
    body = _config_body(document, prune, allow_user_key_loss)
    return Call("POST", "/api/v1/config/apply", _changes, json=body)
