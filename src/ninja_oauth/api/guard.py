"""The bearer-token guard of the resource server (RFC 6750), in one place.

``require(request, scope)`` is an ordinary function: it reads the bearer token, checks it with
one indexed read (on the event loop for SQLite, psycopg async for PostgreSQL: no threadpool
hop), and refuses with ``BearerError`` (400, 401 or 403), which ``api/errors.py`` renders. The
reads call it first thing (``api/reads.py``); the writes reach it as a FastAPI dependency
(``require_scope``), which their routes (``GuardedRoute``) run before FastAPI reads the body.
"""

from __future__ import annotations

import re
import time
import typing
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.api.errors import BearerError
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.tokens import access_grant
from ninja_oauth.store.repositories.versions import access_async, access_with_versions_async

# Declares the bearer scheme in the OpenAPI document, so /docs offers "Authorize" for a token.
# auto_error=False: the guard, not this, answers a missing or bad token (RFC 6750).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="oauth2",
    description="An access token from POST /ws/oauth/token. Reads need the monitoring scope, "
    "writes management, remote access control.",
)


# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _bearer_token(request: Request) -> str | None:
    """The request's bearer token, or None when it carries none.

    RFC 6750 §3.1: a request that "lacks any authentication information (e.g., [...] attempted
    using an unsupported authentication method)" gets no error code, so another scheme (Basic,
    Token, Digest...) counts as no token; a Bearer header that is "otherwise malformed" (no
    token, two, characters outside b64token) or "repeats the same parameter" is
    ``invalid_request``."""
    headers = request.headers.getlist("authorization")
    if not headers:
        return None
    if len(headers) > 1:
        raise BearerError(400, "invalid_request", "Send one Authorization header, not several.")
    credentials = headers[0].split(maxsplit=1)
    if not credentials or credentials[0].lower() != "bearer":
        return None
    token = credentials[1].strip() if len(credentials) == 2 else ""
    if not _B64TOKEN.fullmatch(token):
        raise BearerError(
            400, "invalid_request", "Send the token as 'Authorization: Bearer <token>'."
        )
    return token


def _access_key(request: Request, hasher: SecretHasher) -> str:
    """What the store keeps of the request's bearer token (401 when it carries none)."""
    token = _bearer_token(request)
    if token is None:
        # RFC 6750 §3.1: no error code when the request carries no authentication.
        raise BearerError(401)
    return hasher.access_key(token)


def _valid(row: Any) -> AccessGrant:
    grant = access_grant(row)
    if grant is None:
        raise BearerError(401, "invalid_token", "The access token is unknown or revoked.")
    if grant.expires_at <= int(time.time()):
        raise BearerError(401, "invalid_token", "The access token has expired.")
    return grant


async def authenticate_bearer(request: Request, store: Store, hasher: SecretHasher) -> AccessGrant:
    """The valid, unexpired, unrevoked grant behind the request's bearer token."""
    digest = _access_key(request, hasher)
    return _valid(await access_async(store, digest))


def _in_scope(grant: AccessGrant, scope: Scope) -> AccessGrant:
    if not grant.has(scope):
        raise BearerError(
            403,
            "insufficient_scope",
            f"This call needs the '{scope.value}' scope.",
            scope=scope.value,
        )
    return grant


async def require(
    request: Request, scope: Scope, store: Store, hasher: SecretHasher
) -> AccessGrant:
    """The grant behind the request's token, if it carries ``scope`` (the scopes are
    independent: a management token does not read)."""
    return _in_scope(await authenticate_bearer(request, store, hasher), scope)


async def require_with_versions(
    request: Request, scope: Scope, store: Store, hasher: SecretHasher, tables: tuple[str, ...]
) -> tuple[AccessGrant, tuple[int, ...]]:
    """``require``, and the versions of ``tables`` read in the same statement (a read whose
    body is kept, api/reads.py). The versions are read before the rows, as a kept body needs;
    nothing is answered from them before the token and its scope have passed."""
    digest = _access_key(request, hasher)
    row, versions = await access_with_versions_async(store, digest, tables)
    return _in_scope(_valid(row), scope), versions


# The scope each dependency made by ``require_scope`` requires: how ``GuardedRoute`` finds the
# guard a write declares.
_GUARDS: dict[Callable[..., Any], Scope] = {}


def require_scope(scope: Scope) -> Callable[[Request], Awaitable[AccessGrant]]:
    """``require`` as a FastAPI dependency, for the writes."""

    async def dependency(request: Request) -> AccessGrant:
        # GuardedRoute has checked the token already: only the scope is checked again.
        checked: AccessGrant | None = getattr(request.state, "bearer_grant", None)
        if checked is not None:
            return _in_scope(checked, scope)
        state = request.app.state
        return await require(request, scope, state.store, state.hasher)

    dependency.__name__ = f"require_{scope.value}"
    _GUARDS[dependency] = scope
    return dependency


class GuardedRoute(APIRoute):
    """A write's route: the scope guard its endpoint declares (``ManagementDep``...) runs
    before FastAPI reads the body. FastAPI parses a JSON body before it runs any dependency,
    so a write with no token and a body that is not JSON would otherwise be a 400 without
    ``WWW-Authenticate``; RFC 6750 §3.1 asks for the 401 (403) first, as the reads answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        scopes = _declared_scopes(self.endpoint)
        if not scopes:
            return handler

        async def guarded(request: Request) -> Response:
            state = request.app.state
            grant = await authenticate_bearer(request, state.store, state.hasher)
            for scope in scopes:
                _in_scope(grant, scope)
            # The dependency answers with this grant: one token read per request.
            request.state.bearer_grant = grant
            return await handler(request)

        return guarded


def _declared_scopes(endpoint: Callable[..., Any]) -> list[Scope]:
    """The scopes of the guards among ``endpoint``'s parameters (``Annotated[AccessGrant,
    Depends(require_scope(...))]``), read from its annotations as FastAPI reads them."""
    scopes = []
    for hint in typing.get_type_hints(endpoint, include_extras=True).values():
        for meta in getattr(hint, "__metadata__", ()):
            dependency = getattr(meta, "dependency", None)
            if callable(dependency) and dependency in _GUARDS:
                scopes.append(_GUARDS[dependency])
    return scopes
