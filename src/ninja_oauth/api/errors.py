"""Errors of the Public API slice and the handlers that render them as JSON.

Routes and services raise ``ApiError`` subclasses; ``install_api_error_handlers`` turns them, and
FastAPI's request validation errors on ``/v2`` paths, into ``{"error", "error_description"}``
bodies, the shape the rest of ninja-oauth answers with. Validation failures are 400 naming the
field (NinjaOne answers bad input with 400, not FastAPI's 422).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from fastapi import FastAPI
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

API_PREFIX = "/v2"

Handler = Callable[[Request, Exception], Awaitable[Response]]


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


def error_response(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.description)


def install_api_error_handlers(app: FastAPI) -> None:
    """Render ApiError everywhere and validation errors of /v2 paths as 400.

    Validation errors on other paths keep whatever handler the app had (FastAPI's 422 by
    default), so the OAuth and admin routes are unaffected.
    """
    previous = cast(
        Handler,
        app.exception_handlers.get(RequestValidationError, request_validation_exception_handler),
    )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not request.url.path.startswith(API_PREFIX + "/"):
            return await previous(request, exc)
        return error_response(400, "invalid_request", describe_validation_error(exc))

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ApiError, _api_error)
