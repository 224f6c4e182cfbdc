"""Opaque bearer tokens: generation, the response body, and the stored (digested) row."""

from __future__ import annotations

from typing import Any

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import NewToken
from ninja_oauth.oauth.platforms import GrantType
from ninja_oauth.oauth.scopes import Scope, parse_scope


class TokenGenerator:
    """Authlib's token generator hook: 256-bit opaque tokens, 'bearer' as the documents show."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx

    def __call__(
        self,
        grant_type: str,
        client: Any,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "access_token": s.new_access_token(),
            "token_type": "bearer",
            "expires_in": expires_in or self._ctx.lifetimes.access_token,
            "scope": scope or "",
        }
        # Refresh tokens only from the authorization code grant with offline_access, and on
        # rotation while the scope keeps offline_access (DESIGN §6); never from
        # client_credentials (RFC 6749 §4.4.3) or implicit.
        wants_offline = Scope.OFFLINE_ACCESS.value in parse_scope(scope)
        if (
            include_refresh_token
            and wants_offline
            and grant_type in (GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN)
        ):
            token["refresh_token"] = s.new_secret()
        return token


def token_row(ctx: CoreContext, token: dict[str, Any], request: Any) -> NewToken:
    """The row to store for an issued token: digests, owner, family and lifetimes."""
    now = ctx.clock()
    refresh = token.get("refresh_token")
    grant_id: str = getattr(request, "grant_id", None) or s.new_grant_id()
    user = request.user
    return NewToken(
        access_digest=ctx.hasher.access_key(token["access_token"]),
        refresh_digest=ctx.hasher.digest(refresh, s.REFRESH_TOKEN) if refresh else None,
        client_id=request.client.client_id,
        user_id=None if user is None else user.id,
        scope=token.get("scope", ""),
        refresh_scope=(getattr(request, "refresh_scope", None) or token.get("scope"))
        if refresh
        else None,
        grant_id=grant_id,
        grant_type=request.payload.grant_type or GrantType.IMPLICIT.value,
        issued_at=now,
        access_expires_at=now + int(token["expires_in"]),
        refresh_expires_at=now + ctx.lifetimes.refresh_token if refresh else None,
    )
