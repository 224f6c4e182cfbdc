"""A small, standard OAuth 2.0 server built from Authlib's AuthorizationServer, for the SDK tests.

It is *not* ninja-oauth: tokens from it prove that the SDK speaks plain RFC 6749 / 7636 / 7009 /
6750. In-memory storage; one fixed user who approves every request (unless the client is set to
deny); a `/v2/organizations` resource, a `/v2/echo` resource and a `/v2/moved` redirect, each
checking bearer tokens. Each client records the token requests it made, by grant type, so tests
can count them.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

USER = "alice"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
ORGANIZATIONS = [{"id": 1, "name": "Acme"}, {"id": 2, "name": "Globex"}]


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str | None
    grant_types: list[str]
    redirect_uris: list[str] = field(default_factory=list)
    scope: str = "monitoring management control offline_access"
    expires_in: int = 3600
    token_delay: float = 0.0  # seconds the token endpoint waits: widens race windows
    deny: bool = False
    token_requests: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = scope_to_list(self.scope)
        if not scope:
            return " ".join(s for s in allowed if s != "offline_access")
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        # RFC 8252 §7.3: a loopback redirect URI of a public client matches on any port.
        parts = urlsplit(redirect_uri)
        return self.client_secret is None and any(
            parts._replace(netloc="127.0.0.1").geturl() == registered
            for registered in self.redirect_uris
        )

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and hmac.compare_digest(
            self.client_secret, client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return (method == "none") == (self.client_secret is None)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Token(TokenMixin):
    client_id: str
    access_token: str
    scope: str
    expires_in: int
    refresh_token: str | None = None
    user: str | None = None
    issued_at: float = field(default_factory=time.time)
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str | None:
        return self.user

    def get_client(self) -> Client:
        raise NotImplementedError


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: list[Token] = []

    def find(
        self, *, access_token: str | None = None, refresh_token: str | None = None
    ) -> Token | None:
        with self.lock:
            for token in self.tokens:
                if access_token and token.access_token == access_token:
                    return token
                if refresh_token and token.refresh_token == refresh_token:
                    return token
        return None


class _Request(OAuth2Request):
    def __init__(
        self, method: str, url: str, headers: Any, query: dict[str, str], form: dict[str, str]
    ):
        super().__init__(method, url, headers=headers)
        self._args = query
        self._form = form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: _Request) -> None:
        data = request.payload.data
        self.server.store.codes[code] = Code(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope,
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        # Consumed on lookup: a code is single use (RFC 6749 §4.1.2).
        with self.server.store.lock:
            found = self.server.store.codes.pop(code, None)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        return None

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.user


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = self.server.store.find(refresh_token=refresh_token)
        return token if token is not None and not token.refresh_revoked else None

    def authenticate_user(self, refresh_token: Token) -> str | None:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.refresh_revoked = True


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        store = self.server.store
        return store.find(refresh_token=token_string) or store.find(access_token=token_string)

    def revoke_token(self, token: Token, request: _Request) -> None:
        token.access_revoked = True
        token.refresh_revoked = True


class Server(AuthorizationServer):
    def __init__(self, store: Store) -> None:
        super().__init__(scopes_supported=["monitoring", "management", "control", "offline_access"])
        self.store = store
        bearer = BearerTokenGenerator(
            access_token_generator=lambda **kw: secrets.token_urlsafe(24),
            refresh_token_generator=lambda **kw: secrets.token_urlsafe(24),
            expires_generator=lambda client, grant_type: client.expires_in,
        )

        def generate(
            grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True
        ):
            # A refresh token only with offline_access, as NinjaOne does.
            include = include_refresh_token and "offline_access" in scope_to_list(scope or "")
            return bearer(grant_type, client, user, scope, expires_in, include)

        self.register_token_generator("default", generate)
        self.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation)

    def query_client(self, client_id: str) -> Client | None:
        return self.store.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        with self.store.lock:
            self.store.tokens.append(
                Token(
                    client_id=request.client.client_id,
                    access_token=token["access_token"],
                    scope=token.get("scope", ""),
                    expires_in=token["expires_in"],
                    refresh_token=token.get("refresh_token"),
                    user=request.user,
                )
            )

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=dict(headers))
        return Response(body or "", status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


async def _oauth_request(request: Request) -> _Request:
    form = dict(await request.form()) if request.method == "POST" else {}
    return _Request(
        request.method, str(request.url), request.headers, dict(request.query_params), form
    )


def create_app(store: Store) -> Starlette:
    server = Server(store)

    async def token(request: Request) -> Response:
        oauth_request = await _oauth_request(request)
        client = store.clients.get(oauth_request.payload.client_id or "")
        if client is None and "authorization" in request.headers:
            # Basic auth: find the client to count its requests (Authlib does the real check).
            import base64
            from urllib.parse import unquote_plus

            raw = base64.b64decode(request.headers["authorization"].split()[1]).decode()
            client = store.clients.get(unquote_plus(raw.split(":", 1)[0]))
        if client is not None:
            with store.lock:
                client.token_requests[oauth_request.payload.grant_type or "?"] += 1
            await asyncio.sleep(client.token_delay)
        return server.create_token_response(oauth_request)

    async def authorize(request: Request) -> Response:
        oauth_request = await _oauth_request(request)
        try:
            grant = server.get_consent_grant(oauth_request, end_user=USER)
        except OAuth2Error as error:
            if error.redirect_uri:
                return server.handle_error_response(oauth_request, error)
            return HTMLResponse(f"error: {error.error}", status_code=400)
        client = store.clients[oauth_request.payload.client_id]
        return server.create_authorization_response(
            oauth_request, grant_user=None if client.deny else USER, grant=grant
        )

    async def revoke(request: Request) -> Response:
        return server.create_endpoint_response("revocation", await _oauth_request(request))

    def _bearer(request: Request) -> Token | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = store.find(access_token=value)
        if token is None or token.is_revoked() or token.is_expired():
            return None
        with store.lock:
            store.clients[token.client_id].api_calls += 1
        return token

    def _invalid_token() -> Response:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers=headers)

    async def organizations(request: Request) -> Response:
        if _bearer(request) is None:
            return _invalid_token()
        return JSONResponse(ORGANIZATIONS)

    async def moved(request: Request) -> Response:
        if _bearer(request) is None:
            return _invalid_token()
        return Response(status_code=302, headers={"Location": "http://127.0.0.1:9/elsewhere"})

    async def echo(request: Request) -> Response:
        if _bearer(request) is None:
            return _invalid_token()
        return JSONResponse({"received": await request.json()})

    # Served under Authlib-style paths (the SDK tests pass them as overrides) and under
    # NinjaOne's /ws/oauth paths (for the CLI, which uses the defaults).
    oauth_routes = [
        Route(f"{prefix}/{name}", endpoint, methods=[method])
        for prefix in ("/oauth", "/ws/oauth")
        for name, endpoint, method in (
            ("token", token, "POST"),
            ("authorize", authorize, "GET"),
            ("revoke", revoke, "POST"),
        )
    ]
    return Starlette(
        routes=[
            *oauth_routes,
            Route("/v2/organizations", organizations, methods=["GET"]),
            Route("/v2/echo", echo, methods=["POST"]),
            Route("/v2/moved", moved, methods=["GET"]),
        ]
    )


class RunningServer:
    """The app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.store = Store()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(self.store), log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def urls(self) -> dict[str, str]:
        """The endpoint overrides for the SDK: Authlib's server does not use NinjaOne's paths."""
        return {
            "token_url": f"{self.base_url}/oauth/token",
            "authorization_url": f"{self.base_url}/oauth/authorize",
            "revocation_url": f"{self.base_url}/oauth/revoke",
        }

    def start(self) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Authlib test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def add_client(
        self,
        *,
        grant_types: list[str],
        public: bool = False,
        redirect_uris: list[str] | None = None,
        **settings: Any,
    ) -> Client:
        client = Client(
            client_id=f"client-{secrets.token_hex(6)}",
            client_secret=None if public else secrets.token_urlsafe(24),
            grant_types=grant_types,
            redirect_uris=redirect_uris or [],
            **settings,
        )
        self.store.clients[client.client_id] = client
        return client
