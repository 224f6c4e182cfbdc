"""`TokenManager`: one app's token on one server, renewed once however many callers ask."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    `asyncio.Lock`, no thread each); those locks, which block, are then held for it by a
    thread of their own, and its token request is sent on the loop (``async_transport``).

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
        if token is None:
            self._token = self._cached()
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

    def _covers(self, token: Token) -> bool:
        """Whether ``token`` holds every scope this app's service token asks for; asking for
        none (the server's default, unknown here), whether it was asked for none too. A user's
        token holds what they consented to, which a refresh cannot widen: it is taken as it is."""
        if self.grant_type != "client_credentials":
            return True
        if self.scope is None:
            return token.requested_scope == ""
        return set(self.scope.split()) <= set((token.scope or "").split())

    def _cached(self) -> Token | None:
        """The cache's token for this app, unless it lacks a scope this one asks for: the cache
        keeps one token per app and server (DESIGN §6), and two programs of one app may ask
        for different scopes. That one is left to its owner and replaced by this one's."""
        if self.cache is None:
            return None
        token = self.cache.load(self.endpoints.base_url, self.client_id)
        return token if token is not None and self._covers(token) else None

    def _latest(self) -> Token | None:
        # Another process sharing the cache may have renewed (and rotated) the tokens.
        cached = self._cached()
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
                exc.error,
                exc.description,
                status_code=exc.status_code,
                hint=LOGIN_AGAIN,
                retry_after=exc.retry_after,
            ) from None
        if not refreshing:
            token = dataclasses.replace(token, requested_scope=self.scope or "")
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

    def _loop_lock(self) -> asyncio.Lock:
        """The running loop's lock: its tasks wait for their loop's renewal here, without a
        thread each (one lock per loop, never replaced while a task holds it)."""
        loop = asyncio.get_running_loop()
        with self._async_guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    @contextlib.contextmanager
    def _renewal_locks(self) -> Iterator[None]:
        """What a renewal holds, sync or async: the lock of this instance's threads and loops,
        and with a cache, its lock across processes."""
        with self._lock, self._cache_lock():
            yield

    # -- renewing ------------------------------------------------------------------------------

    def _renew(self, decide: Callable[[Token | None], Decision]) -> Token | None:
        """Under the renewal locks: the latest token, what ``decide`` makes of it, and, when
        that is a request, its answer accepted."""
        with self._renewal_locks():
            token = self._latest()
            decision = decide(token)
            if not isinstance(decision, httpx.Request):
                return decision
            return self._accept_renewal(self._send(decision), token)

    async def _arenew(self, decide: Callable[[Token | None], Decision]) -> Token | None:
        """`_renew` for asyncio: after this loop's other renewals, under the same locks, held
        by a thread of their own (they block), which also reads and writes the cache (its
        lock is re-entrant for the holding thread only); the request is sent on the loop,
        with ``async_transport``."""
        async with self._loop_lock(), _HeldByThread(self._renewal_locks) as held:
            token = await held.run(self._latest)
            decision = decide(token)
            if not isinstance(decision, httpx.Request):
                return decision
            response = await self._asend(decision)
            return await held.run(functools.partial(self._accept_renewal, response, token))

    def _when_stale(self, token: Token | None) -> Decision:
        return token if self._fresh(token) else self._renewal_request(token)

    def _renewal_of(self, rejected: Token) -> Callable[[Token | None], Decision]:
        """The decision after the server rejected ``rejected``: the current token if another
        caller renewed it already, else a renewal (None: nothing to renew with)."""

        def decide(token: Token | None) -> Decision:
            if token is not None and token.access_token != rejected.access_token:
                return token
            try:
                return self._renewal_request(token)
            except LoginRequired:
                return None

        return decide

    # -- getting a token ---------------------------------------------------------------------

    def get_token(self) -> Token:
        """A token valid for at least the leeway; fetched or refreshed only when needed."""
        token = self._token
        if not self._fresh(token):
            token = self._renew(self._when_stale)
        assert token is not None
        return token

    async def aget_token(self) -> Token:
        """`get_token` for asyncio."""
        token = self._token
        if not self._fresh(token):
            token = await self._arenew(self._when_stale)
        assert token is not None
        return token

    def refresh(self) -> Token:
        """Renew now: refresh grant for user tokens, a new request for client credentials."""
        token = self._renew(self._renewal_request)
        assert token is not None
        return token

    async def arefresh(self) -> Token:
        """`refresh` for asyncio."""
        token = await self._arenew(self._renewal_request)
        assert token is not None
        return token

    def _renew_rejected(self, rejected: Token) -> Token | None:
        return self._renew(self._renewal_of(rejected))

    async def _arenew_rejected(self, rejected: Token) -> Token | None:
        return await self._arenew(self._renewal_of(rejected))


# What a renewal makes of the latest token: a token to answer with (still fresh, or renewed by
# another caller), None (nothing to renew with), or the request to send.
Decision = Token | httpx.Request | None


class _HeldByThread:
    """Locks that block, held for a coroutine by a thread of their own, which runs what must
    run under them (``run``) until the coroutine leaves: the event loop never waits on them,
    and the cache's lock, re-entrant for its holding thread only, is always that thread's.
    Left early (cancelled), the thread still releases them once it has them (the release is
    queued behind the taking)."""

    def __init__(self, locks: Callable[[], contextlib.AbstractContextManager[None]]) -> None:
        self._locks = locks
        self._held = contextlib.ExitStack()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="renewal-locks")

    async def __aenter__(self) -> _HeldByThread:
        try:
            await self.run(lambda: self._held.enter_context(self._locks()))
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._thread.submit(self._held.close)
        self._thread.shutdown(wait=False)

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)
