"""The attempt loop of one gateway request (SPEC §5, §8, §9).

Failover happens only before the first byte reaches the client and stays in the
key-source class of the first attempt (``chatgate.resolve`` returns only such candidates).
Key errors (429, 402, 401, 403) move to the next key of the pool, then to the next config;
service errors (connect, 5xx, other non-2xx, timeouts) move to the next config. Once an
upstream has accepted a non-streaming request (a timeout after the body was sent, or a 2xx
we cannot read) the request ends: the upstream may have billed it. Attempts are bounded
by ``CHATGATE_GATEWAY_MAX_ATTEMPTS`` and share one deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any, Literal

from chatgate.crypto.keyring import KeyRingError
from chatgate.db.sealed import provider_key_context, user_key_context
from chatgate.gateway.body import ChatRequest
from chatgate.gateway.context import AttemptPlan, GatewayContext
from chatgate.gateway.errors import GatewayError
from chatgate.gateway.outcomes import Failures, final_error, timeout_error
from chatgate.gateway.recording import AttemptRecorder, Caller, record_refusal
from chatgate.gateway.replies import JsonReply, StreamReply
from chatgate.gateway.snapshot import ModelEntry, ProviderEntry, Snapshot
from chatgate.ids import utcnow
from chatgate.resolve import Candidate, Resolution
from chatgate.upstream.adapters.base import (
    Adapter,
    StreamTranslator,
    Target,
    extract_error_message,
    redact_body,
)
from chatgate.upstream.errors import (
    UnsupportedParameter,
    UpstreamBodyTooLarge,
    UpstreamError,
    UpstreamTimeout,
)
from chatgate.upstream.http import HttpRequest, Timeouts, UpstreamResponse, retry_after_seconds

LOOP_HEADER = "x-chatgate-loop"
ERROR_BODY_LIMIT = 1024 * 1024
KEY_ERRORS = frozenset({401, 402, 403, 429})

# What an attempt that did not answer tells the loop to do next.
Next = Literal["next_key", "next_config", "final"]


class AttemptLoop:
    """Everything one request's attempts share: who, which model, the upstream body, the
    deadline and what went wrong so far."""

    def __init__(
        self,
        gw: GatewayContext,
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
        self.deadline = 0.0

    async def run(self, resolution: Resolution) -> JsonReply | StreamReply:
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self._first_byte_budget(resolution)
        attempt = 0
        try:
            for candidate in resolution.candidates:
                for plan in self._plans(candidate):
                    if (
                        attempt >= self.gw.settings.gateway_max_attempts
                        or loop.time() >= self.deadline
                    ):
                        raise self._give_up(attempt)
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
            raise self._give_up(attempt)
        except GatewayError as error:
            error.answered_by = error.answered_by or self.failures.answered_by
            raise

    def _give_up(self, attempts: int) -> GatewayError:
        error = final_error(self.failures)
        if attempts == 0:
            record_refusal(
                self.gw.usage, self.request_id, self.caller, self.model, error.status, error.code
            )
        return error

    def _first_byte_timeout(self, provider: ProviderEntry | None) -> float:
        settings = self.gw.settings
        default = (
            settings.upstream_stream_first_byte_timeout_s
            if self.request.stream
            else settings.upstream_first_byte_timeout_s
        )
        return (provider.first_byte_timeout_s if provider else None) or default

    def _first_byte_budget(self, resolution: Resolution) -> float:
        """The shared deadline: long enough for the most patient candidate config."""
        providers = [
            self.snapshot.providers.get(c.provider.id) if c.provider else None
            for c in resolution.candidates
        ]
        return max(
            [self._first_byte_timeout(p) for p in providers] or [self._first_byte_timeout(None)]
        )

    def _plans(self, candidate: Candidate) -> Iterator[AttemptPlan]:
        """The attempts one candidate offers, one per usable key, in the order to try.

        A generator: a key is opened only when the loop reaches it.
        """
        snapshot, caller, family = self.snapshot, self.caller, self.model.facts.family
        if candidate.provider is None or candidate.key_source == "deployment":
            key = self.gw.deployment.key(family)
            base_url = self.gw.deployment.default_base_url(family)
            if key is None or base_url is None:
                return
            provider = snapshot.providers.get(candidate.provider.id) if candidate.provider else None
            label = provider.facts.name if provider else f"deployment:{family}"
            yield AttemptPlan(family, label, provider, "deployment", None, key, base_url)
            return
        provider = snapshot.providers[candidate.provider.id]
        base_url = provider.effective_base_url
        if base_url is None:
            return
        if candidate.key_source == "user":
            sealed = snapshot.user_keys.get((caller.user.id, provider.facts.id))
            if sealed is None:
                return
            try:
                key = self.gw.keyring.open(
                    sealed, user_key_context(caller.user.id, provider.facts.id)
                )
            except KeyRingError:
                return
            yield AttemptPlan(family, provider.facts.name, provider, "user", None, key, base_url)
            return
        choice = self.gw.health.choose(provider, self.model.upstream_model, utcnow())
        if choice.all_invalid:
            self.failures.all_invalid_pools += 1
        elif choice.earliest_ready is not None:
            self.failures.cooling(choice.earliest_ready)
        for pool_key in choice.keys:
            try:
                key = self.gw.keyring.open(pool_key.sealed, provider_key_context(pool_key.id))
            except KeyRingError:  # key_undecryptable: skip it, like an invalid key
                continue
            yield AttemptPlan(
                family, provider.facts.name, provider, "central", pool_key, key, base_url
            )

    def _timeouts(self, plan: AttemptPlan, remaining: float) -> Timeouts:
        settings = self.gw.settings
        provider = plan.provider
        connect = (
            provider.connect_timeout_s if provider else None
        ) or settings.upstream_connect_timeout_s
        first = self._first_byte_timeout(provider)
        idle = (provider.idle_timeout_s if provider else None) or settings.upstream_idle_timeout_s
        # Keep the configured values when the deadline allows them: equal Timeouts share
        # one cached client-timeout object in the upstream client.
        return Timeouts(
            connect_s=connect if connect <= remaining else remaining,
            first_byte_s=first if first <= remaining else max(0.001, remaining),
            idle_s=idle,
        )

    def _build(self, plan: AttemptPlan) -> HttpRequest:
        target = Target(plan.family, plan.base_url, self.model.upstream_model, plan.api_key)
        try:
            built = self.adapter.build_request(
                target, self.body, stream=self.request.stream, extra_headers=self.headers
            )
        except UnsupportedParameter as error:
            # Refused before anything reached an upstream: recorded as attempt 0.
            record_refusal(
                self.gw.usage,
                self.request_id,
                self.caller,
                self.model,
                400,
                "unsupported_parameter",
            )
            raise GatewayError(400, "unsupported_parameter", str(error)) from None
        headers = {**built.headers, LOOP_HEADER: self.gw.installation_id}
        return HttpRequest(built.method, built.url, headers, built.body)

    async def _attempt(self, plan: AttemptPlan, attempt: int) -> JsonReply | StreamReply | Next:
        """One upstream attempt: a reply, or what to try next."""
        request, failures = self.request, self.failures
        http_request = self._build(plan)
        timeouts = self._timeouts(plan, self.deadline - asyncio.get_running_loop().time())
        failures.attempted(plan.label, plan.key_source)
        record = AttemptRecorder(
            self.gw, plan, self.model, self.caller, self.request_id, attempt, time.perf_counter()
        )
        stack = AsyncExitStack()
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
            record.done(0, "client_disconnected")
            raise
        status = response.status
        if 200 <= status < 300:
            if plan.pool_key is not None:
                self.gw.health.succeeded(plan.pool_key, self.model.upstream_model)
            if request.stream:
                return await self._start_stream(stack, response, plan, record)
            return await self._read_answer(stack, response, plan, record)
        return await self._upstream_error(stack, response, plan, record)

    async def _read_answer(
        self,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        plan: AttemptPlan,
        record: AttemptRecorder,
    ) -> JsonReply | Next:
        """A 2xx non-streaming answer. The upstream has done (and billed) the work, so any
        failure from here ends the request instead of trying elsewhere."""
        status, failures = response.status, self.failures
        try:
            raw = await response.read()
        except UpstreamTimeout:
            record.done(status, "timeout")
            failures.final = timeout_error(plan.label)
            return "final"
        except UpstreamBodyTooLarge:
            record.done(status, "too_large")
            failures.final = GatewayError(
                502, "upstream_error", "the upstream answer is larger than 64 MiB"
            )
            return "final"
        except UpstreamError:
            record.done(status, "protocol")
            failures.final = GatewayError(
                502,
                "upstream_error",
                f"the upstream answer broke off (provider config {plan.label})",
            )
            return "final"
        except BaseException:
            record.done(status, "client_disconnected")
            raise
        finally:
            await stack.aclose()
        try:
            out = self.adapter.translate_response(status, raw, public_model=self.model.name)
            out = redact_body(out, plan.api_key)
            usage = self.adapter.parse_usage(raw)
        except UpstreamError:
            record.done(status, "protocol")
            failures.final = GatewayError(
                502,
                "upstream_error",
                f"the upstream answer was unreadable (provider config {plan.label})",
            )
            return "final"
        record.first_byte()
        record.done(status, None, usage)
        return JsonReply(200, out, reply_headers(plan))

    async def _upstream_error(
        self,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        plan: AttemptPlan,
        record: AttemptRecorder,
    ) -> Next:
        failures = self.failures
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
        if status in KEY_ERRORS:
            record.done(status, "key")
            return self._key_error(plan, status, message, retry_after_seconds(response.headers))
        if status >= 500 or status < 400:
            # The service failed (or redirected, which is never followed): try elsewhere.
            record.done(status, "service")
            failures.service += 1
            return "next_config"
        record.done(status, "client")
        # Other upstream 4xx are relayed with their status, without failover.
        failures.final = GatewayError(status, "upstream_error", message)
        return "final"

    def _key_error(self, plan: AttemptPlan, status: int, message: str, retry: float | None) -> Next:
        rate_limited = status in (429, 402)
        if plan.key_source == "user":
            # A user's key gets exactly one attempt; its rejection is the user's to fix.
            self.failures.final = (
                GatewayError(429, "rate_limited", message, retry_after_s=retry)
                if rate_limited
                else GatewayError(
                    403, "user_api_key_invalid", "the upstream rejected your own API key"
                )
            )
            return "final"
        if plan.pool_key is not None:
            if rate_limited:
                until = self.gw.health.rate_limited(
                    plan.pool_key, self.model.upstream_model, utcnow(), retry
                )
                self.gw.key_states.cooled(plan.pool_key, self.model.upstream_model, until)
                self.failures.cooling(until)
            elif status == 401:
                self.gw.key_states.rejected(plan.pool_key, message)
        return "next_key"

    async def _start_stream(
        self,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        plan: AttemptPlan,
        record: AttemptRecorder,
    ) -> StreamReply | Next:
        """Wait for the first translated bytes before answering: until then, failover is
        still possible; after them, never."""
        failures = self.failures
        translator = self.adapter.stream_translator(
            public_model=self.model.name,
            client_wants_usage=self.request.wants_usage,
            api_key=plan.api_key,
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
        except UpstreamTimeout:
            await stack.aclose()
            record.done(response.status, "timeout")
            failures.timeouts += 1
            return "next_config"
        except UpstreamError:
            await stack.aclose()
            record.done(response.status, "service")
            failures.service += 1
            return "next_config"
        except BaseException:
            await stack.aclose()
            record.done(response.status, "client_disconnected")
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
            provider_config_id=plan.provider_config_id,
            key_source=plan.key_source,
        )


async def _relay(
    stack: AsyncExitStack,
    chunks: AsyncIterator[bytes],
    translator: StreamTranslator,
    record: AttemptRecorder,
    status: int,
) -> AsyncGenerator[bytes, None]:
    """The rest of a stream, chunk by chunk; a failure ends it with one error event and no
    [DONE], so clients can tell a cut stream from a finished one (§9)."""
    error_class: str | None = "client_disconnected"  # unless the loop below ends normally
    try:
        try:
            async for chunk in chunks:
                out = translator.feed(chunk)
                if out:
                    yield out
                if translator.ended:
                    # The answer is complete; an upstream that keeps the connection open
                    # after its end marker must not hold the client until the idle timeout
                    # (the OpenAI SDK reads a stream to its end after [DONE]).
                    break
            tail = translator.finish()
            if tail:
                yield tail
            error_class = None
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
