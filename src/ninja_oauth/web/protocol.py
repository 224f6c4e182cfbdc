"""The protocol endpoints under /ws/oauth and /oauth: the POSTed ones (token, revocation,
introspection) as plain ASGI apps, the browser ones (authorize, login, consent) as site routes,
a 405 for every other method, and the RFC 8414 metadata.

A POST to token, revoke or introspect is the hot path: the root sends it here by its exact
path (``web/root.py``), so it pays for no router and no middleware but the security headers.
Its errors become HTTP in ``web/errors.py``; how its writes are committed is the store's choice
(``Store.run``), from what its grant or endpoint declares it writes (``Writes``).
"""

from __future__ import annotations

from functools import partial

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ninja_oauth.oauth import profiles
from ninja_oauth.oauth.requests import ReadRequest
from ninja_oauth.oauth.scopes import Scope as OAuthScope
from ninja_oauth.oauth.server import Endpoint
from ninja_oauth.web import authorize as authorize_page
from ninja_oauth.web import login_and_consent, sessions
from ninja_oauth.web.authlib_adapter import (
    MAX_FORM_BYTES,
    MAX_FORM_FIELDS,
    FormTooLarge,
    client_address,
    oauth_request_of,
    to_starlette,
)
from ninja_oauth.web.bodies import BodyReader, Refused, refusal
from ninja_oauth.web.context import WebContext, context
from ninja_oauth.web.errors import protocol_error, protocol_unexpected

PREFIXES = ("/ws/oauth", "/oauth")
_FORM = "application/x-www-form-urlencoded"


async def _answer(ctx: WebContext, endpoint: Endpoint, request: Request, body: bytes) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM:
        # RFC 6749 §3.2: "using the application/x-www-form-urlencoded format".
        return protocol_error(
            400,
            "invalid_request",
            "Send the parameters form-urlencoded (application/x-www-form-urlencoded).",
        )
    try:
        oauth_request = oauth_request_of(request, ctx.settings.issuer, body)
    except FormTooLarge:
        return protocol_error(
            400, "invalid_request", f"The request has over {MAX_FORM_FIELDS} parameters."
        )
    address = client_address(request, ctx.settings.trusted_proxies)
    server = ctx.server
    work = partial(server.endpoint(endpoint), oauth_request, address)
    # One transaction per request: a code's redemption and its token insert commit together,
    # and a replay's revocation or a failure count commits with its error answer.
    response = to_starlette(await ctx.store.run(work, server.writes(endpoint, oauth_request)))
    server.count_issued(oauth_request)  # committed: the token it issued, if any, counts
    origin = request.headers.get("origin")
    if origin is not None and endpoint in BROWSER_CALLED:
        _let_the_page_read(response, origin, oauth_request)
    return response


# What a single-page app calls from its pages: the token endpoint (the code with PKCE, the
# refresh) and revocation (signing out). Introspection is for servers.
BROWSER_CALLED = frozenset({Endpoint.TOKEN, Endpoint.REVOCATION})
_PREFLIGHT_HEADERS = [
    ("Access-Control-Allow-Methods", "POST"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ("Access-Control-Max-Age", "600"),
    ("Vary", "Origin"),
]


def _let_the_page_read(response: Response, origin: str, oauth_request: ReadRequest) -> None:
    """CORS: the answer is readable by a page of ``origin`` when the request's app is a
    single-page app with a redirect URI there (``App.reads_from_browser``), success or error.
    No credentials: these endpoints read no cookie. By hand rather than Starlette's
    ``CORSMiddleware``, which decides by the origin alone, before the request's app is known."""
    claimed = oauth_request.claimed_app
    app = claimed[1] if claimed else None
    # Appended raw, as to_starlette does (MutableHeaders rebuilds the list for each header).
    response.raw_headers.append((b"vary", b"Origin"))
    if app is not None and app.reads_from_browser(origin):
        response.raw_headers.append((b"access-control-allow-origin", origin.encode("latin-1")))


def posted_endpoint(ctx: WebContext, endpoint: Endpoint, bodies: BodyReader) -> ASGIApp:
    """The ASGI app answering POSTs to ``endpoint``. It reads the body itself, within the form
    limit and the body timeout (``web/bodies.py``), and parses the bytes it got: handing them
    on through a replayed ``receive`` and Starlette's stream would cost the token path a few
    microseconds more."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await bodies.read(scope, receive, MAX_FORM_BYTES)
        if isinstance(body, Refused):
            response = refusal(scope, body, page=False)
        else:
            request = Request(scope)
            try:
                response = await _answer(ctx, endpoint, request, body)
            except Exception as exc:
                response = protocol_unexpected(request, exc)
        await response(scope, receive, send)

    return app


def posted_endpoints(ctx: WebContext, bodies: BodyReader) -> dict[str, ASGIApp]:
    """Token, revocation and introspection by exact path, under both prefixes, for the root."""
    return {
        f"{prefix}/{endpoint.value}": posted_endpoint(ctx, endpoint, bodies)
        for prefix in PREFIXES
        for endpoint in Endpoint
    }


async def metadata(request: Request) -> Response:
    """RFC 8414 authorization server metadata (the /oauth/* paths are aliases): what the
    server's profile leaves on (an app's own strict profile cannot be said here)."""
    settings = context(request).settings
    issuer = settings.issuer
    profile = settings.policy.profile
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/ws/oauth/authorize",
            "token_endpoint": issuer + "/ws/oauth/token",
            "revocation_endpoint": issuer + "/ws/oauth/revoke",
            "introspection_endpoint": issuer + "/ws/oauth/introspect",
            "scopes_supported": [s.value for s in OAuthScope],
            "response_types_supported": profiles.response_types(profile),
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": profiles.grant_types(profile),
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": profiles.code_challenge_methods(profile),
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": issuer + "/docs",
            # Not in RFC 8414 (which allows more members): "faithful" or "strict".
            "ninja_oauth_profile": profile.value,
        },
        # Public, the same for everyone, and read by single-page apps to find the endpoints:
        # any page may read it (no credentials are involved).
        headers={"Access-Control-Allow-Origin": "*"},
    )


class _Preflight:
    """A browser's CORS preflight of a POST to token or revoke (an OPTIONS with ``Origin`` and
    ``Access-Control-Request-Method``): yes to any origin, for POST with an Authorization or
    Content-Type header. Whether the page may read the answer is decided on the answer, by
    the app that makes the request (``_let_the_page_read``). Any other OPTIONS is a 405."""

    def __init__(self) -> None:
        self.not_allowed = _MethodNotAllowed("POST")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or "access-control-request-method" not in headers:
            await self.not_allowed(scope, receive, send)
            return
        answer = Response(status_code=204)
        answer.headers["Access-Control-Allow-Origin"] = origin
        for name, value in _PREFLIGHT_HEADERS:
            answer.headers[name] = value
        await answer(scope, receive, send)


class _MethodNotAllowed:
    """A 405 naming the method to use (HEAD goes with GET), whatever the method asked (TRACE,
    PROPFIND...). An ASGI app rather than a function, so that its route takes every method:
    a route of a list of methods left the others to the router's own 405, whose Allow header
    named the methods that are not allowed."""

    def __init__(self, allowed: str) -> None:
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = protocol_error(
            405,
            "invalid_request",
            f"Use {self.allowed} for {scope['path']}.",
            [("Allow", "GET, HEAD" if self.allowed == "GET" else self.allowed)],
        )
        await response(scope, receive, send)


# Each endpoint's one method; every other method gets a 405 (the routes before the 405s take
# the allowed one).
_ALLOWED = {"/authorize": "GET", "/token": "POST", "/revoke": "POST", "/introspect": "POST"}


def site_routes(with_session: Middleware) -> list[BaseRoute]:
    """The protocol's routes of the site: the metadata, the browser pages (the only ones with a
    session: ``with_session`` is their route middleware), and the 405s. The POSTs to token,
    revoke and introspect never reach the site (``posted_endpoints``).

    The browser pages live under ``/ws/oauth`` alone, the sign-in cookie's path
    (``web/sessions.py``): ``/oauth/authorize`` and ``/logout`` send the browser there. A cookie
    for ``/oauth`` too would reach a loopback app's ``http://127.0.0.1:PORT/oauth/callback``.
    """
    session = [Middleware(sessions.ForgetOldCookie), with_session]
    pages = sessions.COOKIE_PATH
    routes: list[BaseRoute] = [
        Route("/.well-known/oauth-authorization-server", metadata),
        Route(pages + "/authorize", authorize_page.authorize, methods=["GET"], middleware=session),
        Route(pages + "/login", login_and_consent.login, methods=["POST"], middleware=session),
        Route(pages + "/consent", login_and_consent.consent, methods=["POST"], middleware=session),
        Route(
            pages + "/logout", login_and_consent.logout, methods=["GET", "POST"], middleware=session
        ),
        Route("/oauth/authorize", _to_pages, methods=["GET"]),
        Route("/logout", _to_pages, methods=["GET"]),
    ]
    for prefix in PREFIXES:
        for endpoint in BROWSER_CALLED:
            routes.append(Route(f"{prefix}/{endpoint.value}", _Preflight(), methods=["OPTIONS"]))
        for path, allowed in _ALLOWED.items():
            routes.append(Route(prefix + path, _MethodNotAllowed(allowed)))
    return routes


async def _to_pages(request: Request) -> Response:
    """The same page under the sign-in cookie's path. The query goes along unchanged: it is the
    URL the browser already holds, sent back to this server only (no Referer leaves it)."""
    target = sessions.COOKIE_PATH + request.url.path.removeprefix("/oauth")
    query = request.url.query
    return RedirectResponse(target + ("?" + query if query else ""), status_code=303)
