"""Client authentication at the token, revocation and introspection endpoints (DESIGN §6).

Written here rather than taken from Authlib's ClientAuthentication because the NinjaOne rules
decide the method by platform (confidential apps: client_secret_basic or client_secret_post;
public apps: none), credentials in the URL query are refused (RFC 6749 §2.3.1), two methods
at once are refused (§2.3), and the error must say what to fix.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.errors import ClientAuthError
from ninja_oauth.oauth.platforms import GrantType
from ninja_oauth.oauth.scopes import Scope, join_scope, parse_scope


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """An App as Authlib's ClientMixin sees it, with the hasher to check its secret."""

    def __init__(self, app: App, hasher: s.SecretHasher) -> None:
        self.app = app
        self.client_id = app.client_id
        self._hasher = hasher

    def __repr__(self) -> str:
        return f"OAuthClient({self.client_id!r})"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # DESIGN §6: redirect_uri is required on every authorize request.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The documents: scope "defaults to all of the scopes configured for the application".

        Returns None (→ invalid_scope) when a requested scope is not the app's.
        """
        requested = parse_scope(scope)
        if not requested:
            return join_scope(self.app.scopes)
        if self.unknown_scopes(scope):
            return None
        return join_scope(requested)

    def unknown_scopes(self, scope: str | None) -> list[str]:
        """The requested scopes the app may not have (offline_access needs the refresh grant)."""
        allowed = set(self.app.scopes)
        if self.app.offline_access_allowed():
            allowed.add(Scope.OFFLINE_ACCESS.value)
        return [x for x in parse_scope(scope) if x not in allowed]

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return self.app.allows_redirect_uri(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return self._hasher.verify(client_secret, self.app.secret_digest, s.CLIENT_SECRET)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.app.confidential:
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        if response_type == "code":
            return self.app.allows_grant(GrantType.AUTHORIZATION_CODE)
        if response_type == "token":
            return self.app.allows_grant(GrantType.IMPLICIT)
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return self.app.allows_grant(grant_type)


def basic_credentials(headers: Any) -> tuple[str, str] | None:
    """client_id and client_secret from ``Authorization: Basic`` (RFC 6749 §2.3.1: both are
    form-urlencoded before base64), or None when the header is not Basic. Several
    Authorization headers are invalid_request: which credentials would count?"""
    # One pass, matching the name in any case, whatever the mapping (a framework's
    # case-insensitive headers, which lists a repeated header once per line, or a dict): a
    # lookup that misses raises and catches a KeyError inside, twice per spelling tried, and
    # this runs twice on every token request.
    values = [v for k, v in headers.items() if k.lower() == "authorization"]
    if len(values) > 1:
        raise InvalidRequestError("Send one Authorization header, not several.")
    value = values[0] if values else ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, ValueError):  # ValueError: also non-ASCII input
        raise ClientAuthError(
            status_code=401, description="The Authorization header is not valid HTTP Basic."
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ClientAuthError(
            status_code=401, description="The Authorization header is not valid HTTP Basic."
        )
    return unquote(client_id), unquote(secret)


def authenticate(request: Any, query_client: Any) -> OAuthClient:
    """Find and authenticate the client of a token-endpoint request, or raise invalid_client.

    Records on ``request.auth_method`` which method succeeded; set only here, once the secret
    (if any) is verified, so a secret method there earns the caller its throttle pass
    (``throttling.py``).
    """
    args = request.args or {}
    if "client_secret" in args:
        raise InvalidRequestError(
            "Send client_secret in the request body or with HTTP Basic, never in the URL query."
        )
    form = request.form or {}
    basic = basic_credentials(request.headers)
    client_id: str | None
    secret: str | None
    form_id = form.get("client_id")
    form_secret = form.get("client_secret")
    if basic is not None and form_secret:
        raise InvalidRequestError(
            "Use one client authentication method: HTTP Basic or client_secret in the body, "
            "not both."
        )
    if basic is not None:
        client_id, secret = basic
        if form_id and form_id != client_id:
            raise InvalidRequestError("client_id in the body does not match the HTTP Basic user.")
        method, status = "client_secret_basic", 401
    else:
        client_id, secret = form_id, form_secret
        method = "client_secret_post" if form_secret else "none"
        status = 400
    if not client_id:
        raise ClientAuthError(
            status_code=401,
            description="Missing client authentication: send client_id (and client_secret for "
            "confidential apps) in the body or with HTTP Basic.",
        )
    client: OAuthClient | None = query_client(client_id)
    if client is None:
        raise ClientAuthError(
            status_code=status,
            description="The client credentials are not valid: unknown client_id.",
        )
    if client.app.confidential:
        if not secret:
            raise ClientAuthError(
                status_code=401,
                description="The client credentials are not valid: this app is confidential and "
                "must send its client_secret.",
            )
        if not client.check_client_secret(secret):
            raise ClientAuthError(
                status_code=status,
                description="The client credentials are not valid: wrong client_secret.",
            )
    elif secret:
        raise ClientAuthError(
            status_code=status,
            description="The client credentials are not valid: this app is public and has no "
            "client_secret; send only client_id.",
        )
    else:
        # A public app proves nothing (HTTP Basic with an empty password included): it earns
        # no throttle pass, which is for a client that proved its secret.
        method = "none"
    request.auth_method = method
    return client
