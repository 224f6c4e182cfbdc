"""Revocation (RFC 7009) and introspection (RFC 7662) as Authlib endpoint subclasses."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _Revocation
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _Introspection

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.client_auth import OAuthClient
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import TokenInfo
from ninja_oauth.oauth.errors import ClientAuthError
from ninja_oauth.oauth.ports import Writes

_ALL_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def _find(ctx: CoreContext, token: str, hint: str | None) -> TokenInfo | None:
    return ctx.repos.tokens.find(
        ctx.hasher.access_key(token),
        ctx.hasher.digest(token, s.REFRESH_TOKEN),
        ctx.clock(),
        hint,
    )


_HINTS = ("access_token", "refresh_token")


def _check_token_params(request: Any) -> None:
    """RFC 7009 §2.1 and RFC 7662 §2.1: the hint is optional, a value the server does not know
    is ignored (the search covers every token type) rather than refused."""
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token' in request.")
    if request.form.get("token_type_hint") not in (None, *_HINTS):
        del request.form["token_type_hint"]


class RevocationEndpoint(_Revocation):  # type: ignore[misc]
    # Revokes (changes) existing rows.
    WRITES = Writes.CHANGES
    CLIENT_AUTH_METHODS = _ALL_METHODS

    @property
    def ctx(self) -> CoreContext:
        ctx: CoreContext = self.server.ctx
        return ctx

    def check_params(self, request: Any, client: Any) -> None:
        _check_token_params(request)
        super().check_params(request, client)

    def authenticate_token(self, request: Any, client: OAuthClient) -> TokenInfo | None:
        self.check_params(request, client)
        info = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 §2.1: the server "verifies whether the token was issued to the client making
        # the revocation request"; a token of another app is left alone, and, like an unknown
        # token, answered with 200 so revocation cannot be used to probe for tokens.
        if info is None or not info.check_client(client):
            return None
        return info

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenInfo | None:
        return _find(self.ctx, token_string, token_type_hint)

    def revoke_token(self, token: TokenInfo, request: Any) -> None:
        self.ctx.repos.tokens.revoke(token, self.ctx.clock())
        self.ctx.repos.audit.record(
            "token_revoked",
            client_id=token.client_id,
            kind=token.kind,
            address=request.address,
        )


class IntrospectionEndpoint(_Introspection):  # type: ignore[misc]
    # Writes nothing when it succeeds.
    WRITES = Writes.APPENDS
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def ctx(self) -> CoreContext:
        ctx: CoreContext = self.server.ctx
        return ctx

    def authenticate_endpoint_client(self, request: Any) -> OAuthClient:
        client: OAuthClient = super().authenticate_endpoint_client(request)
        if not client.app.confidential:
            raise ClientAuthError(
                status_code=401,
                description="Introspection needs a confidential app (API Services or Web).",
            )
        return client

    def check_params(self, request: Any, client: Any) -> None:
        _check_token_params(request)
        super().check_params(request, client)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenInfo | None:
        return _find(self.ctx, token_string, token_type_hint)

    def check_permission(self, token: TokenInfo, client: OAuthClient, request: Any) -> bool:
        """RFC 7662 §4: the server "MUST determine whether or not the token can be used at the
        protected resource making the introspection call"; a token the caller may not see is
        answered as inactive. DESIGN §6: an app sees its own tokens; an app declared a resource
        server (NINJA_OAUTH_INTROSPECTION_RESOURCE_SERVERS) also sees other apps' access
        tokens, which it is presented with; never their refresh tokens."""
        if token.client_id == client.client_id:
            return True
        resource_servers = self.ctx.policy.introspection_resource_servers
        return token.kind == "access_token" and client.client_id in resource_servers

    def create_introspection_payload(self, token: TokenInfo | None) -> dict[str, Any]:
        # DESIGN §6: an unknown, expired or revoked token is {"active": false} and nothing else.
        if token is None or not token.active:
            return {"active": False}
        return self.introspect_token(token)

    def introspect_token(self, token: TokenInfo) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "bearer" if token.kind == "access_token" else "refresh_token",
            "exp": token.expires_at,
            "iat": token.issued_at,
            "iss": self.ctx.issuer.url,
        }
        if token.user_id is not None:
            body["sub"] = str(token.user_id)
        return body
