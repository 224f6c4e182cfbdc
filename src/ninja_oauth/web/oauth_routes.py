"""The protocol endpoints under /ws/oauth and /oauth, and the RFC 8414 metadata."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from authlib.oauth2.rfc6749 import OAuth2Request
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, request_response
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from ninja_oauth.oauth.platforms import GrantType
from ninja_oauth.oauth.responses import OAuthResponse, json_response
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.store.db import NeedsWriter
from ninja_oauth.web import authorize as authorize_page
from ninja_oauth.web import forms
from ninja_oauth.web.authlib_adapter import (
    MAX_FORM_BYTES,
    MAX_FORM_FIELDS,
    FormTooLarge,
    client_address,
    read_oauth_request,
    to_starlette,
)
from ninja_oauth.web.errors import unexpected
from ninja_oauth.web.services import Services, services

_FORM = "application/x-www-form-urlencoded"


def _invalid_request(description: str) -> Response:
    return to_starlette(
        json_response(400, {"error": "invalid_request", "error_description": description})
    )


def _endpoint(
    call: Callable[[Services], Callable[[OAuth2Request, str], OAuthResponse]],
    only_new_rows: Callable[[OAuth2Request], bool],
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint running Authlib's synchronous core. ``only_new_rows`` says when a request's
    writes are, on success, only new rows (a client_credentials token, nothing for an
    introspection): on SQLite it then runs on the event loop, its reads taking microseconds,
    and its rows join the group commit (Store.deferred); any other write it reaches sends it
    to the writer path whole. Everything else runs on the writer path, off the event loop."""

    async def handler(request: Request) -> Response:
        svc = services(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != _FORM:
            # RFC 6749 §3.2: "using the application/x-www-form-urlencoded format".
            return _invalid_request(
                "Send the parameters form-urlencoded (application/x-www-form-urlencoded)."
            )
        try:
            oauth_request = await read_oauth_request(request, svc.settings.issuer)
        except FormTooLarge:
            return _invalid_request(
                f"The request body is over {MAX_FORM_BYTES} bytes or {MAX_FORM_FIELDS} parameters."
            )
        address = client_address(request, svc.settings.trusted_proxies)
        method = call(svc)

        def run() -> OAuthResponse:
            # One transaction per request: code redemption and its token insert commit together,
            # and a replay's revocation or a failure count commits with its error answer.
            with svc.store.unit_of_work():
                return method(oauth_request, address)

        store = svc.store
        if store.defers_writes and only_new_rows(oauth_request):
            try:
                with store.deferred() as rows:
                    response = method(oauth_request, address)
            except NeedsWriter:
                pass
            else:
                await store.commit_deferred(rows)
                return to_starlette(response)
        return to_starlette(await store.write(run))

    return handler


token = _endpoint(
    lambda svc: svc.server.token_endpoint,
    lambda request: request.payload.grant_type == GrantType.CLIENT_CREDENTIALS.value,
)
revoke = _endpoint(lambda svc: svc.server.revocation_endpoint, lambda _request: False)
introspect = _endpoint(lambda svc: svc.server.introspection_endpoint, lambda _request: True)


async def metadata(request: Request) -> Response:
    """RFC 8414 authorization server metadata (the /oauth/* paths are aliases)."""
    issuer = services(request).settings.issuer
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/ws/oauth/authorize",
            "token_endpoint": issuer + "/ws/oauth/token",
            "revocation_endpoint": issuer + "/ws/oauth/revoke",
            "introspection_endpoint": issuer + "/ws/oauth/introspect",
            "scopes_supported": [s.value for s in Scope],
            "response_types_supported": ["code", "token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": [g.value for g in GrantType],
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
            "code_challenge_methods_supported": ["S256", "plain"],
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": issuer + "/docs",
        }
    )


def method_not_allowed(allowed: str) -> Callable[[Request], Awaitable[Response]]:
    """A 405 naming the method to use. Without it, another method on an endpoint's path would
    fall through to the Public API's catch-all mount and get its 404."""

    async def answer(request: Request) -> Response:
        return to_starlette(
            json_response(
                405,
                {
                    "error": "invalid_request",
                    "error_description": f"Use {allowed} for {request.url.path}.",
                },
                [("Allow", "GET, HEAD" if allowed == "GET" else allowed)],
            )
        )

    return answer


# Each endpoint's one method; every other method gets a 405 (HEAD goes with GET).
_ALLOWED = {"/authorize": "GET", "/token": "POST", "/revoke": "POST", "/introspect": "POST"}
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_OTHER_METHODS = {m: [x for x in _METHODS if x != m] for m in ("GET", "POST")}


def _lane(handler: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """``handler`` as a bare ASGI app: what its route does through the root's router, without
    the router's scan and the two error middlewares around it. An unexpected exception gets
    their answer (``unexpected``: a 500 server_error, the type logged), once: the router's
    ServerErrorMiddleware would also raise it again for the server to log, and its 500 would
    lack the security headers, which sit inside it. The handler raises no exception that the
    ExceptionMiddleware maps."""

    async def app(scope: ASGIScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except Exception as exc:
            response = await unexpected(request, exc)
        await response(scope, receive, send)

    return app


def post_lanes() -> dict[str, ASGIApp]:
    """The POST endpoints of the token path, by exact path, for the root's shortcut (``_Root``).
    The routes below stay: they answer under a root path."""
    lanes: dict[str, ASGIApp] = {}
    for prefix in ("/ws/oauth", "/oauth"):
        lanes[prefix + "/token"] = _lane(token)
        lanes[prefix + "/revoke"] = _lane(revoke)
        lanes[prefix + "/introspect"] = _lane(introspect)
    return lanes


def oauth_routes(with_session: Callable[[ASGIApp], ASGIApp]) -> list[BaseRoute]:
    """The endpoints; ``with_session`` wraps the browser pages (the only ones with a session)."""

    def page(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
        return with_session(request_response(endpoint))

    routes: list[BaseRoute] = [Route("/.well-known/oauth-authorization-server", metadata)]
    for prefix in ("/ws/oauth", "/oauth"):
        routes += [
            Route(prefix + "/token", token, methods=["POST"]),
            Route(prefix + "/authorize", page(authorize_page.authorize), methods=["GET"]),
            Route(prefix + "/login", page(forms.login), methods=["POST"]),
            Route(prefix + "/consent", page(forms.consent), methods=["POST"]),
            Route(prefix + "/revoke", revoke, methods=["POST"]),
            Route(prefix + "/introspect", introspect, methods=["POST"]),
        ]
        for path, allowed in _ALLOWED.items():
            routes.append(
                Route(prefix + path, method_not_allowed(allowed), methods=_OTHER_METHODS[allowed])
            )
    return routes
