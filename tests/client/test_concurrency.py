"""Many callers at once cause one token request: no thundering herd, sync or async."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ninja_oauth.client import NinjaOAuth, Token, TokenCache
from tests.support.clock import FakeClock

from .authlib_server import Client, RunningServer

CALLERS = 50


def service_auth(server: RunningServer, client: Client) -> NinjaOAuth:
    assert client.client_secret is not None
    return NinjaOAuth.client_credentials(
        base_url=server.base_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        scopes=["monitoring"],
        **server.urls,
    )


def call_from_threads(auth: NinjaOAuth) -> list[int]:
    start = threading.Barrier(CALLERS)
    limits = httpx.Limits(max_connections=CALLERS)
    with httpx.Client(base_url=auth.api_base_url, auth=auth, limits=limits, timeout=30) as api:

        def call(_: int) -> int:
            start.wait()
            return api.get("/v2/organizations").status_code

        with ThreadPoolExecutor(CALLERS) as pool:
            return list(pool.map(call, range(CALLERS)))


async def call_from_tasks(auth: NinjaOAuth) -> list[int]:
    limits = httpx.Limits(max_connections=CALLERS)
    async with httpx.AsyncClient(
        base_url=auth.api_base_url, auth=auth, limits=limits, timeout=30
    ) as api:
        responses = await asyncio.gather(*(api.get("/v2/organizations") for _ in range(CALLERS)))
    return [r.status_code for r in responses]


def test_50_threads_sharing_one_sync_auth_cause_exactly_one_token_request(
    authlib_server: RunningServer,
) -> None:
    # The slow token endpoint keeps the window open while every thread asks.
    client = authlib_server.add_client(grant_types=["client_credentials"], token_delay=0.3)

    statuses = call_from_threads(service_auth(authlib_server, client))

    assert statuses == [200] * CALLERS
    assert client.token_requests == Counter({"client_credentials": 1})
    assert client.api_calls == CALLERS


def test_50_asyncio_tasks_sharing_one_async_auth_cause_exactly_one_token_request(
    authlib_server: RunningServer,
) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"], token_delay=0.3)

    statuses = asyncio.run(call_from_tasks(service_auth(authlib_server, client)))

    assert statuses == [200] * CALLERS
    assert client.token_requests == Counter({"client_credentials": 1})
    assert client.api_calls == CALLERS


def user_auth(
    server: RunningServer, client_id: str, cache: TokenCache | None, clock: FakeClock
) -> NinjaOAuth:
    return NinjaOAuth.authorization_code(
        base_url=server.base_url,
        client_id=client_id,
        scopes=["monitoring", "offline_access"],
        cache=cache,
        clock=clock,
        **server.urls,
    )


def expired_user_token(
    server: RunningServer, cache: TokenCache | None, clock: FakeClock
) -> tuple[Client, NinjaOAuth]:
    """A logged-in user whose access token (an hour's) has just expired on the SDK's clock."""
    client = server.add_client(
        public=True,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["http://127.0.0.1/callback"],
        token_delay=0.3,
    )
    auth = user_auth(server, client.client_id, cache, clock)
    auth.login(open_browser=lambda url: httpx.get(url, follow_redirects=True), timeout=10)
    assert auth.token is not None and auth.token.expires_at == clock.now + 3600
    clock.advance(3600)
    return client, auth


def test_50_threads_with_an_expired_user_token_cause_exactly_one_refresh(
    authlib_server: RunningServer, token_cache: TokenCache, clock: FakeClock
) -> None:
    client, auth = expired_user_token(authlib_server, token_cache, clock)

    statuses = call_from_threads(auth)

    assert statuses == [200] * CALLERS
    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})


def test_50_tasks_with_an_expired_user_token_cause_exactly_one_refresh(
    authlib_server: RunningServer, token_cache: TokenCache, clock: FakeClock
) -> None:
    client, auth = expired_user_token(authlib_server, token_cache, clock)

    statuses = asyncio.run(call_from_tasks(auth))

    assert statuses == [200] * CALLERS
    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})


def test_50_threads_rejected_with_the_same_token_renew_it_once(
    authlib_server: RunningServer,
) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"], token_delay=0.3)
    auth = service_auth(authlib_server, client)
    first = auth.get_token()
    revoke_access_token(authlib_server, first)

    statuses = call_from_threads(auth)

    assert statuses == [200] * CALLERS
    assert client.token_requests == Counter({"client_credentials": 2})
    assert auth.token is not None and auth.token.access_token != first.access_token


def revoke_access_token(server: RunningServer, token: Token) -> None:
    record = server.store.find(access_token=token.access_token)
    assert record is not None
    record.access_revoked = True


def test_tasks_of_two_event_loops_and_a_thread_with_an_expired_user_token_refresh_once(
    authlib_server: RunningServer, clock: FakeClock
) -> None:
    # One renewal whoever asks: a second refresh would replay the rotated refresh token, and
    # the server would revoke the whole family (the user logged out). No cache: its lock must
    # not be what keeps them apart.
    client, auth = expired_user_token(authlib_server, None, clock)
    start = threading.Barrier(3)

    def loop_of_tasks() -> list[str]:
        async def tasks() -> list[str]:
            got = await asyncio.gather(*(auth.aget_token() for _ in range(3)))
            return [t.access_token for t in got]

        start.wait()
        return asyncio.run(tasks())

    def sync_caller() -> list[str]:
        start.wait()
        return [auth.get_token().access_token]

    with ThreadPoolExecutor(3) as pool:
        answers = [pool.submit(f) for f in (loop_of_tasks, loop_of_tasks, sync_caller)]
        tokens = [token for answer in answers for token in answer.result()]

    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})
    assert len(set(tokens)) == 1 and len(tokens) == 7


def test_two_processes_sharing_the_cache_refresh_once_from_async_code(
    authlib_server: RunningServer, tmp_path: Path, clock: FakeClock
) -> None:
    # Two SDK instances, each with its own TokenCache of one directory, stand for two
    # processes: the cache's file lock is per open file, so they exclude each other.
    client, first = expired_user_token(authlib_server, TokenCache(tmp_path), clock)
    second = user_auth(authlib_server, client.client_id, TokenCache(tmp_path), clock)
    start = threading.Barrier(2)

    def renew(auth: NinjaOAuth) -> str:
        start.wait()
        return asyncio.run(auth.aget_token()).access_token

    with ThreadPoolExecutor(2) as pool:
        tokens = list(pool.map(renew, (first, second)))

    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})
    assert tokens[0] == tokens[1]


TOKEN_BODY = {"access_token": "a" * 40, "token_type": "Bearer", "expires_in": 3600}


def test_an_async_renewal_is_sent_with_the_async_transport() -> None:
    sent: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json=TOKEN_BODY)

    auth = NinjaOAuth.client_credentials(
        base_url="https://ninja.invalid",  # never resolved: only the transport answers
        client_id="id",
        client_secret="secret",
        async_transport=httpx.MockTransport(handler),
    )
    token = asyncio.run(auth.aget_token())
    assert token.access_token == "a" * 40
    assert sent == ["https://ninja.invalid/ws/oauth/token"]


def test_a_renewal_cancelled_while_it_waits_for_the_locks_leaves_them_free() -> None:
    release = threading.Event()
    requests = Counter[str]()

    def slow(request: httpx.Request) -> httpx.Response:
        requests["sync"] += 1
        release.wait(10)
        return httpx.Response(200, json=TOKEN_BODY)

    async def fast(request: httpx.Request) -> httpx.Response:
        requests["async"] += 1
        return httpx.Response(200, json={**TOKEN_BODY, "access_token": "b" * 40})

    auth = NinjaOAuth.client_credentials(
        base_url="https://ninja.invalid",
        client_id="id",
        client_secret="secret",
        transport=httpx.MockTransport(slow),
        async_transport=httpx.MockTransport(fast),
    )

    async def cancelled_then_renewed() -> str:
        waiting = asyncio.ensure_future(auth.arefresh())
        await asyncio.sleep(0.2)  # it waits for the sync renewal's locks
        waiting.cancel()
        release.set()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        return (await asyncio.wait_for(auth.arefresh(), 10)).access_token

    with ThreadPoolExecutor(1) as pool:
        renewing = pool.submit(auth.get_token)
        while not requests["sync"]:
            time.sleep(0.01)
        assert asyncio.run(cancelled_then_renewed()) == "b" * 40
        assert renewing.result(10).access_token == "a" * 40
    assert requests == Counter({"sync": 1, "async": 1})
