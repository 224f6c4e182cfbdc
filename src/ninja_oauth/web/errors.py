"""The one place errors become HTTP (STYLE §5): an HTML page for fatal authorize errors,
RFC 6750 answers for the Public API, RFC 6749 JSON on protocol endpoints, and a generic
server_error for anything unexpected (never a stack trace, never a secret)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ninja_oauth.api.guard import BearerError
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.web.services import templates

log = logging.getLogger("ninja_oauth.errors")

_FATAL_ADVICE = {
    "invalid_client": "Check the client_id (and client_secret, if the app sends one) in the "
    "app's authorization link against the app registered on this server.",
    "invalid_request": "The app's authorization link is malformed; its developer needs to fix it.",
    "slow_down": "Too many failed attempts: wait a little and try again.",
}


def error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    code: str | None = None,
    advice: str = "Go back to the application and start again.",
) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "code": code, "advice": advice},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def fatal_authorize(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FatalAuthorizeError)
    page = error_page(
        request,
        429 if exc.error == "slow_down" else 400,
        "This sign-in request cannot be accepted",
        exc.get_error_description() or "The authorization request is not valid.",
        exc.error,
        _FATAL_ADVICE.get(exc.error, "The application's developer needs to fix its request."),
    )
    if exc.retry_after:
        page.headers["Retry-After"] = str(exc.retry_after)
    return page


async def bearer_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerError)
    body: dict[str, str] = {}
    if exc.error:
        body["error"] = exc.error
        if exc.description:
            body["error_description"] = exc.description
    else:
        # RFC 6750 §3.1: no error code when the request carried no token.
        body = {"error_description": "Send an access token as 'Authorization: Bearer <token>'."}
    return JSONResponse(
        body, status_code=exc.status, headers={"WWW-Authenticate": exc.www_authenticate()}
    )


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        "/v2"
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_html(request):
        return error_page(request, exc.status_code, "Not available", str(exc.detail))
    return JSONResponse(
        {
            "error": "not_found" if exc.status_code == 404 else "invalid_request",
            "error_description": str(exc.detail),
        },
        status_code=exc.status_code,
    )


async def unexpected(request: Request, exc: Exception) -> Response:
    # Logged with the type only: the message or traceback could hold request data.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    if _wants_html(request):
        return error_page(
            request, 500, "Something went wrong", "The server could not complete the request."
        )
    return JSONResponse(
        {
            "error": "server_error",
            "error_description": "The server could not complete the request.",
        },
        status_code=500,
        headers={"Cache-Control": "no-store"},
    )


# The root app (OAuth endpoints and pages) and the mounted Public API share the mapping.
EXCEPTION_HANDLERS = {
    FatalAuthorizeError: fatal_authorize,
    BearerError: bearer_error,
    HTTPException: http_error,
    Exception: unexpected,
}
API_EXCEPTION_HANDLERS = {
    BearerError: bearer_error,
    HTTPException: http_error,
    Exception: unexpected,
}
