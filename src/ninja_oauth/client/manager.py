"""`TokenManager`: one app's token on one server, renewed once however many callers ask."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar
from weakref import WeakKeyDictionary

import httpx

from ninja_oauth.client import flows
from ninja_oauth.client.cache import TokenCache
from ninja_oauth.client.errors import InvalidGrant, LoginRequired, NetworkError
from ninja_oauth.client.flows import ClientAuthMethod, ClientIdentity
from ninja_oauth.client.regions import Endpoints, Region
from ninja_oauth.client.tokens import Token

GrantType = Literal["client_credentials", "authorization_code"]
T = TypeVar("T")
LOGIN_AGAIN = "The refresh token is no longer valid: log in again"


class TokenManager:
    """Fetches, caches and renews the token of one app on one server.

    A token is reused until shortly before it expires. Renewal happens under one lock, whoever
    asks (threads, the tasks of any event loop, sync and async callers alike), and the token
    is checked again once the lock is held, so concurrent callers cause one request. With a
    `TokenCache`, renewal also holds the cache's inter-process lock, because two processes
    refreshing one rotating refresh token would look like a replay, and the server would
    revoke the whole family. An async caller waits for its own loop's other renewals (an
    `asyncio.Lock`, no thread each), then renews in a worker thread, where those locks are
    held: the token request of a renewal is sent with ``transport``; ``async_transport``
    sends the async code exchange and revocation.

    `clock` returns the current Unix time in seconds (default `time.time`). Every expiry
    decision reads it: the issue and expiry times of new tokens, and whether the current one
    is still fresh. Pass a controllable one to let tokens expire without waiting.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        grant_type: GrantType = "client_credentials",
        region: Region | str | None = None,
        base_url: str | None = None,
        scopes: Sequence[str] | str | None = None,
        token_url: str | None = None,
        authorization_url: str | None = None,
        revocation_url: str | None = None,
        redirect_uri: str | None = None,
        token: Token | None = None,
        cache: TokenCache | None = None,
        auth_method: ClientAuthMethod = "client_secret_post",
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        on_token: Callable[[Token], None] | None = None,
        allow_insecure_http: bool = False,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if grant_type == "client_credentials" and not client_secret:
            raise ValueError("the client credentials grant needs a client_secret")
        self.endpoints = Endpoints.resolve(
            region=region,
            base_url=base_url,
            token_url=token_url,
            authorization_url=authorization_url,
            revocation_url=revocation_url,
            allow_insecure_http=allow_insecure_http,
        )
        self.grant_type: GrantType = grant_type
        self.scope = flows.join_scopes(scopes)
        self.redirect_uri = redirect_uri
        self.cache = cache
        self._client = ClientIdentity(client_id, client_secret, auth_method)
        self._leeway = leeway
        self._clock = clock
        self._timeout = timeout
        self._on_token = on_token
        self._transport = transport
        self._async_transport = async_transport
        self._token = token
        if token is None and cache is not None:
            self._token = cache.load(self.endpoints.base_url, client_id)
        self._lock = threading.Lock()
        self._async_guard = threading.Lock()
        self._loop_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )

    @property
    def client_id(self) -> str:
        return self._client.client_id

    @property
    def api_base_url(self) -> str:
        """The base URL of the Public API calls (`/v2/...`)."""
        return self.endpoints.api_base_url

    @property
    def token(self) -> Token | None:
        """The current token, if any (it may be expired)."""
        return self._token

    # -- token state -------------------------------------------------------------------------

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and not token.is_expiring(self._clock(), self._leeway)

    def _secrets(self, token: Token | None) -> list[str | None]:
        known: list[str | None] = [*self._client.secret_forms()]
        if token is not None:
            known += [token.access_token, token.refresh_token]
        return known

    def _latest(self) -> Token | None:
        # Another process sharing the cache may have renewed (and rotated) the tokens.
        if self.cache is not None:
            cached = self.cache.load(self.endpoints.base_url, self.client_id)
            if cached is not None:
                self._token = cached
        return self._token

    def _store(self, token: Token) -> None:
        self._token = token
        if self.cache is not None:
            self.cache.save(self.endpoints.base_url, self.client_id, token)
        if self._on_token is not None:
            self._on_token(token)

    def _forget(self) -> None:
        self._token = None
        if self.cache is not None:
            self.cache.delete(self.endpoints.base_url, self.client_id)

    def _cache_lock(self) -> contextlib.AbstractContextManager[None]:
        return self.cache.lock() if self.cache is not None else contextlib.nullcontext()

    def _renewal_request(self, current: Token | None) -> httpx.Request:
        if self.grant_type == "client_credentials":
            params = {"grant_type": "client_credentials", "scope": self.scope}
        elif current is not None and current.refresh_token:
            # RFC 6749 §6: an omitted scope means the scope originally granted.
            params = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
        else:
            raise LoginRequired(
                f"no valid token for client {self.client_id} on {self.endpoints.base_url}: log in"
            )
        return flows.token_request(self.endpoints.token_url, self._client, params)

    def _accept_renewal(self, response: httpx.Response, current: Token | None) -> Token:
        refreshing = self.grant_type == "authorization_code"
        try:
            token = flows.parse_token_response(
                response,
                now=self._clock(),
                secrets=self._secrets(current),
                requested_scope=current.scope if refreshing and current else self.scope,
                previous_refresh_token=current.refresh_token if current else None,
            )
        except InvalidGrant as exc:
            if not refreshing:
                raise
            # The refresh token was revoked, expired or replayed: it will never work again.
            self._forget()
            raise InvalidGrant(
                exc.error, exc.description, status_code=exc.status_code, hint=LOGIN_AGAIN
            ) from None
        self._store(token)
        return token

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as http:
                return http.send(request)
        except httpx.TransportError as exc:
            raise NetworkError(f"could not reach {request.url.host}: {exc}") from exc

    async def _asend(self, request: httpx.Request) -> httpx.Response:
        try:
            # A client per call: token requests are rare, and no client outlives its loop.
            async with httpx.AsyncClient(
                timeout=self._timeout, transport=self._async_transport
            ) as http:
                return await http.send(request)
        except httpx.TransportError as exc:
            raise NetworkError(f"could not reach {request.url.host}: {exc}") from exc

    async def _renewed_in_thread(self, renew: Callable[[], T]) -> T:
        """``renew`` (a sync renewal, which takes the locks) in a worker thread, after this
        event loop's other renewals: its tasks queue on their loop's lock, not on threads."""
        loop = asyncio.get_running_loop()
        with self._async_guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
        async with lock:
            return await asyncio.to_thread(renew)

    # -- getting a token ---------------------------------------------------------------------

    def get_token(self) -> Token:
        """A token valid for at least the leeway; fetched or refreshed only when needed."""
        token = self._token
        if self._fresh(token):
            assert token is not None
            return token
        with self._lock, self._cache_lock():
            token = self._latest()
            if self._fresh(token):
                assert token is not None
                return token
            return self._accept_renewal(self._send(self._renewal_request(token)), token)

    async def aget_token(self) -> Token:
        """`get_token` for asyncio."""
        token = self._token
        if self._fresh(token):
            assert token is not None
            return token
        return await self._renewed_in_thread(self.get_token)

    def refresh(self) -> Token:
        """Renew now: refresh grant for user tokens, a new request for client credentials."""
        with self._lock, self._cache_lock():
            token = self._latest()
            return self._accept_renewal(self._send(self._renewal_request(token)), token)

    async def arefresh(self) -> Token:
        """`refresh` for asyncio."""
        return await self._renewed_in_thread(self.refresh)

    def _renew_rejected(self, rejected: Token) -> Token | None:
        with self._lock, self._cache_lock():
            token = self._latest()
            if token is not None and token.access_token != rejected.access_token:
                return token  # another caller renewed it already
            try:
                request = self._renewal_request(token)
            except LoginRequired:
                return None
            return self._accept_renewal(self._send(request), token)

    async def _arenew_rejected(self, rejected: Token) -> Token | None:
        return await self._renewed_in_thread(functools.partial(self._renew_rejected, rejected))
