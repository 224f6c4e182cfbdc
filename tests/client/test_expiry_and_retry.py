"""Short-lived tokens are renewed in time; a rejected token is renewed once and retried once.

Time passes for the SDK on a `FakeClock` (its `clock=` option), never by sleeping."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ninja_oauth.client import InvalidGrant, LoginRequired, NinjaOAuth, Token, TokenCache
from ninja_oauth.client.manager import LOGIN_AGAIN
from tests.support.clock import FakeClock

from .authlib_server import ORGANIZATIONS, Client, RunningServer


def service(
    server: RunningServer, *, clock: Callable[[], float] = time.time, **settings: Any
) -> tuple[Client, NinjaOAuth]:
    client = server.add_client(grant_types=["client_credentials"], **settings)
    assert client.client_secret is not None
    auth = NinjaOAuth.client_credentials(
        base_url=server.base_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        scopes=["monitoring"],
        clock=clock,
        **server.urls,
    )
    return client, auth


def logged_in(
    server: RunningServer, cache: TokenCache, clock: FakeClock
) -> tuple[Client, NinjaOAuth]:
    client = server.add_client(
        public=True,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["http://127.0.0.1/callback"],
    )
    auth = NinjaOAuth.authorization_code(
        base_url=server.base_url,
        client_id=client.client_id,
        scopes=["monitoring", "offline_access"],
        cache=cache,
        clock=clock,
        **server.urls,
    )
    auth.login(open_browser=lambda url: httpx.get(url, follow_redirects=True), timeout=10)
    return client, auth


def revoke_at_server(server: RunningServer, token: Token, *, refresh: bool = False) -> None:
    record = server.store.find(access_token=token.access_token)
    assert record is not None
    record.access_revoked = True
    record.refresh_revoked = refresh


def test_a_two_second_token_is_reused_for_its_first_second_then_renewed(
    authlib_server: RunningServer, clock: FakeClock
) -> None:
    client, auth = service(authlib_server, clock=clock, expires_in=2)

    first = auth.get_token()
    assert auth.get_token() is first
    clock.advance(0.5)
    assert auth.get_token() is first
    clock.advance(0.5)  # at the renewal margin: half of a short lifetime
    renewed = auth.get_token()

    assert renewed.access_token != first.access_token
    assert renewed.issued_at == clock.now
    assert client.token_requests == Counter({"client_credentials": 2})


def test_an_expired_user_token_is_refreshed_silently_and_the_rotation_is_cached(
    authlib_server: RunningServer, token_cache: TokenCache, clock: FakeClock
) -> None:
    client, auth = logged_in(authlib_server, token_cache, clock)
    before = auth.token
    assert before is not None and before.expires_at == clock.now + 3600
    clock.advance(3600)  # the token's whole lifetime

    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        assert api.get("/v2/organizations").json() == ORGANIZATIONS

    cached = token_cache.load(authlib_server.base_url, client.client_id)
    assert cached == auth.token
    assert cached is not None and cached.refresh_token not in (None, before.refresh_token)
    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})


def test_a_revoked_refresh_token_is_invalid_grant_asking_to_log_in_again(
    authlib_server: RunningServer, token_cache: TokenCache, clock: FakeClock
) -> None:
    client, auth = logged_in(authlib_server, token_cache, clock)
    assert auth.token is not None
    revoke_at_server(authlib_server, auth.token, refresh=True)
    clock.advance(3600)  # the access token's whole lifetime

    with pytest.raises(InvalidGrant) as raised:
        auth.get_token()

    assert raised.value.hint == LOGIN_AGAIN
    assert str(raised.value).endswith(
        "(HTTP 400). The refresh token is no longer valid: log in again"
    )
    # The dead tokens are gone, so the next call says plainly that a login is needed.
    assert token_cache.load(authlib_server.base_url, client.client_id) is None
    with pytest.raises(LoginRequired):
        auth.get_token()


def test_a_user_token_without_refresh_token_needs_a_login_once_expired(
    authlib_server: RunningServer, token_cache: TokenCache
) -> None:
    expired = Token(access_token="old", issued_at=time.time() - 10, expires_at=time.time() - 5)
    auth = NinjaOAuth.authorization_code(
        base_url=authlib_server.base_url, client_id="someone", token=expired, **authlib_server.urls
    )

    with pytest.raises(LoginRequired) as raised:
        auth.get_token()

    assert str(raised.value) == (
        f"no valid token for client someone on {authlib_server.base_url}: log in"
    )


def test_401_invalid_token_renews_once_and_retries_the_request_with_its_body(
    authlib_server: RunningServer,
) -> None:
    client, auth = service(authlib_server)
    revoke_at_server(authlib_server, auth.get_token())

    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        response = api.post("/v2/echo", json={"name": "Initech"})

    assert (response.status_code, response.json()) == (200, {"received": {"name": "Initech"}})
    assert client.token_requests == Counter({"client_credentials": 2})
    assert len(response.history) == 1 and response.history[0].status_code == 401


def test_async_401_invalid_token_renews_once_and_retries(authlib_server: RunningServer) -> None:
    client, auth = service(authlib_server)
    revoke_at_server(authlib_server, auth.get_token())

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(base_url=auth.api_base_url, auth=auth) as api:
            return await api.get("/v2/organizations")

    response = asyncio.run(call())

    assert (response.status_code, response.json()) == (200, ORGANIZATIONS)
    assert client.token_requests == Counter({"client_credentials": 2})


def always(status: int, headers: dict[str, str], calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Authorization"])
        return httpx.Response(status, headers=headers, json={"error": "nope"})

    return httpx.MockTransport(handler)


def test_a_second_401_is_returned_without_a_third_attempt(authlib_server: RunningServer) -> None:
    client, auth = service(authlib_server)
    calls: list[str] = []
    transport = always(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, calls)

    with httpx.Client(base_url=auth.api_base_url, auth=auth, transport=transport) as api:
        response = api.get("/v2/organizations")

    assert response.status_code == 401
    assert len(calls) == 2 and calls[0] != calls[1]  # retried once, with a new token
    assert client.token_requests == Counter({"client_credentials": 2})


@pytest.mark.parametrize(
    "challenge",
    ['Bearer error="invalid_request"', 'Bearer realm="api", error="insufficient_scope"'],
    ids=["invalid_request", "insufficient_scope"],
)
def test_a_401_for_another_reason_is_not_retried(
    authlib_server: RunningServer, challenge: str
) -> None:
    client, auth = service(authlib_server)
    calls: list[str] = []
    transport = always(401, {"WWW-Authenticate": challenge}, calls)

    with httpx.Client(base_url=auth.api_base_url, auth=auth, transport=transport) as api:
        assert api.get("/v2/organizations").status_code == 401

    assert len(calls) == 1
    assert client.token_requests == Counter({"client_credentials": 1})


def test_a_403_is_never_retried(authlib_server: RunningServer) -> None:
    client, auth = service(authlib_server)
    calls: list[str] = []
    transport = always(403, {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}, calls)

    with httpx.Client(base_url=auth.api_base_url, auth=auth, transport=transport) as api:
        assert api.get("/v2/organizations").status_code == 403

    assert len(calls) == 1
    assert client.token_requests == Counter({"client_credentials": 1})


def test_logging_in_again_revokes_the_grant_it_replaces(
    authlib_server: RunningServer, clock: FakeClock, tmp_path: Path
) -> None:
    """logout revokes what is cached: a grant a new login replaced would stay live with no
    one to end it."""
    _, auth = logged_in(authlib_server, TokenCache(tmp_path), clock)
    first = auth.get_token()
    second = auth.login(open_browser=lambda url: httpx.get(url, follow_redirects=True), timeout=10)

    assert second.refresh_token != first.refresh_token
    old = authlib_server.store.find(access_token=first.access_token)
    assert old is not None and old.refresh_revoked
    new = authlib_server.store.find(access_token=second.access_token)
    assert new is not None and not new.refresh_revoked and not new.access_revoked
