"""Where errors of the site and of the protocol endpoints become HTTP (STYLE §5).

Two kinds of caller, two shapes, one module:

* the protocol endpoints (token, revocation, introspection, and the 405s of every OAuth path)
  answer RFC 6749 JSON: ``protocol_error``, and ``protocol_unexpected`` for anything unforeseen
  (a 503 ``temporarily_unavailable`` with Retry-After when the database is unavailable,
  ``StoreUnavailable``);
  the protocol core renders its own OAuth errors (``oauth/server.py``) into the same shape;
* the browser pages (authorize, login, consent, home) answer an HTML page: ``error_page`` and
  the site's exception handlers (``SITE_EXCEPTION_HANDLERS``).

The Public API has its own place (``api/errors.py``). Nothing here shows a stack trace or a
secret: an unexpected exception is logged by its type alone.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import json_response
from ninja_oauth.store.errors import StoreUnavailable
from ninja_oauth.web.authlib_adapter import to_starlette
from ninja_oauth.web.context import templates

log = logging.getLogger("ninja_oauth.errors")

_FATAL_ADVICE = {
    "invalid_client": "Check the client_id (and client_secret, if the app sends one) in the "
    "app's authorization link against the app registered on this server.",
    "invalid_request": "The app's authorization link is malformed; its developer needs to fix it.",
    "slow_down": "Too many failed attempts: wait a little and try again.",
}

_COULD_NOT = "The server could not complete the request."
UNAVAILABLE = "The database is unavailable; try again shortly."


# -- the protocol endpoints: RFC 6749 JSON --------------------------------------------------


def protocol_error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """An RFC 6749 §5.2 error body (``error``, ``error_description``), never cached."""
    return to_starlette(
        json_response(status, {"error": error, "error_description": description}, headers)
    )


def protocol_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StoreUnavailable):
        # RFC 6749's code for a server that cannot answer now (§4.1.2.1), with RFC 9110's
        # Retry-After: the request was fine, a retry shortly may succeed.
        _log_unavailable(request, exc)
        return protocol_error(
            503, "temporarily_unavailable", UNAVAILABLE, [("Retry-After", str(exc.retry_after))]
        )
    # Logged with the type only: the message or traceback could hold request data.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return protocol_error(500, "server_error", _COULD_NOT)


# -- the browser pages: HTML --------------------------------------------------------------


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


async def _fatal_authorize(request: Request, exc: Exception) -> Response:
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


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    """A 404 or 405 of the site: a page for a browser, JSON for a program."""
    assert isinstance(exc, HTTPException)
    if _wants_html(request):
        return error_page(request, exc.status_code, "Not available", str(exc.detail))
    return JSONResponse(
        {
            "error": "not_found" if exc.status_code == 404 else "invalid_request",
            "error_description": str(exc.detail),
        },
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _log_unavailable(request: Request, exc: StoreUnavailable) -> None:
    cause = type(exc.__cause__).__name__ if exc.__cause__ else "?"
    log.warning("database unavailable (%s) on %s %s", cause, request.method, request.url.path)


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The database is down or restarting: a 503 page (JSON for a program) to retry from."""
    assert isinstance(exc, StoreUnavailable)
    if not _wants_html(request):
        return protocol_unexpected(request, exc)
    _log_unavailable(request, exc)
    page = error_page(
        request, 503, "Temporarily unavailable", UNAVAILABLE, advice="Try again in a moment."
    )
    page.headers["Retry-After"] = str(exc.retry_after)
    return page


async def _unexpected(request: Request, exc: Exception) -> Response:
    if not _wants_html(request):
        return protocol_unexpected(request, exc)
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_page(request, 500, "Something went wrong", _COULD_NOT)


SITE_EXCEPTION_HANDLERS = {
    FatalAuthorizeError: _fatal_authorize,
    HTTPException: _http_error,
    StoreUnavailable: _unavailable,
    Exception: _unexpected,
}
