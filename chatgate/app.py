"""``create_app``: routers, middleware and error handlers around one ``Runtime``."""

from __future__ import annotations

from fastapi import FastAPI

from chatgate.api.errors import install_error_handlers
from chatgate.api.middleware import RequestMiddleware
from chatgate.api.responses import JsonResponse
from chatgate.runtime import Runtime
from chatgate.system.routes import router as system_router
from chatgate.users.routes import router as users_router


def create_app(runtime: Runtime) -> FastAPI:
    # strict_content_type=False: a JSON body is parsed whatever Content-Type a client sent.
    app = FastAPI(
        title="chatgate",
        version="0.1.0",
        default_response_class=JsonResponse,
        strict_content_type=False,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(system_router)
    app.include_router(users_router)
    app.add_middleware(RequestMiddleware, metrics=runtime.metrics)
    return app
