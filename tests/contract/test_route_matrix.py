"""Every route declares who may call it, and the role x route matrix holds (SPEC §13, §14).

The routes come from ``create_app`` itself, so a route added later is covered without
editing the matrix code: it fails here until it declares a permission through
``chatgate.api.deps.Requires`` (plain ASGI routes: a ``permission`` attribute on the
endpoint, which the endpoint must enforce itself) and is listed in ``DECLARED`` below.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from chatgate.api.deps import Requires, requires
from chatgate.authz import Permission
from chatgate.ids import new_id
from tests.support.helpers import Env

# (method, path) -> the permission the route must declare. Edit deliberately: this is the
# reviewed list of who may call what.
DECLARED: dict[tuple[str, str], Permission] = {
    ("GET", "/healthz"): Permission.PUBLIC,
    ("GET", "/readyz"): Permission.PUBLIC,
    ("GET", "/metrics"): Permission.METRICS,
    ("POST", "/api/v1/users"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/users"): Permission.ADMIN_READ,
    ("GET", "/api/v1/users/me"): Permission.AUTHENTICATED,
    ("POST", "/api/v1/sessions"): Permission.PUBLIC,
    ("DELETE", "/api/v1/sessions/current"): Permission.AUTHENTICATED,
    ("GET", "/ui"): Permission.PUBLIC,
    ("GET", "/ui/sign-in"): Permission.PUBLIC,
    ("POST", "/ui/sign-in"): Permission.PUBLIC,
    ("GET", "/ui/providers"): Permission.ADMIN_READ,
    ("GET", "/ui/models"): Permission.AUTHENTICATED,
    # The member pages (chatgate/ui/member_pages.py, chat_pages.py, report_pages.py).
    ("GET", "/ui/my-keys"): Permission.AUTHENTICATED,
    ("GET", "/ui/chats"): Permission.AUTHENTICATED,
    ("GET", "/ui/chats/{chat_id}"): Permission.AUTHENTICATED,
    ("GET", "/ui/audit"): Permission.ADMIN_READ,
    ("GET", "/ui/usage"): Permission.AUTHENTICATED,
    ("GET", "/ui/providers/new"): Permission.ADMIN_WRITE,
    ("GET", "/ui/providers/{provider_id}/edit"): Permission.ADMIN_WRITE,
    ("GET", "/ui/providers/{provider_id}/delete"): Permission.ADMIN_WRITE,
    ("GET", "/ui/providers/{provider_id}/keys"): Permission.ADMIN_READ,
    ("GET", "/ui/models/new"): Permission.ADMIN_WRITE,
    ("GET", "/ui/models/{model_id}/edit"): Permission.ADMIN_WRITE,
    ("GET", "/ui/users"): Permission.ADMIN_READ,
    ("GET", "/ui/users/{user_id}"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/users/{user_id}"): Permission.ADMIN_READ,
    ("PATCH", "/api/v1/users/{user_id}"): Permission.ADMIN_WRITE,
    ("POST", "/api/v1/users/{user_id}/tokens"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/users/{user_id}/tokens"): Permission.AUTHENTICATED,
    ("DELETE", "/api/v1/tokens/{token_id}"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/provider-families"): Permission.ADMIN_READ,
    ("GET", "/api/v1/providers"): Permission.ADMIN_READ,
    ("POST", "/api/v1/providers"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/providers/{provider_id}"): Permission.ADMIN_READ,
    ("PATCH", "/api/v1/providers/{provider_id}"): Permission.ADMIN_WRITE,
    ("DELETE", "/api/v1/providers/{provider_id}"): Permission.ADMIN_WRITE,
    ("POST", "/api/v1/providers/test"): Permission.ADMIN_WRITE,
    ("POST", "/api/v1/providers/{provider_id}/test"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/providers/{provider_id}/delete-impact"): Permission.ADMIN_READ,
    ("GET", "/api/v1/providers/{provider_id}/keys"): Permission.ADMIN_READ,
    ("POST", "/api/v1/providers/{provider_id}/keys"): Permission.ADMIN_WRITE,
    ("PATCH", "/api/v1/providers/{provider_id}/keys/{key_id}"): Permission.ADMIN_WRITE,
    ("DELETE", "/api/v1/providers/{provider_id}/keys/{key_id}"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/models"): Permission.ADMIN_READ,
    ("POST", "/api/v1/models"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/models/{model_id}"): Permission.ADMIN_READ,
    ("PATCH", "/api/v1/models/{model_id}"): Permission.ADMIN_WRITE,
    ("DELETE", "/api/v1/models/{model_id}"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/me/models"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/me/provider-keys"): Permission.AUTHENTICATED,
    ("PUT", "/api/v1/me/provider-keys/{provider_config_id}"): Permission.AUTHENTICATED,
    ("DELETE", "/api/v1/me/provider-keys/{provider_config_id}"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/audit-log"): Permission.ADMIN_READ,
    ("GET", "/api/v1/usage"): Permission.AUTHENTICATED,
    ("POST", "/api/v1/chats"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/chats"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/chats/{chat_id}"): Permission.AUTHENTICATED,
    ("PATCH", "/api/v1/chats/{chat_id}"): Permission.AUTHENTICATED,
    ("DELETE", "/api/v1/chats/{chat_id}"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/chats/{chat_id}/messages"): Permission.AUTHENTICATED,
    ("POST", "/api/v1/chats/{chat_id}/messages"): Permission.AUTHENTICATED,
    ("GET", "/api/v1/settings/chat-retention-days"): Permission.AUTHENTICATED,
    ("PUT", "/api/v1/settings/chat-retention-days"): Permission.ADMIN_WRITE,
    ("GET", "/api/v1/config"): Permission.ADMIN_READ,
    ("POST", "/api/v1/config/plan"): Permission.ADMIN_READ,
    ("POST", "/api/v1/config/apply"): Permission.ADMIN_WRITE,
    ("GET", "/v1/models"): Permission.AUTHENTICATED,
    ("GET", "/v1/models/{model:path}"): Permission.AUTHENTICATED,
    ("POST", "/v1/chat/completions"): Permission.AUTHENTICATED,
}

# Object-level "admin, or self" routes: authenticated to enter, then only the resource's
# owner or an admin. Called on member A's resources.
ADMIN_OR_SELF: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/users/{user_id}/tokens"),
        ("GET", "/api/v1/users/{user_id}/tokens"),
        ("DELETE", "/api/v1/tokens/{token_id}"),
    }
)

# The documentation routes (plain Starlette routes and the mount serving Swagger UI's and
# ReDoc's files, public by design, SPEC §12).
DOC_ROUTES = frozenset(
    {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/docs/static", "/ui/static"}
)

ROLES = ("anonymous", "member", "other_member", "auditor", "admin")

# SPEC §13 written out independently of chatgate.authz: which callers hold a permission.
HOLDERS: dict[Permission, frozenset[str]] = {
    Permission.PUBLIC: frozenset(ROLES),
    Permission.AUTHENTICATED: frozenset({"member", "other_member", "auditor", "admin"}),
    Permission.ADMIN_READ: frozenset({"auditor", "admin"}),
    Permission.ADMIN_WRITE: frozenset({"admin"}),
    Permission.METRICS: frozenset({"auditor", "admin"}),
}

# Valid bodies for known routes, so allowed callers get real successes; any other route
# is called with ``{}`` (an allowed caller then sees a 4xx about the body, never 401/403).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/users"): lambda n: {"username": f"matrix-{n}", "role": "member"},
    ("PATCH", "/api/v1/users/{user_id}"): lambda n: {"display_name": f"Matrix {n}"},
    ("POST", "/api/v1/users/{user_id}/tokens"): lambda n: {"name": f"matrix-{n}"},
    ("PUT", "/api/v1/settings/chat-retention-days"): lambda n: {"retention_days": 30},
    ("POST", "/api/v1/chats/{chat_id}/messages"): lambda n: {"content": f"hello {n}"},
}


@dataclass(frozen=True)
class AppRoute:
    path: str
    methods: tuple[str, ...]
    permissions: tuple[Permission, ...]  # exactly one when the route is well declared


def declared_permissions(context: RouteContext) -> tuple[Permission, ...]:
    """API routes declare through a ``Requires`` dependency; plain ASGI routes (the ``/v1``
    hot path has no dependency injection) through a ``permission`` on their endpoint."""
    original = context.original_route
    if isinstance(original, APIRoute):
        dependant = context.dependant
        return tuple(
            d.call.permission for d in dependant.dependencies if isinstance(d.call, Requires)
        )
    permission = getattr(getattr(original, "endpoint", None), "permission", None)
    return (permission,) if isinstance(permission, Permission) else ()


def app_routes(app: FastAPI) -> tuple[list[AppRoute], list[str]]:
    """Every route of the app (included routers flattened), and a description of each route
    that can declare no permission (a mount, say) and is not a documentation route."""
    found: list[AppRoute] = []
    strays: list[str] = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        methods = set(context.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette's HEAD mirrors GET
        is_api = isinstance(context.original_route, APIRoute)
        if not is_api and path in DOC_ROUTES:
            continue
        if not methods:
            strays.append(f"{type(context.original_route).__name__} {path!r}")
            continue
        found.append(AppRoute(path, tuple(sorted(methods)), declared_permissions(context)))
    return found, strays


def test_every_route_declares_the_reviewed_permission(env: Env) -> None:
    assert env.app is not None
    routes, strays = app_routes(env.app)
    assert strays == [], "routes outside the permission system"
    seen = {(method, r.path): r.permissions for r in routes for method in r.methods}
    undeclared = sorted(key for key, perms in seen.items() if len(perms) != 1)
    assert undeclared == [], "each route must declare exactly one permission"
    actual = {key: perms[0] for key, perms in seen.items()}
    unlisted = sorted(set(actual) - set(DECLARED))
    assert unlisted == [], "new routes: add them to DECLARED with their permission"
    gone = sorted(set(DECLARED) - set(actual))
    assert gone == [], "DECLARED lists routes the app no longer has"
    differ = {key: (actual[key], DECLARED[key]) for key in actual if actual[key] != DECLARED[key]}
    assert differ == {}, "(declared by the route, reviewed here)"
    assert set(ADMIN_OR_SELF) <= set(DECLARED)


@dataclass
class World:
    member_id: str
    tokens: dict[str, str | None]


async def build_world(env: Env) -> World:
    member_id, member = await env.new_user("member-a", "member")
    _, other = await env.new_user("member-b", "member")
    _, auditor = await env.new_user("auditor", "auditor")
    _, admin = await env.new_user("second-admin", "admin")
    return World(
        member_id=member_id,
        tokens={
            "anonymous": None,
            "member": member,
            "other_member": other,
            "auditor": auditor,
            "admin": admin,
        },
    )


async def pool_key(env: Env) -> tuple[str, str]:
    """A fresh provider config holding two keys (so removing one is no last-key case)."""
    owner = env.auth(env.owner_token)
    created = await env.client.post(
        "/api/v1/providers",
        json={"family": "openai", "api_key": f"sk-matrix-{new_id().hex}"},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    provider_id = created.json()["id"]
    added = await env.client.post(
        f"/api/v1/providers/{provider_id}/keys",
        json={"api_key": f"sk-matrix-{new_id().hex}"},
        headers=owner,
    )
    assert added.status_code == 201, added.text
    return provider_id, str(added.json()["id"])


async def fill_path(env: Env, world: World, path: str, member_token: str) -> str:
    """Real ids: user ids are member A's, token ids a fresh token of member A, a key id one
    of two keys of a fresh provider config (whose id then fills ``{provider_id}``); any
    other parameter gets an id that exists nowhere."""
    if "{key_id}" in path:
        provider_id, key_id = await pool_key(env)
        path = path.replace("{provider_id}", provider_id).replace("{key_id}", key_id)
    if "{user_id}" in path:
        path = path.replace("{user_id}", world.member_id)
    if "{token_id}" in path:
        minted = await env.client.post(
            "/api/v1/users/me/tokens", json={"name": "matrix"}, headers=env.auth(member_token)
        )
        assert minted.status_code == 201, minted.text
        path = path.replace("{token_id}", minted.json()["id"])
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + str(new_id()) + path[end + 1 :]
    return path


def expectation(key: tuple[str, str], permission: Permission, role: str) -> str:
    if role not in HOLDERS[permission]:
        return "401" if role == "anonymous" else "403"
    if key in ADMIN_OR_SELF and role not in ("member", "admin"):
        return "403/404"  # someone else's resource: another member, or an auditor
    return "allowed"


def outcome_matches(expected: str, status: int) -> bool:
    if expected == "allowed":
        return status not in (401, 403) and status < 500
    if expected == "403/404":
        return status in (403, 404)
    return status == int(expected)


def error_of(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The error object: the OpenAI shape ``{"error": {...}}`` on the ``/v1`` gateway
    (what OpenAI SDKs parse), ``{code, message, detail}`` everywhere else (SPEC §12)."""
    if path.startswith("/v1/"):
        return dict(body["error"])
    assert set(body) == {"code", "message", "detail"}
    return body


async def test_role_route_matrix_follows_declared_permissions(env: Env) -> None:
    world = await build_world(env)
    member_token = world.tokens["member"]
    assert member_token is not None
    assert env.app is not None
    routes, _ = app_routes(env.app)
    counter = itertools.count()
    mismatches: list[str] = []
    calls = 0
    for route in sorted(routes, key=lambda r: r.path):
        for method in route.methods:
            key = (method, route.path)
            permissions = route.permissions
            assert len(permissions) == 1, f"{key} declares no single permission"
            for role in ROLES:
                path = await fill_path(env, world, route.path, member_token)
                token = world.tokens[role]
                headers = env.auth(token) if token else {}
                kwargs: dict[str, Any] = {"headers": headers}
                if method in ("POST", "PUT", "PATCH"):
                    body = BODIES.get(key)
                    kwargs["json"] = body(next(counter)) if body else {}
                response = await env.client.request(method, path, **kwargs)
                calls += 1
                expected = expectation(key, permissions[0], role)
                if not outcome_matches(expected, response.status_code):
                    mismatches.append(
                        f"{method} {route.path} as {role}: expected {expected}, "
                        f"got {response.status_code} {response.text[:120]}"
                    )
                elif expected != "allowed" and route.path.startswith("/ui"):
                    # The UI answers with a page (a 401 is the sign-in form).
                    assert response.headers["content-type"].startswith("text/html")
                elif expected != "allowed":
                    assert set(error_of(route.path, response.json())) >= {"code", "message"}
    assert mismatches == []
    assert calls == len(ROLES) * sum(len(r.methods) for r in routes)


async def test_members_reach_their_own_tokens_through_me_but_not_anothers(env: Env) -> None:
    member_id, member = await env.new_user("member-a", "member")
    _, other = await env.new_user("member-b", "member")
    mine = await env.client.get("/api/v1/users/me/tokens", headers=env.auth(member))
    assert mine.status_code == 200
    assert [t["user_id"] for t in mine.json()] == [member_id]
    theirs = await env.client.get(f"/api/v1/users/{member_id}/tokens", headers=env.auth(other))
    assert theirs.status_code == 403
    token_id = mine.json()[0]["id"]
    revoke = await env.client.delete(f"/api/v1/tokens/{token_id}", headers=env.auth(other))
    assert revoke.status_code in (403, 404)
    still = await env.client.get("/api/v1/users/me", headers=env.auth(member))
    assert still.status_code == 200


def test_a_route_without_a_declared_permission_is_reported() -> None:
    app = FastAPI()

    @app.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    @app.get("/api/v1/declared")
    async def declared(_ctx: Any = requires(Permission.ADMIN_READ)) -> dict[str, str]:
        return {}

    app.mount("/static", FastAPI())
    routes, strays = app_routes(app)
    by_path = {r.path: r.permissions for r in routes}
    assert by_path == {"/api/v1/forgotten": (), "/api/v1/declared": (Permission.ADMIN_READ,)}
    assert strays == ["Mount '/static'"]
