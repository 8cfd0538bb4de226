"""Connection tests (SPEC §8): does this key work at this base URL?

Each key gets the family's cheapest authenticated call (``Adapter.probe_request``: the model
list — ``GET {base}/models`` for the Chat Completions families, ``/key`` on OpenRouter
whose model list is public, ``/v1/models`` on Anthropic, ``/v1beta/models`` on Google), so a
test spends no tokens and needs no model name. It goes through the shared upstream client,
so the outbound address policy applies as for real requests.

Rules: the database is read first and released before any upstream call; nothing is ever
written (no key state, no cooldown, no ``last_used_at``): a test of a key marked invalid
says whether it works again, and only an admin's PATCH revives it. What reaches the
caller is the status and the upstream's own ``error.message``, at most 1 KiB with the key
removed (``extract_error_message``).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.db.sealed import provider_key_context
from chatgate.errors import bad_request, not_found
from chatgate.providers.schemas import ConnectionTestOut, KeyTestOut, ProviderTestUnsaved
from chatgate.providers.validation import normalize_api_key, normalize_base_url
from chatgate.settings import Deployment, Settings
from chatgate.store import providers as store
from chatgate.upstream import (
    FamilyNotSupported,
    Timeouts,
    UpstreamClient,
    UpstreamError,
    adapter_for,
    extract_error_message,
)
from chatgate.upstream.adapters.base import redact_and_cap
from chatgate.validation import parse_family

# A test answers within a person's patience, whatever the config allows real requests.
MAX_TEST_WAIT_S: Final[float] = 15.0
PROBE_BODY_LIMIT: Final[int] = 1024 * 1024
# Families whose base URL includes the API version (SPEC §1): the classic mistake is
# leaving out ``/v1``.
VERSIONED_BASE_URL_FAMILIES: Final = frozenset(
    {"openai", "openai-compat", "openrouter", "vercel", "azure"}
)


@dataclass(frozen=True, slots=True)
class KeyToTest:
    id: uuid.UUID | None
    api_key: str | None = field(repr=False)  # None: the key could not be opened
    problem: str = ""


@dataclass(frozen=True, slots=True)
class TestPlan:
    family: str
    base_url: str | None
    keys: list[KeyToTest]
    timeouts: Timeouts


def _timeouts(settings: Settings, connect_s: float | None, first_byte_s: float | None) -> Timeouts:
    return Timeouts(
        connect_s=min(connect_s or settings.upstream_connect_timeout_s, MAX_TEST_WAIT_S),
        first_byte_s=min(first_byte_s or settings.upstream_first_byte_timeout_s, MAX_TEST_WAIT_S),
        idle_s=MAX_TEST_WAIT_S,
    )


async def plan_saved(
    session: AsyncSession,
    keyring: KeyRing,
    deployment: Deployment,
    settings: Settings,
    provider_id: uuid.UUID,
    key_id: uuid.UUID | None,
) -> TestPlan:
    """The config's enabled pool keys (or the one ``key_id``), opened, and where to send them."""
    row = await store.get_provider(session, provider_id)
    if row is None:
        raise not_found("provider config")
    if key_id is not None:
        key = await store.get_key(session, row.id, key_id)
        if key is None:
            raise not_found("provider key")
        pool = [key]
    else:
        pool = [key for key in await store.list_keys(session, row.id) if key.enabled]
    keys: list[KeyToTest] = []
    for key in pool:
        try:
            keys.append(KeyToTest(key.id, keyring.open(key.secret, provider_key_context(key.id))))
        except KeyRingError:
            keys.append(
                KeyToTest(
                    key.id, None, "the key cannot be opened with this server's encryption keys"
                )
            )
    return TestPlan(
        family=row.family,
        base_url=row.base_url or deployment.default_base_url(row.family),
        keys=keys,
        timeouts=_timeouts(settings, row.connect_timeout_s, row.first_byte_timeout_s),
    )


def plan_unsaved(body: ProviderTestUnsaved, deployment: Deployment, settings: Settings) -> TestPlan:
    """Validated as creating the config would validate them; nothing is stored."""
    family = parse_family(body.family)
    base_url = normalize_base_url(body.base_url) or deployment.default_base_url(family)
    if base_url is None:
        raise bad_request(
            "base_url_required", f"the {family} family has no default base URL", "base_url"
        )
    api_key = normalize_api_key(body.api_key)
    return TestPlan(family, base_url, [KeyToTest(None, api_key)], _timeouts(settings, None, None))


async def run_tests(client: UpstreamClient, plan: TestPlan) -> ConnectionTestOut:
    """Test every key of the plan at once (each is one small request)."""
    results = await asyncio.gather(*(_test_key(client, plan, key) for key in plan.keys))
    return ConnectionTestOut(ok=bool(results) and all(r.ok for r in results), keys=list(results))


async def _test_key(client: UpstreamClient, plan: TestPlan, key: KeyToTest) -> KeyTestOut:
    if key.api_key is None:
        return KeyTestOut(id=key.id, ok=False, status=None, message=key.problem)
    if plan.base_url is None:
        return KeyTestOut(
            id=key.id,
            ok=False,
            status=None,
            message=f"no base URL: the {plan.family} family has no default, set base_url",
        )
    try:
        adapter = adapter_for(plan.family)
    except FamilyNotSupported as error:
        return KeyTestOut(id=key.id, ok=False, status=None, message=str(error))
    status, message = await _probe(client, plan, plan.base_url, key.api_key)
    if status is not None and 200 <= status < 300:
        return KeyTestOut(
            id=key.id, ok=True, status=status, message="the upstream accepted the key"
        )
    if status == 404 and _may_lack_version(plan.family, plan.base_url):
        with_version = plan.base_url + "/v1"
        retried, _ = await _probe(client, plan, with_version, key.api_key)
        if retried is not None and retried != 404:
            path = adapter.probe_request(plan.base_url, "").url[len(plan.base_url) :]
            message = (
                f"{plan.base_url}{path} answered 404 but {with_version}{path} answers "
                f"(HTTP {retried}): the base URL lacks /v1, use {with_version}"
            )
    return KeyTestOut(id=key.id, ok=False, status=status, message=message)


def _may_lack_version(family: str, base_url: str) -> bool:
    return family in VERSIONED_BASE_URL_FAMILIES and not base_url.rstrip("/").endswith("/v1")


async def _probe(
    client: UpstreamClient, plan: TestPlan, base_url: str, api_key: str
) -> tuple[int | None, str]:
    """(status, what to tell the admin); status None when nothing answered."""
    request = adapter_for(plan.family).probe_request(base_url, api_key)
    try:
        async with client.send(request, plan.timeouts) as response:
            body = await response.read(PROBE_BODY_LIMIT)
    except UpstreamError as error:
        return None, redact_and_cap(error.message, api_key)
    if 200 <= response.status < 300:
        return response.status, ""
    return response.status, extract_error_message(response.status, body, api_key)
