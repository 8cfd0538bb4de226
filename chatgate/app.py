"""``create_app``: routers, middleware and error handlers around one ``Runtime``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatgate.api.errors import install_error_handlers
from chatgate.api.middleware import RequestMiddleware
from chatgate.api.openapi import install_openapi
from chatgate.api.responses import JsonResponse
from chatgate.audit.routes import router as audit_router
from chatgate.catalog.routes import router as catalog_router
from chatgate.chats.replying import ChatReplies
from chatgate.chats.retention import purging
from chatgate.chats.routes import router as chats_router
from chatgate.chats.routes import settings_router
from chatgate.configdoc.routes import router as config_router
from chatgate.gateway.openapi import gateway_openapi
from chatgate.gateway.router import GatewayRouter
from chatgate.gateway.wiring import build_gateway, running
from chatgate.models.routes import router as models_router
from chatgate.providers.routes import router as providers_router
from chatgate.runtime import Runtime
from chatgate.sessions.routes import router as sessions_router
from chatgate.system.routes import router as system_router
from chatgate.ui.admin_pages import router as ui_admin_router
from chatgate.ui.member_pages import router as ui_member_router
from chatgate.ui.routes import ContentSecurityPolicy
from chatgate.ui.routes import error_page as ui_error_page
from chatgate.ui.routes import router as ui_router
from chatgate.ui.routes import static_files as ui_static_files
from chatgate.usage.routes import router as usage_router
from chatgate.userkeys.routes import router as userkeys_router
from chatgate.users.routes import router as users_router


def create_app(runtime: Runtime) -> FastAPI:
    gateway = build_gateway(runtime)
    chat_replies = ChatReplies(
        db=runtime.db,
        engine=gateway.chat_replies,
        metrics=runtime.metrics,
        settings=runtime.settings,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with (
            running(gateway, runtime),
            purging(runtime.db, runtime.metrics, runtime.settings.chat_purge_interval_s),
        ):
            try:
                yield
            finally:
                # Replies in flight are stored (partial) while the gateway still runs.
                await chat_replies.stop()

    # strict_content_type=False: a body sent without a Content-Type header is read as JSON.
    app = FastAPI(
        title="chatgate",
        version="0.1.0",
        docs_url=None,  # chatgate serves its own, offline (chatgate.api.openapi)
        redoc_url=None,
        default_response_class=JsonResponse,
        strict_content_type=False,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.gateway = gateway
    # The one shared upstream client, for the API's connection tests too (started and
    # closed with the gateway).
    app.state.upstream_client = gateway.client
    app.state.chat_replies = chat_replies
    install_error_handlers(app, error_page=ui_error_page)
    app.include_router(system_router)
    app.include_router(users_router)
    app.include_router(sessions_router)
    app.include_router(providers_router)
    app.include_router(models_router)
    app.include_router(catalog_router)
    app.include_router(userkeys_router)
    app.include_router(ui_router)
    app.include_router(ui_member_router)
    app.include_router(ui_admin_router)
    app.mount("/ui/static", ui_static_files, name="ui-static")
    app.include_router(audit_router)
    app.include_router(usage_router)
    app.include_router(chats_router)
    app.include_router(settings_router)
    app.include_router(config_router)
    gateway_routes = gateway.routes()
    app.router.routes.extend(gateway_routes)
    install_openapi(app, describe_raw_routes=gateway_openapi)
    app.add_middleware(ContentSecurityPolicy)
    app.add_middleware(
        RequestMiddleware, metrics=runtime.metrics, gateway=GatewayRouter(gateway_routes)
    )
    return app
