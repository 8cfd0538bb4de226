"""Schemathesis against chatgate's own OpenAPI document, as an admin and as a member (SPEC
§3, §12).

What a client generated from ``/openapi.json`` would notice, checked on every operation:
no 5xx; every status the server answers is documented; every body and content type is
the documented one; a request the document calls valid is never refused as malformed
(422: the schema and the validation would disagree); a request it calls invalid is always
a 4xx.

A bounded, reproducible run: a fixed seed and a fixed number of generated requests per
operation, data mode and role, on both databases. Half of the requests name objects that
exist (a provider config, its key, a model config, the member), so operations get past
their 404 into their rules and their success paths. The app is served by a real uvicorn
on 127.0.0.1 in the test's event loop; Hypothesis and Schemathesis, which are synchronous,
run in a worker thread and call it over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.helpers import Env, add_model, add_provider
from tests.support.live import serve_on_loopback

SEED = 20261206
# Generated requests per operation and data mode (valid, invalid): the admin may call
# everything, the member mostly meets 403s and its own resources. With both databases the
# run takes about a minute on an idle two-core machine (three on a busy one).
ADMIN_EXAMPLES = 5
MEMBER_EXAMPLES = 3
MAX_REPORTED_PER_OPERATION = 2

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
# A rule may refuse a valid-looking value (400: a slug, an unknown family, a range the
# schema documents but cannot enforce), a conflict (409) or a missing object (404); only a
# 422 for data the document calls valid means the document is wrong.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
            }
        }
    }
)
# Operations whose path ids are never replaced by real ones: revoking the run's own tokens
# would turn the rest of it into 401s.
NO_REAL_IDS = frozenset({("DELETE", "/api/v1/tokens/{token_id}")})


@dataclass
class Caller:
    role: str
    token: str
    examples: int


@dataclass
class Findings:
    by_operation: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    exercised: set[str] = field(default_factory=set)  # "role METHOD /path (mode)"

    def add(self, label: str, report: str) -> None:
        found = self.by_operation.setdefault(label, [])
        if len(found) < MAX_REPORTED_PER_OPERATION:
            found.append(report)


async def real_ids(env: Env, member_id: str) -> dict[str, str]:
    """Objects for the generated requests to find: path parameter name -> an id."""
    provider = await add_provider(
        env,
        family="openai-compat",
        name="fuzzed",
        base_url="http://127.0.0.1:9/v1",  # nothing listens: an upstream call fails fast
        api_key="sk-fuzzed-central-0123456789",
        allow_user_api_key=True,
        allow_central_api_key_fallback=True,
    )
    key = await env.client.post(
        f"/api/v1/providers/{provider['id']}/keys",
        json={"api_key": "sk-fuzzed-second-0123456789", "label": "second"},
        headers=env.auth(env.owner_token),
    )
    assert key.status_code == 201, key.text
    model = await add_model(
        env, family="openai-compat", provider_config_id=provider["id"], model="fuzz", name="fuzz"
    )
    return {
        "provider_id": provider["id"],
        "provider_config_id": provider["id"],
        "key_id": key.json()["id"],
        "model_id": model["id"],
        "user_id": member_id,
        "model": model["name"],
    }


def run_schemathesis(
    document: dict[str, Any], base_url: str, callers: list[Caller], ids: dict[str, str]
) -> Findings:
    """Every operation, valid then invalid data, for each caller in turn (in a thread)."""
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletes last, so the objects the other operations look for exist as long as possible.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))
    findings = Findings()
    with requests.Session() as session:
        for caller in callers:
            headers = {"authorization": f"Bearer {caller.token}"}
            for operation in operations:
                for mode in (
                    schemathesis.GenerationMode.POSITIVE,
                    schemathesis.GenerationMode.NEGATIVE,
                ):
                    strategy = operation.as_strategy(generation_mode=mode)
                    names = {p.name for p in operation.path_parameters}
                    known = {name: ids[name] for name in names if name in ids}
                    if known and (operation.method.upper(), operation.path) not in NO_REAL_IDS:
                        strategy = strategy | operation.as_strategy(
                            generation_mode=mode, path_parameters=known
                        )
                    label = f"{caller.role} {operation.label} ({mode.value})"
                    exercise(strategy, caller.examples, label, session, base_url, headers, findings)
    return findings


def exercise(
    strategy: st.SearchStrategy[schemathesis.Case],
    examples: int,
    label: str,
    session: requests.Session,
    base_url: str,
    headers: dict[str, str],
    findings: Findings,
) -> None:
    @hypothesis.seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # a failure is reported, not shrunk
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        findings.requests += 1
        findings.exercised.add(label)
        try:
            case.call_and_validate(
                base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=30
            )
        except FailureGroup as failures:
            findings.add(label, str(failures))

    # Unsatisfiable: nothing of the operation can be made invalid (no body, no
    # parameters); its valid requests were the test.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        check()


async def test_schemathesis_finds_nothing_as_admin_and_as_member(env: Env) -> None:
    owner = env.auth(env.owner_token)
    member_id, member_token = await env.new_user("fuzz-member", "member")
    _, admin_token = await env.new_user("fuzz-admin", "admin")
    ids = await real_ids(env, member_id)
    document = (await env.client.get("/openapi.json")).json()
    # The member first: as an admin, the run may disable or demote the member.
    callers = [
        Caller("member", member_token, MEMBER_EXAMPLES),
        Caller("admin", admin_token, ADMIN_EXAMPLES),
    ]

    async with serve_on_loopback(env.app) as base_url:
        findings = await asyncio.to_thread(run_schemathesis, document, base_url, callers, ids)

    assert findings.by_operation == {}, "\n\n".join(
        f"== {label}\n" + "\n".join(reports) for label, reports in findings.by_operation.items()
    )
    # Every operation was called with valid data by each caller.
    labels = {
        f"{caller.role} {method.upper()} {path} (positive)"
        for caller in callers
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    assert labels - findings.exercised == set()
    assert findings.requests > len(labels) * MEMBER_EXAMPLES
    # The run's own tokens survived it: the admin can still read users.
    users = await env.client.get("/api/v1/users", headers=owner)
    assert users.status_code == 200
