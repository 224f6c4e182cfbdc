"""The bearer-token guard of the resource server (RFC 6750), in one place.

``require_scope(Scope.MONITORING)`` is a FastAPI dependency: it reads the bearer token, checks
it with one indexed read (on the event loop for SQLite, psycopg async for PostgreSQL: no
threadpool hop), and answers 401/403 through ``BearerError``, which ``web/errors.py`` renders.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request

from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.store.repositories.tokens import ACCESS_LOOKUP, access_grant

REALM = "ninja-oauth"


class BearerError(Exception):
    """An RFC 6750 §3 answer: 401 without/with ``invalid_token``, or 403 ``insufficient_scope``."""

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


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise BearerError(
            400, "invalid_request", "Send the token as 'Authorization: Bearer <token>'."
        )
    return value.strip()


async def authenticate_bearer(request: Request) -> AccessGrant:
    """The valid, unexpired, unrevoked grant behind the request's bearer token."""
    token = _bearer_token(request)
    if token is None:
        # RFC 6750 §3.1: no error code when the request carries no authentication.
        raise BearerError(401)
    state = request.app.state
    digest = state.hasher.access_key(token)
    grant = access_grant(await state.store.fetchone_async(ACCESS_LOOKUP, {"digest": digest}))
    if grant is None:
        raise BearerError(401, "invalid_token", "The access token is unknown or revoked.")
    if grant.expires_at <= int(time.time()):
        raise BearerError(401, "invalid_token", "The access token has expired.")
    return grant


def require_scope(scope: Scope) -> Callable[[Request], Awaitable[AccessGrant]]:
    """A dependency that admits only tokens carrying ``scope`` (the scopes are independent)."""

    async def dependency(request: Request) -> AccessGrant:
        grant = await authenticate_bearer(request)
        if not grant.has(scope):
            raise BearerError(
                403,
                "insufficient_scope",
                f"This call needs the '{scope.value}' scope.",
                scope=scope.value,
            )
        request.state.access = grant
        return grant

    dependency.__name__ = f"require_{scope.value}"
    return dependency
