"""The canary sweep (SPEC §3, §7, §9, §12): no key or token ever leaves where it belongs.

A real ``chatgate serve`` (SQLite with text logs, PostgreSQL with JSON logs) gets
distinctive central (pool), user and deployment keys; a careless fake upstream echoes
whatever key it receives into its answers and errors. Then every endpoint of the OpenAPI
document is called — as the owner, as a member, without a token, and with bodies carrying
keys the server must reject — the gateway answers on success and error paths, the
database-direct CLI commands run, and the sweep searches every response body and header,
every log line, ``/metrics``, the CLI output and the raw database (the SQLite file with
its WAL, or every PostgreSQL row as text) for the keys and for bearer tokens, which the
database may hold only as hashes. Zero hits.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.cli.serving import ServeProcess, serving
from tests.cli.test_serve_as_deployed import deployed_environ
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import USER_MESSAGE, ask_chat
from tests.support.helpers import Env, add_model, add_provider, run_chatgate

RUN = uuid.uuid4().hex


def _canary(role: str) -> str:
    # The hex core is what is searched: a leak of part of a key is still a leak, while the
    # hint shown for keys (their last 4 characters, "-end") is allowed.
    return f"sk-canary-{role}-{uuid.uuid4().hex}-end"


def _core(secret: str) -> str:
    return secret.removesuffix("-end").rsplit("-", 1)[1]


KEYS = {
    role: _canary(role)
    for role in (
        "central",
        "central2",
        "translated",
        "replaced",
        "user",
        "deployment",
        "unsaved",
        "rejected",
    )
}
CONCURRENT_CALLS = 8
UUID_PARAM = re.compile(r"\{(\w+)\}")


class Sweep:
    """A client of the served app that keeps every response it got."""

    def __init__(self, served: ServeProcess, owner_token: str) -> None:
        self.client = httpx.AsyncClient(base_url=served.base_url, timeout=30)
        self.owner = owner_token
        self.responses: list[httpx.Response] = []
        self.tokens = [owner_token]
        self.ids: dict[str, str] = {}

    async def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        self.responses.append(response)
        return response

    async def ok(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = await self.call(method, path, token or self.owner, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def exposed_text(self) -> str:
        """Every response as the client saw it, one line each (method, path, status,
        headers, body), except the one-time display of a newly created token (by design)."""
        parts = []
        for response in self.responses:
            body = response.text
            request = response.request
            if request.method == "POST" and request.url.path.endswith("/tokens"):
                body = body.replace(response.json().get("token", "") or "", "")
            head = f"{request.method} {request.url.path} {response.status_code}"
            parts.append(f"{head} {response.headers!r} {body}".replace("\n", " "))
        return "\n".join(parts)


async def _configure(sweep: Sweep, fake: FakeUpstream) -> None:
    pool = await sweep.ok(
        "POST",
        "/api/v1/providers",
        json={
            "family": "openai",
            "name": "pool",
            "base_url": fake.url + "/v1",
            "api_key": KEYS["central"],
        },
    )
    second = await sweep.ok(
        "POST",
        f"/api/v1/providers/{pool['id']}/keys",
        json={"label": "second", "api_key": KEYS["central2"]},
    )
    byok = await sweep.ok(
        "POST",
        "/api/v1/providers",
        json={
            "family": "openai-compat",
            "name": "byok",
            "base_url": fake.url + "/v1",
            "central_api_key_enabled": False,
            "allow_user_api_key": True,
        },
    )
    translated = await sweep.ok(
        "POST",
        "/api/v1/providers",
        json={"family": "anthropic", "base_url": fake.url, "api_key": KEYS["translated"]},
    )
    member = await sweep.ok("POST", "/api/v1/users", json={"username": "member", "role": "member"})
    minted = await sweep.ok("POST", f"/api/v1/users/{member['id']}/tokens", json={"name": "t"})
    sweep.tokens.append(minted["token"])
    await sweep.ok(
        "PUT",
        f"/api/v1/me/provider-keys/{byok['id']}",
        token=minted["token"],
        json={"api_key": KEYS["user"]},
    )
    models = {}
    for name, binding in (
        ("pooled", {"provider_config_id": pool["id"]}),
        ("byok", {"provider_config_id": byok["id"]}),
        ("deployed", {"family": "openrouter"}),
        ("translated", {"provider_config_id": translated["id"]}),
    ):
        models[name] = await sweep.ok(
            "POST",
            "/api/v1/models",
            json={"model": "up", "name": name, "context_limit": 8192, **binding},
        )
    chat = await sweep.ok("POST", "/api/v1/chats", token=minted["token"], json={})
    sweep.ids = {
        "provider_id": pool["id"],
        "key_id": second["id"],
        "provider_config_id": byok["id"],
        "user_id": member["id"],
        "token_id": minted["id"],
        "model_id": models["pooled"]["id"],
        "model": "pooled",
        "chat_id": chat["id"],
        "translated_id": translated["id"],
        "member_token": minted["token"],
    }


# Upstream behaviours, each echoing the key it received.
ECHOES: list[dict[str, Any]] = [
    {},  # a 2xx answer whose text carries the key
    {"status": 400},
    {"status": 404},
    {"status": 500},
    {"status": 429, "retry_after": "0"},
    {"status": 403},
]


async def _gateway(sweep: Sweep, fake: FakeUpstream) -> None:
    member = sweep.ids["member_token"]
    for model in ("pooled", "byok", "deployed", "translated"):
        for echo in ECHOES:
            for stream in (False, True):
                fake.script(echo_key=True, **echo)
                response = await sweep.call(
                    "POST",
                    "/v1/chat/completions",
                    member,
                    json={"model": model, "messages": USER_MESSAGE, "stream": stream},
                )
                assert response.status_code < 500 or response.status_code in (502, 504)
    # A 401 marks a pool key invalid: its stored last_error must not hold the key.
    fake.script(echo_key=True, status=401)
    await sweep.call(
        "POST", "/v1/chat/completions", member, json={"model": "pooled", "messages": USER_MESSAGE}
    )
    # A chat reply whose upstream answers with the key in its text is stored redacted.
    fake.script(echo_key=True)
    await sweep.call(
        "POST",
        f"/api/v1/chats/{sweep.ids['chat_id']}/messages",
        member,
        params={"stream": "false"},
        json={"content": "hi"},
    )
    fake.script(echo_key=True)
    await sweep.call(
        "POST", f"/api/v1/chats/{sweep.ids['chat_id']}/messages", member, json={"content": "hi"}
    )
    # Replacing a stored key: the audit log's before/after must not hold either secret.
    await sweep.ok(
        "PATCH",
        f"/api/v1/providers/{sweep.ids['translated_id']}",
        json={"api_key": KEYS["replaced"]},
    )
    # A web sign-in: the session cookie must be a session of its own, not the token.
    signed_in = await sweep.call("POST", "/api/v1/sessions", None, json={"token": member})
    assert signed_in.status_code == 204
    assert signed_in.cookies
    # Connection tests return the upstream's message: the key must be cut out of it.
    fake.script(echo_key=True, status=401)
    await sweep.call("POST", f"/api/v1/providers/{sweep.ids['provider_id']}/test", sweep.owner)
    fake.script(echo_key=True, status=401)
    await sweep.call(
        "POST",
        "/api/v1/providers/test",
        sweep.owner,
        json={"family": "openai", "base_url": fake.url + "/v1", "api_key": KEYS["unsaved"]},
    )


def _bodies_with_rejected_keys() -> list[Any]:
    """Bodies a server must refuse without echoing the key they carry."""
    key = KEYS["rejected"]
    return [
        {"api_key": key + "\x00", "token": key},
        {"api_key": [key], "token": [key], "unknown": key},
        {"api_key": {"nested": key}},
        key,  # not an object at all
    ]


def _path_for(template: str, ids: dict[str, str], *, real: bool) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not real:
            return str(uuid.uuid4())
        return ids.get(name, str(uuid.uuid4()))

    return UUID_PARAM.sub(value, template)


async def _every_operation(sweep: Sweep) -> int:
    """Every operation of the OpenAPI document, on success and error paths (a few at a
    time); returns how many calls were made."""
    document = (await sweep.call("GET", "/openapi.json")).json()
    member = sweep.ids["member_token"]
    calls: list[tuple[str, str, str | None, Any]] = []
    for template, operations in document["paths"].items():
        for method in operations:
            verb = method.upper()
            real_path = _path_for(template, sweep.ids, real=True)
            # Reads on real objects as the owner: the success path.
            if verb == "GET":
                calls.append((verb, real_path, sweep.owner, None))
                # Secrets a careless client put in the URL must not reach a log line.
                query = f"?api_key={KEYS['rejected']}&access_token={member}"
                calls.append((verb, real_path + query, sweep.owner, None))
            # Writes as the owner on unknown ids (nothing real is destroyed), carrying keys
            # in bodies the server must reject.
            for body in _bodies_with_rejected_keys():
                path = _path_for(template, sweep.ids, real=verb in ("POST", "PUT"))
                calls.append((verb, path, sweep.owner, body))
            # Other callers: a member, nobody, a token that is not one.
            if verb == "GET":
                for token in (member, None, "cgt_" + "x" * 43):
                    calls.append((verb, real_path, token, None))
    slots = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(verb: str, path: str, token: str | None, body: Any) -> None:
        async with slots:
            if body is None:
                await sweep.call(verb, path, token)
            else:
                await sweep.call(verb, path, token, json=body)

    await asyncio.gather(*(one(*call) for call in calls))
    return len(calls)


async def _cli(environ: dict[str, str], sweep: Sweep) -> str:
    """The database-direct commands; their output (minus the token they print once)."""
    independent = (
        ("keys", "status"),
        ("users", "create", "cli-user", "--role", "member"),
        ("chats", "purge"),
    )
    results = await asyncio.gather(*(run_chatgate(*args, environ=environ) for args in independent))
    minted = await run_chatgate("tokens", "create", "cli-user", "--name", "cli", environ=environ)
    outputs = []
    for args, result in [*zip(independent, results, strict=True), (("tokens",), minted)]:
        assert result.code == 0, (args, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)
    [token] = re.findall(r"cgt_[A-Za-z0-9_-]{43}", minted.stdout)
    sweep.tokens.append(token)
    return "\n".join(outputs).replace(token, "")


def _sqlite_files(database_url: str) -> str:
    path = Path(make_url(database_url).database or "")
    raw = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            raw += candidate.read_bytes()
    return raw.decode("latin-1")


async def _postgres_rows(database_url: str) -> str:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        rows = []
        for table in tables:
            name = table["table_name"].replace('"', '""')
            rows += [r[0] for r in await conn.fetch(f'SELECT t::text FROM "{name}" t')]  # noqa: S608
        assert len(tables) >= 10, "expected every chatgate table"
        return "\n".join(rows)
    finally:
        await conn.close()


async def _database_text(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return _sqlite_files(database_url)
    return await _postgres_rows(database_url)


def _hits(haystack: str, needles: dict[str, str]) -> list[str]:
    """Which needles occur, each with the start of the first line holding it."""
    found = []
    for name, needle in needles.items():
        for line in haystack.splitlines():
            if needle in line:
                found.append(f"{name}: {line[:300]}")
                break
    return found


async def test_no_key_or_token_leaks_anywhere(scratch_database_url: str) -> None:
    backend = "sqlite" if scratch_database_url.startswith("sqlite") else "postgresql"
    log_format = "text" if backend == "sqlite" else "json"
    async with FakeUpstream() as fake:
        environ = deployed_environ(
            scratch_database_url,
            CHATGATE_LOG_FORMAT=log_format,
            CHATGATE_OPENROUTER_API_KEY=KEYS["deployment"],
            CHATGATE_OPENROUTER_BASE_URL=fake.url + "/v1",
            CHATGATE_LOG_LEVEL="debug",
        )
        async with serving(environ) as served:
            [owner_token] = served.printed_tokens
            sweep = Sweep(served, owner_token)
            async with sweep.client:
                await _configure(sweep, fake)
                await _gateway(sweep, fake)
                calls = await _every_operation(sweep)
                assert calls > 100
                metrics = await sweep.call("GET", "/metrics", owner_token)
                assert metrics.status_code == 200
                cli_output = await _cli(environ, sweep)
                database_while_running = await _database_text(scratch_database_url)
            await served.stop()
        database_after = await _database_text(scratch_database_url)
        # The fake did receive every key: the needles are real.
        received = {request.api_key for request in fake.requests}
        planted = ("central", "central2", "translated", "user", "deployment", "unsaved")
        assert {KEYS[role] for role in planted} <= received

    keys = {role: _core(secret) for role, secret in KEYS.items()}
    tokens = {f"token{i}": token for i, token in enumerate(sweep.tokens)}
    # The one-time display of the owner's token on first start is by design.
    stdout = "\n".join(line for line in served.stdout if line.strip() != owner_token)
    logs = "\n".join(served.stderr) + "\n" + stdout
    everywhere = {
        "responses": sweep.exposed_text(),
        "logs": logs,
        "cli": cli_output,
        "database (running)": database_while_running,
        "database (stopped)": database_after,
    }
    leaks = {
        place: _hits(text, keys) + _hits(text, tokens)
        for place, text in everywhere.items()
        if _hits(text, keys) + _hits(text, tokens)
    }
    assert leaks == {}
    assert len(served.stderr) > 100  # the access log was on


# -- the leaks the sweep found, pinned by fast in-process tests --------------------------


@pytest.mark.parametrize("family", ["openai", "anthropic", "google"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_key_echoed_in_a_successful_answer_is_redacted(
    env: Env, fake: FakeUpstream, family: str, stream: bool
) -> None:
    key = _canary("echoed")
    base_url = fake.url + ("/v1" if family == "openai" else "")
    provider = await add_provider(env, family=family, base_url=base_url, api_key=key)
    await add_model(env, provider_config_id=provider["id"], model="up", name="chat")
    fake.script(echo_key=True)
    response = await ask_chat(env, stream=stream)
    assert response.status_code == 200
    assert fake.requests[0].api_key == key
    assert "<redacted>" in response.text
    assert _core(key) not in response.text
