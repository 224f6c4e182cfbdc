"""The resource server: a slice of the NinjaOne Public API v2 (issue 4).

Reads need the ``monitoring`` scope, writes ``management``, remote access ``control``; the
guard in ``guard.py`` enforces this through the dependencies in ``deps.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Security
from fastapi.security import HTTPBearer

from ninja_oauth.api.routes import activities, catalog, device_actions, devices, organizations
from ninja_oauth.api.schemas import ErrorBody

# Declares the bearer scheme in the OpenAPI document, so /docs offers "Authorize" for a token.
# auto_error=False: the guard, not this, answers a missing or bad token (RFC 6750).
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="oauth2",
    description="An access token from POST /ws/oauth/token. Reads need the monitoring scope, "
    "writes management, remote access control.",
)


# One documented 4XX instead of FastAPI's 422: /v2 answers bad input with 400 (errors.py).
_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "400 invalid parameter or body (the description names the field); "
        "401 missing, unknown or expired token; 403 insufficient_scope; 404 unknown id; "
        "409 the resource's state refuses the request.",
    }
}


def build_api_router() -> APIRouter:
    """Every /v2 route of the slice; the app mounts it and calls install_api_error_handlers."""
    router = APIRouter(dependencies=[Security(_bearer)], responses=_ERRORS)
    for module in (organizations, devices, device_actions, activities, catalog):
        router.include_router(module.router)
    return router
