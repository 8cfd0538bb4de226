"""The gateway's decisions for one request: who asks, for which model, may they use it;
then the attempt loop (``chatgate.gateway.attempts``) serves it."""

from __future__ import annotations

import uuid

from chatgate.authz import Permission, role_has
from chatgate.authz.tokens import AuthFailure, bearer_token, hash_token
from chatgate.crypto.keyring import KeyRing
from chatgate.gateway.attempts import AttemptLoop
from chatgate.gateway.body import ChatRequest
from chatgate.gateway.errors import GatewayError
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.keystate import KeyStateWriter
from chatgate.gateway.recording import Caller, record_refusal
from chatgate.gateway.replies import JsonReply, StreamReply
from chatgate.gateway.snapshot import ModelEntry, Snapshot
from chatgate.ids import utcnow
from chatgate.metrics import Metrics
from chatgate.models.options import apply_options
from chatgate.resolve import Resolution, model_visible_to_member
from chatgate.settings import Deployment, Settings
from chatgate.upstream.adapters import adapter_for
from chatgate.upstream.errors import FamilyNotSupported
from chatgate.upstream.http import UpstreamClient
from chatgate.usage.last_used import LastUsedTracker
from chatgate.usage.recorder import UsageRecorder

_UNAVAILABLE = {
    "user_api_key_required": (403, "this model needs your own API key for its provider"),
    "provider_disabled": (403, "the provider config serving this model is disabled"),
    "missing_api_key": (503, "no API key is configured for this model"),
    "family_not_supported": (400, "this provider family is not supported yet"),
}


class Gateway:
    """The per-process gateway: its parts are built once (``gateway.wiring``) and shared by
    every request; per-request state lives in ``AttemptLoop``."""

    def __init__(
        self,
        *,
        settings: Settings,
        deployment: Deployment,
        keyring: KeyRing,
        metrics: Metrics,
        client: UpstreamClient,
        usage: UsageRecorder,
        last_used: LastUsedTracker,
        health: KeyHealth,
        key_states: KeyStateWriter,
        installation_id: str,
    ) -> None:
        self.settings = settings
        self.deployment = deployment
        self.keyring = keyring
        self.metrics = metrics
        self.client = client
        self.usage = usage
        self.last_used = last_used
        self.installation_id = installation_id
        self.health = health
        self.key_states = key_states

    # -- who and what -----------------------------------------------------------------

    def authenticate(self, snapshot: Snapshot, authorization: str | None) -> Caller:
        token = bearer_token(authorization)
        if token is None:
            self.metrics.auth_failures.labels(reason=AuthFailure.MISSING_TOKEN).inc()
            raise GatewayError(
                401, "invalid_api_key", "a chatgate token is required (Authorization: Bearer)"
            )
        entry = snapshot.tokens.get(hash_token(token))
        now = utcnow()
        if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
            self.metrics.auth_failures.labels(reason=AuthFailure.UNKNOWN_TOKEN).inc()
            raise GatewayError(401, "invalid_api_key", "the token is not valid")
        user = snapshot.users.get(entry.user_id)
        if user is None or user.disabled:
            self.metrics.auth_failures.labels(reason=AuthFailure.USER_DISABLED).inc()
            raise GatewayError(401, "invalid_api_key", "the token is not valid")
        self.last_used.token_used(entry.token_id, now)
        return Caller(user=user, token_id=entry.token_id)

    def find_model(self, snapshot: Snapshot, caller: Caller, name: str) -> ModelEntry:
        model = snapshot.models_by_name.get(name)
        if model is None:
            try:
                model = snapshot.models_by_id.get(uuid.UUID(name))
            except ValueError:
                model = None
        if model is None or not model.facts.enabled or not self._visible(snapshot, caller, model):
            raise GatewayError(
                404,
                "model_not_found",
                f"the model {name!r} does not exist or is not available to you",
            )
        return model

    def visible(self, snapshot: Snapshot, caller: Caller, model: ModelEntry) -> bool:
        return model.facts.enabled and self._visible(snapshot, caller, model)

    def _visible(self, snapshot: Snapshot, caller: Caller, model: ModelEntry) -> bool:
        if role_has(caller.user.role, Permission.SEE_ALL_MODELS):
            return True
        return model_visible_to_member(model.facts, snapshot.families[model.facts.family])

    def resolution(self, snapshot: Snapshot, caller: Caller, model: ModelEntry) -> Resolution:
        return snapshot.resolution(model, caller.user.id)

    def available_models(self, snapshot: Snapshot, caller: Caller) -> list[ModelEntry]:
        models = [
            model
            for model in snapshot.models_by_name.values()
            if model.facts.enabled
            and self._visible(snapshot, caller, model)
            and self.resolution(snapshot, caller, model).available
        ]
        return sorted(models, key=lambda m: m.name)

    # -- the request ------------------------------------------------------------------

    def check_available(
        self, snapshot: Snapshot, caller: Caller, model: ModelEntry, request_id: str
    ) -> Resolution:
        """The model's resolution for this caller, or the refusal (recorded as attempt 0)."""
        resolution = self.resolution(snapshot, caller, model)
        if not resolution.available:
            reason = resolution.unavailable_reason or "missing_api_key"
            status, message = _UNAVAILABLE[reason]
            record_refusal(self.usage, request_id, caller, model, status, reason)
            raise GatewayError(status, reason, message)
        return resolution

    async def complete(
        self, snapshot: Snapshot, caller: Caller, request: ChatRequest, request_id: str
    ) -> JsonReply | StreamReply:
        model = self.find_model(snapshot, caller, request.model)
        resolution = self.check_available(snapshot, caller, model, request_id)
        return await self.serve(snapshot, caller, model, resolution, request, request_id)

    async def serve(
        self,
        snapshot: Snapshot,
        caller: Caller,
        model: ModelEntry,
        resolution: Resolution,
        request: ChatRequest,
        request_id: str,
    ) -> JsonReply | StreamReply:
        """Options, adapter and the attempt loop for an available model: shared by
        ``/v1/chat/completions`` and chat replies (``gateway.chat_replies``)."""
        body, headers = apply_options(request.body, model.options)
        try:
            adapter = adapter_for(model.facts.family)
        except FamilyNotSupported:
            raise GatewayError(
                400, "family_not_supported", "this provider family is not supported yet"
            ) from None
        loop = AttemptLoop(
            self, snapshot, caller, model, request, adapter, body, headers, request_id
        )
        return await loop.run(resolution)
