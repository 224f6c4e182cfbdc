"""The authorization server: Authlib's AuthorizationServer wired to the ports, and the one
composition of grants, extensions and endpoints (STYLE §9)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    OAuth2Error,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.grants import TokenEndpointMixin

from ninja_oauth.oauth import client_auth, syntax
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import NewToken, User
from ninja_oauth.oauth.endpoints import IntrospectionEndpoint, RevocationEndpoint
from ninja_oauth.oauth.errors import FatalAuthorizeError, TooManyRequestsError
from ninja_oauth.oauth.grants.authorization_code import (
    AuthorizationCodeGrant,
    ConstantTimeCodeChallenge,
)
from ninja_oauth.oauth.grants.client_credentials import ClientCredentialsGrant
from ninja_oauth.oauth.grants.implicit import ImplicitGrant
from ninja_oauth.oauth.grants.refresh_token import RefreshTokenGrant
from ninja_oauth.oauth.grants.rules import wants_fragment
from ninja_oauth.oauth.ports import ClientBlocks, Writes
from ninja_oauth.oauth.responses import OAuthResponse, json_response, redirect_to_client
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.oauth.throttling import Throttle
from ninja_oauth.oauth.tokens import TokenGenerator, token_row

# Authlib logs issued tokens at DEBUG ("Issue token %r to %r"): keep its loggers above that,
# whatever the application's log level (STYLE §2, secrets never in logs).
for _name in ("authlib", "authlib.oauth2"):
    logging.getLogger(_name).setLevel(logging.INFO)


class Endpoint(Enum):
    """The protocol endpoints answered from a POSTed form."""

    TOKEN = "token"
    REVOCATION = "revoke"
    INTROSPECTION = "introspect"


_ENDPOINT_WRITES = {
    Endpoint.REVOCATION: RevocationEndpoint.WRITES,
    Endpoint.INTROSPECTION: IntrospectionEndpoint.WRITES,
}


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """A validated authorize request, waiting for the user's decision."""

    grant: Any
    client_id: str
    app_name: str
    scopes: list[str]


class NinjaAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, ctx: CoreContext) -> None:
        super().__init__(scopes_supported=[x.value for x in Scope])
        self.ctx = ctx
        self.throttle = Throttle(ctx.repos.throttle, ctx.limits)
        # What each grant type and endpoint writes when it succeeds (their WRITES), for the
        # store to choose how to commit it.
        self._grant_writes: dict[str, Writes] = {}

    def register_grant(self, grant_cls: type, extensions: list[Any] | None = None) -> None:
        super().register_grant(grant_cls, extensions)
        if issubclass(grant_cls, TokenEndpointMixin):
            self._grant_writes[grant_cls.GRANT_TYPE] = grant_cls.WRITES  # type: ignore[attr-defined]

    def writes(self, endpoint: Endpoint, request: OAuth2Request) -> Writes:
        """What ``endpoint`` writes for ``request`` when it succeeds, as its grant or endpoint
        declares it; an unknown grant type changes nothing, but is answered as any other."""
        if endpoint is Endpoint.TOKEN:
            return self._grant_writes.get(str(request.payload.grant_type), Writes.CHANGES)
        return _ENDPOINT_WRITES[endpoint]

    def endpoint(self, endpoint: Endpoint) -> Callable[[OAuth2Request, str], OAuthResponse]:
        """The method answering ``endpoint`` (a request and the client's address)."""
        if endpoint is Endpoint.TOKEN:
            return self.token_endpoint
        if endpoint is Endpoint.REVOCATION:
            return self.revocation_endpoint
        return self.introspection_endpoint

    # -- Authlib hooks -----------------------------------------------------------------------

    def query_client(self, client_id: str) -> client_auth.OAuthClient | None:
        app = self.ctx.repos.apps.get(client_id)
        return client_auth.OAuthClient(app, self.ctx.hasher) if app else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        row = token_row(self.ctx, token, request)
        self.ctx.repos.tokens.save(row)
        # Counted by ``count_issued`` once the request's writes are committed: a request whose
        # commit fails (a 503 while the database is away) issued nothing. Set, not added to: a
        # request run again (on the writer path) issues its token anew.
        request.issued_token = row

    def count_issued(self, request: Any) -> None:
        """After ``request``'s unit of work has committed: count the token it issued, if any,
        for the audit log's ``tokens_issued`` and the app's last use (``usage.py``)."""
        row: NewToken | None = getattr(request, "issued_token", None)
        if row is not None:
            self.ctx.issued.count(row.client_id, row.grant_type, row.issued_at)

    def authenticate_client(
        self, request: Any, methods: list[str], endpoint: str = "token"
    ) -> client_auth.OAuthClient:
        claimed: tuple[str | None, Any] | None = getattr(request, "claimed_app", None)

        def query_client(client_id: str) -> client_auth.OAuthClient | None:
            if claimed is not None and claimed[0] == client_id:  # read by _throttled
                app = claimed[1]
                return client_auth.OAuthClient(app, self.ctx.hasher) if app else None
            return self.query_client(client_id)

        return client_auth.authenticate(request, query_client)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def validate_requested_scope(self, scope: str | None) -> None:
        # Per-app scope checks happen in the grants, which name the offending scope.
        return None

    def get_authorization_grant(self, request: Any) -> Any:
        # Before anything reads them: a value outside its grammar would otherwise reach an error
        # description (Authlib's own for an unknown response_type) and make it a 500.
        bad = syntax.malformed(request.payload.data, syntax.AUTHORIZE_PARAMETERS)
        if bad is not None:
            raise syntax.malformed_error(bad, redirect_uri=self._trusted_redirect_uri(request))
        try:
            return super().get_authorization_grant(request)
        except UnsupportedResponseTypeError as error:
            # Authlib 1.9 passes its sentence where the response type belongs, which garbles
            # the description; its own wording with the value reads plainly.
            if not request.payload.response_type:
                raise InvalidRequestError(
                    "Missing 'response_type': use 'code' (authorization code) or 'token' "
                    "(implicit).",
                    redirect_uri=error.redirect_uri,
                ) from None
            error.response_type = request.payload.response_type
            raise

    def _trusted_redirect_uri(self, request: Any) -> str | None:
        """The request's redirect_uri if its client exists and registered it, as Authlib
        decides before redirecting an error (RFC 6749 §4.1.2.1); None otherwise."""
        client_id = request.payload.client_id
        uri = request.payload.redirect_uri
        client = self.query_client(client_id) if client_id else None
        if client is None or not uri or not client.check_redirect_uri(uri):
            return None
        return str(uri)

    def get_token_grant(self, request: Any) -> Any:
        try:
            return super().get_token_grant(request)
        except UnsupportedGrantTypeError as error:
            given = request.payload.grant_type or ""
            if _GRANT_TYPE_SHAPE.fullmatch(given):
                error.description = f"Unsupported grant_type '{given}'; {_GRANT_TYPES}"
            else:
                # Not echoed: a body split on another separator than '&' (';') would send a
                # secret back in the answer ("grant_type=client_credentials;client_secret=…").
                error.description = (
                    "Unsupported grant_type: it is not a grant type's name or URI "
                    f"(RFC 6749 appendix A.10); {_GRANT_TYPES}"
                )
            raise

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        if isinstance(body, dict):
            return json_response(status, body, list(headers))
        return OAuthResponse(status, list(headers), body.encode() if isinstance(body, str) else b"")

    def handle_error_response(self, request: Any, error: OAuth2Error) -> OAuthResponse:
        if error.redirect_uri:
            # RFC 6749 §4.1.2.1: only once the client and redirect_uri are known to be valid.
            state = request.payload.state if request.payload else None
            params: list[tuple[str, str | None]] = [
                ("error", error.error),
                ("error_description", error.get_error_description() or None),
                # A state outside RFC 6749's grammar is the error itself: it is not echoed.
                ("state", state if syntax.valid("state", state) else None),
            ]
            status, _, headers = redirect_to_client(
                error.redirect_uri,
                params,
                fragment=wants_fragment(request),
                issuer=self.ctx.issuer.url,
            )
            return OAuthResponse(status, headers)
        body = dict(error.get_body())
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return json_response(error.status_code, body, headers)

    # -- the endpoints the web layer calls ----------------------------------------------------

    def token_endpoint(self, request: OAuth2Request, address: str) -> OAuthResponse:
        """POST /ws/oauth/token, throttling failed client authentications (DESIGN §6)."""
        return self._throttled(request, address, lambda: self._token_response(request))

    def _token_response(self, request: OAuth2Request) -> OAuthResponse:
        if not request.payload.grant_type:
            # RFC 6749 §5.2: invalid_request is for a request that "is missing a required
            # parameter"; unsupported_grant_type is for a grant type the server does not know.
            error: OAuth2Error = InvalidRequestError(f"Missing 'grant_type'; {_GRANT_TYPES}")
            return self.handle_error_response(request, error)
        bad = syntax.malformed(request.payload.data, syntax.TOKEN_PARAMETERS)
        if bad is not None:
            return self.handle_error_response(request, syntax.malformed_error(bad))
        response: OAuthResponse = self.create_token_response(request)
        return response

    def revocation_endpoint(self, request: OAuth2Request, address: str) -> OAuthResponse:
        name = RevocationEndpoint.ENDPOINT_NAME
        return self._throttled(
            request, address, lambda: self.create_endpoint_response(name, request)
        )

    def introspection_endpoint(self, request: OAuth2Request, address: str) -> OAuthResponse:
        name = IntrospectionEndpoint.ENDPOINT_NAME
        return self._throttled(
            request, address, lambda: self.create_endpoint_response(name, request)
        )

    def _throttled(
        self, request: OAuth2Request, address: str, answer: Callable[[], OAuthResponse]
    ) -> OAuthResponse:
        """Refuse a repeated parameter (RFC 6749 §3.2: "Request and response parameters MUST
        NOT be included more than once"; a revocation that checked one ``token`` and revoked
        another would answer 200 with the token still live); refuse a blocked (client,
        address) or address with 429; count an invalid_client, and give a client that proved
        its secret its pass (``throttling.py``).

        The blocks and the claimed app are read together, and the app is kept on the request
        for the client authentication that follows (``authenticate_client``)."""
        request.address = address  # the audit log's "from where" (a revocation, a replay)
        # The store may run a request's work again (``Store.run``: a kept row found stale at the
        # commit, a write that must wait for the writer): nothing that an earlier run found
        # (which client authenticated and how, the token it issued) may decide this run's
        # answer, its pass or failure count, or what is counted after the commit.
        request.client = request.auth_method = request.credential = None
        request.issued_token = None
        datalist = request.payload.datalist
        repeated = [k for k, values in datalist.items() if len(values) > 1 and k in _SINGLE]
        if repeated:
            return self.handle_error_response(
                request, InvalidRequestError(f"The parameter '{repeated[0]}' is repeated.")
            )
        claimed = _claimed_client_id(request)
        keys = self.throttle.client_keys(claimed, address)
        pass_key = self.throttle.pass_key(claimed, address)
        now = self.ctx.clock()
        blocks, app = self.ctx.repos.apps.get_guarded(claimed, keys, pass_key)
        # Kept before any answer: the web layer reads it too (a single-page app's pages may
        # read its answers, a 429 included).
        request.claimed_app = (claimed, app)
        # A public app has no secret to guess: blocking it would only let a guesser at its
        # address (a NAT, a proxy) lock out every native and single-page app there, which can
        # never earn a pass. Its failures (a secret sent to it) are not counted either.
        public = app is not None and not app.confidential
        wait = 0 if public else self.throttle.client_wait(blocks, now)
        if wait:
            return self.handle_error_response(request, TooManyRequestsError(wait))
        response = answer()
        if request.auth_method in _SECRET_METHODS:
            self.throttle.client_passed(pass_key, blocks, now)
        elif not public and response.status in (400, 401) and _is_invalid_client(response):
            self.throttle.client_failed(keys, now)
        return response

    def validate_authorize(
        self, request: OAuth2Request, address: str
    ) -> ConsentRequest | OAuthResponse:
        """GET /ws/oauth/authorize: validate, then either ask the user (ConsentRequest) or answer
        with a 307 error redirect. Raises FatalAuthorizeError for what must not be redirected."""
        for name in _SINGLE_AT_AUTHORIZE:
            # RFC 6749 §3.1, as Authlib checks response_type, client_id, redirect_uri, scope
            # and state (and, once the redirect URI is known, code_challenge): an error page.
            if len(request.payload.datalist.get(name, ())) > 1:
                raise FatalAuthorizeError("invalid_request", f"Multiple '{name}' in request.")
        claimed = request.payload.client_id
        keys = self.throttle.client_keys(claimed, address)
        pass_key = self.throttle.pass_key(claimed, address)
        now = self.ctx.clock()
        # A secret is checked, and its failures counted, for a confidential app (or a client_id
        # that names none). A public app has no secret to guess: one sent to it is refused
        # unchecked and uncounted, and it is never blocked (as at the token endpoint).
        counted = bool(request.payload.data.get("client_secret"))
        if counted and claimed:
            app = self.query_client(claimed)
            counted = app is None or app.app.confidential
        blocks = ClientBlocks()
        if counted:
            blocks = self.throttle.client_blocks(keys, pass_key)
            wait = self.throttle.client_wait(blocks, now)
            if wait:
                raise FatalAuthorizeError(
                    "slow_down",
                    "Too many failed client authentications; try again later.",
                    retry_after=wait,
                )
        try:
            grant = self.get_consent_grant(request)
        except FatalAuthorizeError as error:
            if error.error == "invalid_client" and counted:
                self.throttle.client_failed(keys, now)
            raise
        except OAuth2Error as error:
            if error.redirect_uri:
                return self.handle_error_response(request, error)
            raise FatalAuthorizeError(error.error, error.get_error_description()) from None
        client: client_auth.OAuthClient = request.client
        if counted and client.app.confidential:
            # Checked by the grant (``rules.check_sent_client_secret``): it was right.
            self.throttle.client_passed(pass_key, blocks, now)
        return ConsentRequest(
            grant=grant,
            client_id=client.client_id,
            app_name=client.app.name,
            scopes=request.scope.split() if request.scope else [],
        )

    def complete_authorize(self, consent: ConsentRequest, user: User | None) -> OAuthResponse:
        """Issue the code or token (user given) or access_denied (None): a 307 either way."""
        grant = consent.grant
        try:
            status, _body, headers = grant.create_authorization_response(grant.redirect_uri, user)
        except OAuth2Error as error:
            return self.handle_error_response(grant.request, error)
        return OAuthResponse(status, list(headers), b"")


# The authorize parameters that may not repeat (RFC 6749 §3.1): Authlib's five, which it checks
# only after our own checks have run, and two of ours. Checked before anything else: an error
# found first would otherwise be redirected with the first of two states (README, "Errors at
# authorize": a repeated parameter gets a page).
_SINGLE_AT_AUTHORIZE = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "client_secret",
    "response_mode",
)

_GRANT_TYPES = "use authorization_code, client_credentials or refresh_token."
# What an unsupported grant_type's answer repeats: a grant-name (RFC 6749 appendix A.10), or an
# absolute URI of the usual characters (urn:ietf:params:oauth:grant-type:…), within a bound.
_GRANT_TYPE_SHAPE = re.compile(r"[A-Za-z0-9._~:/-]{1,80}")

# The methods that prove a client's secret (``client_auth.authenticate`` sets the one used).
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")

_SINGLE = (
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "token",  # revocation and introspection (RFC 7009 §2.1, RFC 7662 §2.1)
    "token_type_hint",
)


def _claimed_client_id(request: OAuth2Request) -> str | None:
    try:
        basic = client_auth.basic_credentials(request.headers)
    except OAuth2Error:
        basic = None
    if basic is not None:
        return basic[0]
    form = request.form or {}
    value = form.get("client_id")
    return str(value) if value else None


def _is_invalid_client(response: OAuthResponse) -> bool:
    try:
        return bool(response.json().get("error") == "invalid_client")
    except ValueError:
        return False


def build_authorization_server(ctx: CoreContext) -> NinjaAuthorizationServer:
    """Register the four grants of the documents, PKCE, and the RFC 7009/7662 endpoints."""
    server = NinjaAuthorizationServer(ctx)
    generator = TokenGenerator(ctx)
    server.register_token_generator("default", generator)
    server.register_grant(AuthorizationCodeGrant, [ConstantTimeCodeChallenge(required=True)])
    server.register_grant(ImplicitGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    return server
