"""Where every error of the Public API becomes HTTP (STYLE §5).

Routes, the writes (``api/writes``) and the guard raise. ``install_api_error_handlers``
registers on the API's FastAPI app the one handler of each kind, for the writes; the reads,
plain routes, answer through the same handlers (``error_response_for``):

* ``BearerError``: RFC 6750 §3, a 400, 401 or 403 with ``WWW-Authenticate``;
* ``ApiError`` (``BadRequest``, ``NotFound``, ``Conflict``): its status and code;
* request validation: 400 naming each field (NinjaOne answers bad input with 400, not 422);
* ``HTTPException`` (an unknown path, a method not allowed with every method of the path in
  ``Allow``, an undecodable body);
* ``StoreUnavailable`` (the database is down or restarting): a 503 ``temporarily_unavailable``
  with ``Retry-After``;
* anything else: a 500 ``server_error``, logged by its type alone.

Every body is ``{"error", "error_description"}``, the shape of the rest of ninja-oauth.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match

from ninja_oauth.api.schemas import ErrorBody
from ninja_oauth.oauth.errors import REALM
from ninja_oauth.store.errors import StoreUnavailable

log = logging.getLogger("ninja_oauth.errors")


# One documented 4XX instead of FastAPI's 422 on every operation.
DOCUMENTED_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "400 invalid parameter or body (the description names the field); "
        "401 missing, unknown or expired token; 403 insufficient_scope; 404 unknown id; "
        "409 the resource's state refuses the request.",
    }
}


class BearerError(Exception):
    """An RFC 6750 §3 answer: 401 without an error code or with ``invalid_token``, 400
    ``invalid_request`` (a malformed Bearer header), or 403 ``insufficient_scope``."""

    def __init__(
        self,
        status: int,
        error: str | None = None,
        description: str | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(error or "missing token")
        self.status = status
        self.error = error
        self.description = description
        self.scope = scope

    def www_authenticate(self) -> str:
        parts = [f'realm="{REALM}"']
        if self.error:
            parts.append(f'error="{self.error}"')
        if self.description:
            parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


class ApiError(Exception):
    """An answer other than success, with the status and the OAuth-style error code."""

    status = 400
    error = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequest(ApiError):
    pass


class NotFound(ApiError):
    status = 404
    error = "not_found"


class Conflict(ApiError):
    """The request is valid but the resource's state refuses it (a duplicate, an offline device)."""

    status = 409
    error = "conflict"


def invalid_field(field: str, problem: str) -> BadRequest:
    return BadRequest(f"{field}: {problem}")


def _field_name(loc: Sequence[Any]) -> str:
    # loc is ("query", "pageSize") or ("body", "locations", 0, "name"); the source is dropped.
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


def describe_validation_error(exc: RequestValidationError) -> str:
    """One line naming each failing field, e.g. ``pageSize: Input should be a valid integer``."""
    lines = []
    for err in exc.errors()[:5]:
        loc = err.get("loc", ())
        if err.get("type") == "json_invalid":
            lines.append("body: the request body is not valid JSON")
            continue
        message = str(err.get("msg", "is invalid"))
        whole_body = tuple(loc) == ("body",)
        if whole_body and err.get("type") == "missing":
            message = "a JSON body is required"
        if whole_body and err.get("type") == "value_error":
            # The models' own checks name the field in their message ("nodeRoleId must ...").
            lines.append(message.removeprefix("Value error, "))
            continue
        lines.append(f"{_field_name(loc)}: {message}")
    return "; ".join(lines) or "the request is invalid"


def validation_field(exc: RequestValidationError) -> str:
    """The input the first failing check names, at the top level (``redirect_uris`` for
    ``("body", "redirect_uris", 0)``, ``since`` for ``("query", "since")``), or ``body`` when
    it is the body as a whole (missing, not JSON): for answers that name a ``field``."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    if len(loc) > 1 and isinstance(loc[1], str) and first.get("type") != "json_invalid":
        return loc[1]
    return "body"


def error_response(
    status: int, error: str, description: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


async def _bearer_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerError)
    headers = {"WWW-Authenticate": exc.www_authenticate()}
    if not exc.error:
        # RFC 6750 §3.1: no error code when the request carried no token.
        return JSONResponse(
            {"error_description": "Send an access token as 'Authorization: Bearer <token>'."},
            status_code=exc.status,
            headers=headers,
        )
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.description)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "invalid_request", describe_validation_error(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return error_response(
        exc.status_code,
        "not_found" if exc.status_code == 404 else "invalid_request",
        str(exc.detail),
        headers,
    )


# The methods of RFC 9110 §9 and PATCH (RFC 5789), in the order an Allow header lists them.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves on the request's path. RFC 9110 §15.5.6: a
    405 "MUST generate an Allow header field ... containing a list of the target resource's
    currently supported methods"; Starlette names only those of the first route whose path
    matches, and a path's read and its writes are separate routes."""
    routes: list[BaseRoute] = getattr(request.scope.get("app"), "routes", [])
    path = {key: request.scope[key] for key in ("path", "root_path") if key in request.scope}
    return [
        method
        for method in _METHODS
        # A fresh scope per probe: matching leaves the request's own untouched.
        if any(
            route.matches({"type": "http", "method": method, **path})[0] is Match.FULL
            for route in routes
        )
    ]


async def _unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    cause = type(exc.__cause__).__name__ if exc.__cause__ else "?"
    log.warning("database unavailable (%s) on %s %s", cause, request.method, request.url.path)
    return error_response(
        503,
        "temporarily_unavailable",
        "The database is unavailable; try again shortly.",
        {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"},
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged with the type only: the message or traceback could hold request data.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    response = error_response(500, "server_error", "The server could not complete the request.")
    response.headers["Cache-Control"] = "no-store"
    return response


_HANDLERS: list[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]] = [
    (BearerError, _bearer_error),
    (ApiError, _api_error),
    (RequestValidationError, _validation_error),
    (HTTPException, _http_error),
    (StoreUnavailable, _unavailable),
    (Exception, _unexpected),
]


async def error_response_for(request: Request, exc: Exception) -> Response:
    """The answer to ``exc``, as the API app's handlers give it (for the reads, which answer
    their own errors: ``api/reads.py``)."""
    for kind, handler in _HANDLERS:
        if isinstance(exc, kind):
            return await handler(request, exc)
    raise exc  # pragma: no cover - Exception catches everything


def install_api_error_handlers(app: FastAPI) -> None:
    """Register the Public API's error handlers on ``app`` (for the writes, FastAPI routes)."""
    for kind, handler in _HANDLERS:
        app.add_exception_handler(kind, handler)
