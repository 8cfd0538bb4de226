"""``POST /api/v1/sessions`` and ``DELETE /api/v1/sessions/current`` (SPEC §12, §14)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import NO_CONTENT, error_responses
from chatgate.authz import Permission
from chatgate.authz.sessions import COOKIE_NAME, IDLE_TIMEOUT
from chatgate.sessions import service
from chatgate.sessions.schemas import SessionCreate

router = APIRouter(prefix="/api/v1", tags=["sessions"])


def _cookie(response: Response, request: Request, secret: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        secret,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.post(
    "/sessions",
    status_code=204,
    response_class=Response,
    summary="Sign in: exchange a token for a session cookie",
    description="Sets an HttpOnly, SameSite=Strict cookie (Secure over https) that "
    "authenticates the browser for 12 idle hours, or until sign-out or the token's end. "
    "Cookie-authenticated requests other than GET and HEAD must send `x-chatgate-csrf: 1`.",
    responses={**NO_CONTENT, **error_responses((401, "`unauthenticated`: not a valid token."))},
)
async def sign_in(
    body: SessionCreate, request: Request, ctx: Context = requires(Permission.PUBLIC)
) -> Response:
    secret = await ctx.write(service.open_session, body.token)
    response = Response(status_code=204)
    _cookie(response, request, secret, int(IDLE_TIMEOUT.total_seconds()))
    return response


@router.delete(
    "/sessions/current",
    status_code=204,
    response_class=Response,
    summary="Sign out",
    description="Ends the session of the cookie sent (also when it had ended already) and "
    "clears the cookie.",
    responses=NO_CONTENT,
)
async def sign_out(request: Request, ctx: Context = requires(Permission.AUTHENTICATED)) -> Response:
    secret = request.cookies.get(COOKIE_NAME)
    if secret:
        await ctx.write(service.close_session, secret)
    response = Response(status_code=204)
    _cookie(response, request, "", 0)
    return response
