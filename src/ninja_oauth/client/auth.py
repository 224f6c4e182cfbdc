"""`NinjaOAuth`: an `httpx.Auth` that obtains, caches, refreshes and revokes tokens."""

from __future__ import annotations

import asyncio
import contextlib
import re
import webbrowser
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any

import httpx

from ninja_oauth.client import flows
from ninja_oauth.client.errors import NetworkError
from ninja_oauth.client.flows import AuthorizationRequest
from ninja_oauth.client.loopback import LoopbackReceiver
from ninja_oauth.client.manager import TokenManager
from ninja_oauth.client.regions import Region
from ninja_oauth.client.tokens import Token


class NinjaOAuth(TokenManager, httpx.Auth):
    """Tokens for one app on one server, usable as `auth=` of `httpx.Client` and `AsyncClient`.

    The bearer token is added to each request; a 401 naming the token invalid (RFC 6750 §3.1)
    causes one renewal and one retry.
    """

    # The body is read up front so that the request can be sent again after a 401.
    requires_request_body = True

    @classmethod
    def client_credentials(
        cls,
        *,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str] | str | None = None,
        region: Region | str | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> NinjaOAuth:
        """Machine-to-machine tokens (RFC 6749 §4.4) for an API Services app."""
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            grant_type="client_credentials",
            scopes=scopes,
            region=region,
            base_url=base_url,
            **options,
        )

    @classmethod
    def authorization_code(
        cls,
        *,
        client_id: str,
        client_secret: str | None = None,
        scopes: Sequence[str] | str | None = None,
        redirect_uri: str | None = None,
        region: Region | str | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> NinjaOAuth:
        """User tokens (RFC 6749 §4.1): a web app with its secret, or a native app with PKCE."""
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            grant_type="authorization_code",
            scopes=scopes,
            redirect_uri=redirect_uri,
            region=region,
            base_url=base_url,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"NinjaOAuth(base_url={self.endpoints.base_url!r}, client_id={self.client_id!r}, "
            f"grant_type={self.grant_type!r})"
        )

    # -- httpx.Auth ----------------------------------------------------------------------------

    def _for_api(self, request: httpx.Request) -> bool:
        """The bearer token goes only to the API's own origin (RFC 6750 §5.3: do not send
        bearer tokens to other servers), whatever URL the client is asked to fetch."""
        api = httpx.URL(self.api_base_url)
        return (request.url.scheme, request.url.host, request.url.port) == (
            api.scheme,
            api.host,
            api.port,
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if not self._for_api(request):
            yield request
            return
        token = self.get_token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            response.read()
            if _names_invalid_token(response):
                renewed = self._renew_rejected(token)
                if renewed is not None:
                    yield _with_bearer(request, renewed)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._for_api(request):
            yield request
            return
        token = await self.aget_token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            await response.aread()
            if _names_invalid_token(response):
                renewed = await self._arenew_rejected(token)
                if renewed is not None:
                    yield _with_bearer(request, renewed)

    # -- authorization code (RFC 6749 §4.1, RFC 7636, RFC 8252) ------------------------------

    def authorization_url(
        self,
        *,
        redirect_uri: str | None = None,
        scopes: Sequence[str] | str | None = None,
        state: str | None = None,
        pkce: bool = True,
        extra: Mapping[str, str] | None = None,
        issuer: str | None = None,
    ) -> AuthorizationRequest:
        """The URL to send the user's browser to, with a fresh state and PKCE challenge.

        PKCE is on for confidential apps too, as RFC 9700 §2.1.1 recommends. ``issuer`` is
        what the callback's `iss` must name, if the server sends one (default: the
        authorization endpoint's origin).
        """
        target = redirect_uri or self.redirect_uri
        if not target:
            raise ValueError("a redirect_uri is required")
        return flows.authorization_request(
            self.endpoints.authorization_url,
            self.client_id,
            redirect_uri=target,
            scope=flows.join_scopes(scopes) if scopes is not None else self.scope,
            pkce=pkce,
            state=state,
            extra=extra,
            issuer=issuer,
        )

    def _code_exchange(
        self, callback: str | Mapping[str, str], request: AuthorizationRequest
    ) -> httpx.Request:
        code = flows.code_from_callback(callback, request)
        params = flows.code_exchange_params(code, request)
        return flows.token_request(self.endpoints.token_url, self._client, params)

    def _accept_code_exchange(
        self, response: httpx.Response, request: AuthorizationRequest
    ) -> Token:
        token = flows.parse_token_response(
            response, now=self._clock(), secrets=self._secrets(None), requested_scope=request.scope
        )
        with self._lock:
            self._store(token)
        return token

    def fetch_token(
        self, callback: str | Mapping[str, str], request: AuthorizationRequest
    ) -> Token:
        """Check the callback's state, then exchange its code (with the PKCE verifier)."""
        exchange = self._code_exchange(callback, request)
        return self._accept_code_exchange(self._send(exchange), request)

    async def afetch_token(
        self, callback: str | Mapping[str, str], request: AuthorizationRequest
    ) -> Token:
        """`fetch_token` for asyncio."""
        response = await self._asend(self._code_exchange(callback, request))
        return await asyncio.to_thread(self._accept_code_exchange, response, request)

    def login(
        self,
        *,
        scopes: Sequence[str] | str | None = None,
        open_browser: Callable[[str], object] | None = webbrowser.open,
        port: int = 0,
        timeout: float = 300.0,
        issuer: str | None = None,
    ) -> Token:
        """Log in through the browser with PKCE and a loopback redirect (RFC 8252 §7.3).

        `open_browser` is called with the authorization URL; the redirect comes back to
        `http://127.0.0.1:{port}/callback`, which the app must have registered (any port).
        `issuer` is the issuer the callback's `iss` must name, as for `authorization_url`.
        """
        replaced = self._latest()
        with LoopbackReceiver(port=port) as receiver:
            request = self.authorization_url(
                redirect_uri=receiver.redirect_uri, scopes=scopes, pkce=True, issuer=issuer
            )
            receiver.expected_state = request.state
            if open_browser is not None:
                open_browser(request.url)
            params = receiver.wait(timeout)
        token = self.fetch_token(params, request)
        if replaced is not None and replaced.refresh_token != token.refresh_token:
            # The grant this login replaces would stay live with no one to end it (logout
            # revokes what is cached): revoked now, as far as the server answers.
            for revocation in self._revocation_requests(replaced):
                with contextlib.suppress(NetworkError):
                    self._send(revocation)
        return token

    # -- revocation (RFC 7009) ---------------------------------------------------------------

    def revoke(self) -> bool:
        """Log out: forget the tokens, then revoke them at the server; False if there were none.

        The tokens are forgotten even when the server cannot be reached (the error says so):
        logging out on this machine must not depend on the network.
        """
        token = self._take_token()
        if token is None:
            return False
        for request in self._revocation_requests(token):
            flows.raise_for_oauth_error(self._send(request), secrets=self._secrets(token))
        return True

    async def arevoke(self) -> bool:
        """`revoke` for asyncio."""
        token = await asyncio.to_thread(self._take_token)
        if token is None:
            return False
        for request in self._revocation_requests(token):
            response = await self._asend(request)
            flows.raise_for_oauth_error(response, secrets=self._secrets(token))
        return True

    def _take_token(self) -> Token | None:
        with self._lock, self._cache_lock():
            token = self._latest()
            self._forget()
        return token

    def _revocation_requests(self, token: Token) -> list[httpx.Request]:
        # The refresh token first: revoking it may revoke its access tokens too (RFC 7009 §2.1).
        pairs = [(token.refresh_token, "refresh_token"), (token.access_token, "access_token")]
        url = self.endpoints.revocation_url
        return [flows.revocation_request(url, self._client, v, hint) for v, hint in pairs if v]


def _with_bearer(request: httpx.Request, token: Token) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {token.access_token}"
    return request


_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*"?([^",\s]+)')


def _names_invalid_token(response: httpx.Response) -> bool:
    """Whether a 401 says the access token is bad (RFC 6750 §3.1), so renewing may help.

    The `WWW-Authenticate` error decides, then a JSON body's `error`; a bare 401 counts too,
    since nothing in it says the token was fine.
    """
    match = _CHALLENGE_ERROR.search(response.headers.get("WWW-Authenticate", ""))
    if match:
        return match.group(1) == "invalid_token"
    try:
        body = response.json()
    except ValueError:
        return True
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return bool(body["error"] == "invalid_token")
    return True
