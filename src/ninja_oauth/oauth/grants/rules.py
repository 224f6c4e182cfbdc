"""Rules the grants share: scopes (every grant), response modes and redirects (the two
authorize-endpoint grants, code and implicit)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError

from ninja_oauth.oauth import profiles
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.errors import FatalAuthorizeError, StrictProfileError
from ninja_oauth.oauth.responses import redirect_to_client
from ninja_oauth.oauth.scopes import Scope, join_scope, parse_scope
from ninja_oauth.oauth.syntax import quoted

RESPONSE_MODES = ("query", "fragment")


def wants_fragment(request: Any) -> bool:
    """response_mode=fragment puts the response in the fragment; the default is the query
    (DESIGN §6: for implicit too, as the documents show)."""
    return bool(request.payload.data.get("response_mode") == "fragment")


def check_response_mode(request: Any, redirect_uri: str) -> None:
    mode = request.payload.data.get("response_mode")
    if mode and mode not in RESPONSE_MODES:  # empty: omitted (RFC 6749 §3.1)
        raise InvalidRequestError(
            f"Unsupported response_mode '{quoted(mode)}': use 'query' or 'fragment'.",
            redirect_uri=redirect_uri,
        )


def resolve_scope(request: Any, client: Any) -> None:
    """The documents: scope "defaults to all of the scopes configured for the application"."""
    scope = client.get_allowed_scope(request.payload.scope)
    if scope is None:
        unknown = " ".join(client.unknown_scopes(request.payload.scope))
        raise InvalidScopeError(f"The app is not configured for the scope '{quoted(unknown)}'.")
    request.scope = scope


def without_offline_access(scope: str) -> str:
    """The granted scope of a grant that never issues a refresh token."""
    granted = [x for x in parse_scope(scope) if x != Scope.OFFLINE_ACCESS]
    if not granted:
        raise InvalidScopeError(
            "offline_access alone grants nothing here: this grant issues no refresh token; ask "
            "for monitoring, management or control."
        )
    return join_scope(granted)


def registered_redirect_uri(request: Any, client: Any) -> str:
    """DESIGN §6: redirect_uri is required and must match a registered URI exactly (RFC 9700
    §4.1.3); an unregistered one is never redirected to (it goes to the error page)."""
    uri = request.payload.redirect_uri
    if not uri:
        raise InvalidRequestError(
            "Missing 'redirect_uri': it is required and must match a registered URI exactly."
        )
    if not client.check_redirect_uri(uri):
        raise InvalidRequestError(
            "The redirect_uri is not registered for this app; it must match a registered URI "
            "exactly."
        )
    return str(uri)


def strict_because(ctx: CoreContext, client: Any) -> str | None:
    """Why the strict profile applies to this client's request, or None (``profiles.py``)."""
    return profiles.strict_because(ctx.policy.profile, client.app.profile)


def check_sent_client_secret(
    ctx: CoreContext, request: Any, client: Any, redirect_uri: str
) -> None:
    """The documents: client_secret "is required for private client applications"; real
    clients send it in the authorize URL. It is checked when sent (DESIGN §6), and a wrong one
    is never redirected (there is no redirectable invalid_client). The strict profile refuses
    it there unchecked: RFC 6749 §2.3.1, the client credentials "MUST NOT be included in the
    request URI"."""
    secret = request.payload.data.get("client_secret")
    if not secret:  # absent, or sent without a value: omitted (RFC 6749 §3.1)
        return
    why = strict_because(ctx, client)
    if why is not None:
        raise StrictProfileError(
            "invalid_request",
            f"Do not send client_secret in the authorization URL: {why} (RFC 6749 section "
            "2.3.1). The app authenticates with its secret at the token endpoint only.",
            redirect_uri=redirect_uri,
        )
    if not client.app.confidential:
        raise FatalAuthorizeError(
            "invalid_client", "This app is public and has no client_secret; do not send one."
        )
    if not client.check_client_secret(secret):
        raise FatalAuthorizeError("invalid_client", "The client_secret is not valid for this app.")


def success_redirect(
    ctx: CoreContext, request: Any, redirect_uri: str, params: list[tuple[str, str | None]]
) -> tuple[int, str, list[tuple[str, str]]]:
    params = [*params, ("state", request.payload.state)]
    return redirect_to_client(
        redirect_uri, params, fragment=wants_fragment(request), issuer=ctx.issuer.url
    )
