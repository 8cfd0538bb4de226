"""The attempt loop of one gateway request (SPEC §5, §8, §9).

Failover happens only before the first byte reaches the client and stays in the
key-source class of the first attempt (``chatgate.resolve`` returns only such candidates).
Key errors (429, 402, 401, 403) move to the next key of the pool, then to the next config;
service errors (connect, 5xx, timeouts) move to the next config. A timeout after a
non-streaming body was sent ends the request (the upstream may have billed it). Attempts
are bounded by ``CHATGATE_GATEWAY_MAX_ATTEMPTS`` and share one deadline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chatgate.crypto.contexts import provider_key_context, user_key_context
from chatgate.crypto.keyring import KeyRingError
from chatgate.gateway.body import ChatRequest
from chatgate.gateway.errors import GatewayError
from chatgate.gateway.outcomes import Failures, final_error, timeout_error
from chatgate.gateway.recording import AttemptRecorder, Caller, record_refusal
from chatgate.gateway.replies import JsonReply, StreamReply
from chatgate.gateway.snapshot import ModelEntry, ProviderEntry, Snapshot
from chatgate.ids import utcnow
from chatgate.resolve import Candidate, Resolution
from chatgate.upstream.adapters.base import Adapter, StreamTranslator, Target, extract_error_message
from chatgate.upstream.errors import (
    UnsupportedParameter,
    UpstreamBodyTooLarge,
    UpstreamError,
    UpstreamTimeout,
)
from chatgate.upstream.http import HttpRequest, Timeouts, UpstreamResponse, retry_after_seconds

if TYPE_CHECKING:
    from chatgate.gateway.service import Gateway

LOOP_HEADER = "x-chatgate-loop"
ERROR_BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class AttemptPlan:
    """One attempt: a config (or the deployment key) and one opened key."""

    family: str
    label: str  # the config's name, or deployment:<family>
    provider: ProviderEntry | None
    provider_config_id: uuid.UUID | None
    key_source: str
    key_id: uuid.UUID | None
    api_key: str = field(repr=False)
    base_url: str


class AttemptLoop:
    """Everything one request's attempts share: who, which model, the upstream body, the
    deadline and what went wrong so far."""

    def __init__(
        self,
        gw: Gateway,
        snapshot: Snapshot,
        caller: Caller,
        model: ModelEntry,
        request: ChatRequest,
        adapter: Adapter,
        body: dict[str, Any],
        headers: dict[str, str],
        request_id: str,
    ) -> None:
        self.gw = gw
        self.snapshot = snapshot
        self.caller = caller
        self.model = model
        self.request = request
        self.adapter = adapter
        self.body = body
        self.headers = headers
        self.request_id = request_id
        self.failures = Failures()
        budget = (
            gw.settings.upstream_stream_first_byte_timeout_s
            if request.stream
            else gw.settings.upstream_first_byte_timeout_s
        )
        self.deadline = asyncio.get_running_loop().time() + budget

    async def run(self, resolution: Resolution) -> JsonReply | StreamReply:
        loop = asyncio.get_running_loop()
        attempt = 0
        for candidate in resolution.candidates:
            for plan in self._plans(candidate):
                if attempt >= self.gw.settings.gateway_max_attempts or loop.time() >= self.deadline:
                    return self._give_up(attempt)
                attempt += 1
                if attempt > 1:
                    self.gw.metrics.failovers.labels(self.model.facts.family, "retry").inc()
                outcome = await self._attempt(plan, attempt)
                if isinstance(outcome, (JsonReply, StreamReply)):
                    return outcome
                if outcome == "final":
                    raise final_error(self.failures)
                if outcome == "next_config":
                    break
        return self._give_up(attempt)

    def _give_up(self, attempts: int) -> JsonReply:
        error = final_error(self.failures)
        if attempts == 0:
            record_refusal(
                self.gw.usage, self.request_id, self.caller, self.model, error.status, error.code
            )
        raise error

    def _plans(self, candidate: Candidate) -> list[AttemptPlan]:
        """The attempts one candidate offers: one per usable key, in the order to try."""
        snapshot, caller, model, failures = self.snapshot, self.caller, self.model, self.failures
        family = model.facts.family
        if candidate.provider is None or candidate.key_source == "deployment":
            key = self.gw.deployment.key(family)
            base_url = self.gw.deployment.default_base_url(family)
            if key is None or base_url is None:
                return []
            config = candidate.provider
            return [
                AttemptPlan(
                    family=family,
                    label=config.name if config else f"deployment:{family}",
                    provider=snapshot.providers.get(config.id) if config else None,
                    provider_config_id=config.id if config else None,
                    key_source="deployment",
                    key_id=None,
                    api_key=key,
                    base_url=base_url,
                )
            ]
        provider = snapshot.providers[candidate.provider.id]
        base_url = provider.effective_base_url
        if base_url is None:
            return []
        if candidate.key_source == "user":
            sealed = snapshot.user_keys.get((caller.user.id, provider.facts.id))
            if sealed is None:
                return []
            try:
                key = self.gw.keyring.open(
                    sealed, user_key_context(caller.user.id, provider.facts.id)
                )
            except KeyRingError:
                return []
            return [self._plan(provider, "user", None, key, base_url)]
        choice = self.gw.health.choose(provider, model.upstream_model, utcnow())
        if not choice.keys:
            if choice.all_invalid:
                failures.all_invalid_pools += 1
            elif choice.earliest_ready is not None:
                failures.cooling(choice.earliest_ready)
            return []
        plans = []
        for pool_key in choice.keys:
            try:
                key = self.gw.keyring.open(pool_key.sealed, provider_key_context(pool_key.id))
            except KeyRingError:
                continue
            plans.append(self._plan(provider, "central", pool_key.id, key, base_url))
        return plans

    @staticmethod
    def _plan(
        provider: ProviderEntry, source: str, key_id: uuid.UUID | None, key: str, base_url: str
    ) -> AttemptPlan:
        return AttemptPlan(
            family=provider.facts.family,
            label=provider.facts.name,
            provider=provider,
            provider_config_id=provider.facts.id,
            key_source=source,
            key_id=key_id,
            api_key=key,
            base_url=base_url,
        )

    def _timeouts(self, plan: AttemptPlan, remaining: float) -> Timeouts:
        settings = self.gw.settings
        provider = plan.provider
        connect = (
            provider.connect_timeout_s if provider else None
        ) or settings.upstream_connect_timeout_s
        default_first = (
            settings.upstream_stream_first_byte_timeout_s
            if self.request.stream
            else settings.upstream_first_byte_timeout_s
        )
        first = (provider.first_byte_timeout_s if provider else None) or default_first
        idle = (provider.idle_timeout_s if provider else None) or settings.upstream_idle_timeout_s
        return Timeouts(
            connect_s=min(connect, remaining),
            first_byte_s=max(0.001, min(first, remaining)),
            idle_s=idle,
        )

    async def _attempt(self, plan: AttemptPlan, attempt: int) -> JsonReply | StreamReply | str:
        """One upstream attempt: a reply, or "next_key" / "next_config" / "final"."""
        model, request, adapter, failures = self.model, self.request, self.adapter, self.failures
        target = Target(plan.family, plan.base_url, model.upstream_model, plan.api_key)
        try:
            http_request = adapter.build_request(
                target, self.body, stream=request.stream, extra_headers=self.headers
            )
        except UnsupportedParameter as error:
            raise GatewayError(400, "unsupported_parameter", str(error)) from None
        http_request = HttpRequest(
            http_request.method,
            http_request.url,
            {**http_request.headers, LOOP_HEADER: self.gw.installation_id},
            http_request.body,
        )
        remaining = self.deadline - asyncio.get_running_loop().time()
        timeouts = self._timeouts(plan, remaining)
        started = time.perf_counter()
        failures.last_label = plan.label
        stack = AsyncExitStack()
        record = AttemptRecorder(
            self.gw, plan, model, self.caller, self.request_id, attempt, started
        )
        try:
            response = await stack.enter_async_context(self.gw.client.send(http_request, timeouts))
        except UpstreamTimeout as error:
            await stack.aclose()
            record.done(0, "timeout")
            failures.timeouts += 1
            if not request.stream and error.body_sent:
                failures.final = timeout_error(plan.label)
                return "final"
            return "next_config"
        except UpstreamError:
            await stack.aclose()
            record.done(0, "connect")
            failures.service += 1
            return "next_config"
        except BaseException:
            await stack.aclose()
            raise
        status = response.status
        if 200 <= status < 300:
            if plan.key_id is not None:
                self.gw.health.succeeded(plan.key_id, model.upstream_model)
            if request.stream:
                return await self._start_stream(stack, response, plan, record)
            try:
                raw = await response.read()
            except UpstreamTimeout:
                await stack.aclose()
                record.done(status, "timeout")
                failures.final = timeout_error(plan.label)
                return "final"
            except UpstreamBodyTooLarge:
                await stack.aclose()
                record.done(status, "too_large")
                failures.final = GatewayError(
                    502, "upstream_error", "the upstream answer is larger than 64 MiB"
                )
                return "final"
            except UpstreamError:
                await stack.aclose()
                record.done(status, "protocol")
                failures.service += 1
                return "next_config"
            await stack.aclose()
            try:
                out = adapter.translate_response(status, raw, public_model=model.name)
                usage = adapter.parse_usage(raw)
            except UpstreamError:
                record.done(status, "protocol")
                failures.service += 1
                return "next_config"
            record.first_byte()
            record.done(status, None, usage)
            return JsonReply(200, out, reply_headers(plan))
        return await self._upstream_error(stack, response, plan, record)

    async def _upstream_error(
        self,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        plan: AttemptPlan,
        record: AttemptRecorder,
    ) -> str:
        model, failures = self.model, self.failures
        status = response.status
        try:
            raw = await response.read(ERROR_BODY_LIMIT)
        except UpstreamError:
            raw = b""
        finally:
            await stack.aclose()
        message = extract_error_message(status, raw, plan.api_key)
        failures.statuses.append(status)
        failures.last_message = message
        now = utcnow()
        if status in (429, 402, 401, 403):
            record.done(status, "key")
            retry = retry_after_seconds(response.headers) if status in (429, 402) else None
            if plan.key_source == "user":
                # A user's key gets exactly one attempt; its rejection is the user's to fix.
                failures.final = (
                    GatewayError(429, "rate_limited", message, retry_after_s=retry)
                    if status in (429, 402)
                    else GatewayError(
                        403, "user_api_key_invalid", "the upstream rejected your own API key"
                    )
                )
                return "final"
            if plan.key_id is not None:
                if status in (429, 402):
                    self.gw.health.rate_limited(plan.key_id, model.upstream_model, now, retry)
                    failures.cooling(now + timedelta(seconds=retry or 1))
                elif status == 401:
                    self.gw.health.invalid(plan.key_id)
            return "next_key"
        if status >= 500:
            record.done(status, "service")
            failures.service += 1
            return "next_config"
        record.done(status, "client")
        # Other upstream 4xx are relayed with their status, without failover.
        failures.final = GatewayError(status, "upstream_error", message)
        return "final"

    async def _start_stream(
        self,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        plan: AttemptPlan,
        record: AttemptRecorder,
    ) -> StreamReply | str:
        """Wait for the first translated bytes before answering: until then, failover is
        still possible; after them, never."""
        model, request, adapter, failures = self.model, self.request, self.adapter, self.failures
        translator = adapter.stream_translator(
            public_model=model.name, client_wants_usage=request.wants_usage, api_key=plan.api_key
        )
        chunks = response.iter_chunks().__aiter__()
        first = b""
        try:
            while not first:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    first = translator.finish()
                    break
                first = translator.feed(chunk)
        except UpstreamError as error:
            await stack.aclose()
            record.done(
                response.status, "timeout" if isinstance(error, UpstreamTimeout) else "service"
            )
            failures.service += 1
            return "next_config"
        except BaseException:
            await stack.aclose()
            raise
        if not first:
            await stack.aclose()
            record.done(response.status, "empty_stream")
            failures.service += 1
            return "next_config"
        record.first_byte()
        return StreamReply(
            headers=reply_headers(plan),
            first=first,
            rest=_relay(stack, chunks, translator, record, response.status),
        )


async def _relay(
    stack: AsyncExitStack,
    chunks: AsyncIterator[bytes],
    translator: StreamTranslator,
    record: AttemptRecorder,
    status: int,
) -> AsyncIterator[bytes]:
    error_class: str | None = None
    try:
        try:
            async for chunk in chunks:
                out = translator.feed(chunk)
                if out:
                    yield out
            tail = translator.finish()
            if tail:
                yield tail
            if translator.ended_with_error:
                error_class = "upstream_stream_error"
            elif not translator.finished_ok:
                error_class = "stream_cut"
                yield GatewayError(
                    502, "upstream_error", "the upstream stream ended early"
                ).stream_event()
        except UpstreamTimeout:
            error_class = "timeout"
            yield GatewayError(
                504, "upstream_timeout", "the upstream stopped sending"
            ).stream_event()
        except UpstreamError:
            error_class = "stream_cut"
            yield GatewayError(
                502, "upstream_error", "the upstream connection broke"
            ).stream_event()
    finally:
        await stack.aclose()
        record.done(status, error_class, translator.usage)


def reply_headers(plan: AttemptPlan) -> list[tuple[bytes, bytes]]:
    """Which attempt answered (SPEC §9)."""
    return [
        (b"x-chatgate-provider-config", plan.label.encode()),
        (b"x-chatgate-key-source", plan.key_source.encode()),
    ]
