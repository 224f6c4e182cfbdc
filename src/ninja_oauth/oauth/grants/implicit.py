"""The implicit grant for Single-Page Apps: a 1-hour token straight from the authorize step,
"in the query string parameters" as the documents say, or in the fragment on request."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    OAuth2Error,
    UnauthorizedClientError,
)

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.client_auth import OAuthClient
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import User
from ninja_oauth.oauth.errors import StrictProfileError
from ninja_oauth.oauth.grants.rules import (
    check_response_mode,
    check_sent_client_secret,
    registered_redirect_uri,
    resolve_scope,
    strict_because,
    success_redirect,
    without_offline_access,
)
from ninja_oauth.oauth.profiles import Profile


class ImplicitGrant(grants.ImplicitGrant):  # type: ignore[misc]
    validate_authorization_redirect_uri = staticmethod(registered_redirect_uri)

    @property
    def ctx(self) -> CoreContext:
        ctx: CoreContext = self.server.ctx
        return ctx

    def validate_authorization_request(self) -> str:
        # Authlib authenticates the client with method "none" here; an SPA has no secret, and
        # an unknown client must reach the error page, so look it up directly instead.
        request = self.request
        client_id = request.payload.client_id
        if not client_id:
            raise InvalidClientError(description="Missing 'client_id' parameter.")
        client: OAuthClient | None = self.server.query_client(client_id)
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        redirect_uri: str = self.validate_authorization_redirect_uri(request, client)
        check_sent_client_secret(self.ctx, request, client, redirect_uri)
        request.client = client
        try:
            why = strict_because(self.ctx, client)
            if why is not None:
                # RFC 9700 §2.1.2: "clients SHOULD NOT use the implicit grant". Off for the whole
                # server is unsupported_response_type; off for this app, unauthorized_client.
                server_wide = self.ctx.policy.profile is Profile.STRICT
                raise StrictProfileError(
                    "unsupported_response_type" if server_wide else "unauthorized_client",
                    f"response_type=token (the implicit grant) is off: {why} (RFC 9700 section "
                    "2.1.2). Use response_type=code with PKCE (code_challenge_method=S256).",
                )
            if not client.check_response_type("token"):
                raise UnauthorizedClientError(
                    "The app is not allowed to use 'response_type=token' (the Implicit grant)."
                )
            check_response_mode(request, redirect_uri)
            self.server.validate_requested_scope(request.payload.scope)
            resolve_scope(request, client)
            # RFC 6749 §4.2.2: no refresh token, so offline_access is not granted (as with
            # client_credentials).
            request.scope = without_offline_access(request.scope)
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def create_authorization_response(
        self, redirect_uri: str, grant_user: User | None
    ) -> tuple[int, str, list[tuple[str, str]]]:
        if grant_user is None:
            raise AccessDeniedError("The user denied the request.", redirect_uri=redirect_uri)
        self.request.user = grant_user
        self.request.grant_id = s.new_grant_id()
        token = self.generate_token(
            user=grant_user, scope=self.request.scope, include_refresh_token=False
        )
        self.save_token(token)
        params = [(key, str(value)) for key, value in token.items()]
        return success_redirect(self.ctx, self.request, redirect_uri, list(params))
