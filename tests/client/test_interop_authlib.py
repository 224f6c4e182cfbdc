"""Every flow of the SDK against a standard OAuth 2.0 server that is not ninja-oauth (Authlib's)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ninja_oauth.client import (
    AccessDenied,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    NinjaOAuth,
    StateMismatch,
    TokenCache,
)

from .authlib_server import ORGANIZATIONS, Client, RunningServer

SERVER_APP_REDIRECT = "https://app.example/callback"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def service_auth(server: RunningServer, client: Client, **options: Any) -> NinjaOAuth:
    assert client.client_secret is not None
    return NinjaOAuth.client_credentials(
        base_url=server.base_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        **server.urls,
        **options,
    )


def server_app(server: RunningServer) -> tuple[Client, NinjaOAuth]:
    client = server.add_client(
        grant_types=["authorization_code", "refresh_token"], redirect_uris=[SERVER_APP_REDIRECT]
    )
    auth = NinjaOAuth.authorization_code(
        base_url=server.base_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=SERVER_APP_REDIRECT,
        scopes=["monitoring", "offline_access"],
        **server.urls,
    )
    return client, auth


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_client_credentials_token_is_fetched_once_and_reused(
    authlib_server: RunningServer, auth_method: str
) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"])
    auth = service_auth(authlib_server, client, scopes=["monitoring"], auth_method=auth_method)

    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        first = api.get("/v2/organizations")
        second = api.get("/v2/organizations")

    assert (first.status_code, first.json()) == (200, ORGANIZATIONS)
    assert (second.status_code, second.json()) == (200, ORGANIZATIONS)
    assert client.token_requests == Counter({"client_credentials": 1})
    assert client.api_calls == 2
    assert auth.token is not None
    assert (auth.token.scope, auth.token.refresh_token) == ("monitoring", None)


def test_client_credentials_without_scopes_gets_the_server_default(
    authlib_server: RunningServer,
) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"])

    token = service_auth(authlib_server, client).get_token()

    assert token.scope == "monitoring management control"


def test_wrong_client_secret_is_invalid_client_carrying_the_description_not_the_secret(
    authlib_server: RunningServer,
) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"])
    auth = NinjaOAuth.client_credentials(
        base_url=authlib_server.base_url,
        client_id=client.client_id,
        client_secret="wrong-secret-value-123",
        **authlib_server.urls,
    )

    with pytest.raises(InvalidClient) as raised:
        auth.get_token()

    error = raised.value
    assert (error.error, error.status_code) == ("invalid_client", 401)
    assert error.description == (
        "The client cannot authenticate with methods: ['client_secret_basic', 'client_secret_post']"
    )
    assert "wrong-secret-value-123" not in str(error)


def test_unknown_scope_is_invalid_scope(authlib_server: RunningServer) -> None:
    client = authlib_server.add_client(grant_types=["client_credentials"])

    with pytest.raises(InvalidScope) as raised:
        service_auth(authlib_server, client, scopes=["telepathy"]).get_token()

    assert (raised.value.error, raised.value.status_code) == ("invalid_scope", 400)


def test_server_app_builds_the_url_checks_the_state_exchanges_the_code_and_refreshes(
    authlib_server: RunningServer,
) -> None:
    client, auth = server_app(authlib_server)

    request = auth.authorization_url()
    sent = query_of(request.url)
    assert request.url.startswith(f"{authlib_server.base_url}/oauth/authorize?")
    assert sent == {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": SERVER_APP_REDIRECT,
        "state": request.state,
        "scope": "monitoring offline_access",
        "code_challenge": sent["code_challenge"],
        "code_challenge_method": "S256",
    }
    callback = httpx.get(request.url).headers["location"]
    assert set(query_of(callback)) == {"code", "state"}

    token = auth.fetch_token(callback, request)
    assert token.scope == "monitoring offline_access"
    assert token.refresh_token is not None

    refreshed = auth.refresh()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token not in (None, token.refresh_token)  # rotated
    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        assert api.get("/v2/organizations").json() == ORGANIZATIONS
    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})


def test_server_app_can_skip_pkce(authlib_server: RunningServer) -> None:
    _, auth = server_app(authlib_server)

    request = auth.authorization_url(pkce=False, scopes=["monitoring"])
    assert "code_challenge" not in query_of(request.url)
    token = auth.fetch_token(httpx.get(request.url).headers["location"], request)

    assert (token.scope, token.refresh_token) == ("monitoring", None)


def test_callback_with_another_state_is_refused_before_any_token_request(
    authlib_server: RunningServer,
) -> None:
    client, auth = server_app(authlib_server)
    request = auth.authorization_url()
    code = query_of(httpx.get(request.url).headers["location"])["code"]

    with pytest.raises(StateMismatch):
        auth.fetch_token({"code": code, "state": "forged"}, request)

    assert client.token_requests == Counter()


def test_denied_consent_is_access_denied(authlib_server: RunningServer) -> None:
    client, auth = server_app(authlib_server)
    client.deny = True
    request = auth.authorization_url()

    with pytest.raises(AccessDenied) as raised:
        auth.fetch_token(httpx.get(request.url).headers["location"], request)

    assert raised.value.error == "access_denied"
    assert client.token_requests == Counter()


def native_app(
    server: RunningServer, cache: TokenCache, **settings: Any
) -> tuple[Client, NinjaOAuth]:
    client = server.add_client(
        public=True,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["http://127.0.0.1/callback"],
        **settings,
    )
    auth = NinjaOAuth.authorization_code(
        base_url=server.base_url,
        client_id=client.client_id,
        scopes=["monitoring", "offline_access"],
        cache=cache,
        **server.urls,
    )
    return client, auth


def browse(visited: list[str]) -> Any:
    def open_browser(url: str) -> None:
        visited.append(url)
        assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200

    return open_browser


def test_native_login_uses_pkce_and_a_loopback_redirect_and_caches_the_tokens(
    authlib_server: RunningServer, token_cache: TokenCache
) -> None:
    client, auth = native_app(authlib_server, token_cache)
    visited: list[str] = []

    token = auth.login(open_browser=browse(visited), timeout=10)

    sent = query_of(visited[0])
    assert sent["redirect_uri"].startswith("http://127.0.0.1:")
    assert sent["redirect_uri"].endswith("/callback")
    assert sent["code_challenge_method"] == "S256"
    assert token_cache.load(authlib_server.base_url, client.client_id) == token
    # A later process finds the tokens in the cache and needs no login.
    later = NinjaOAuth.authorization_code(
        base_url=authlib_server.base_url,
        client_id=client.client_id,
        cache=TokenCache(token_cache.directory),
        **authlib_server.urls,
    )
    with httpx.Client(base_url=later.api_base_url, auth=later) as api:
        assert api.get("/v2/organizations").json() == ORGANIZATIONS
    assert client.token_requests == Counter({"authorization_code": 1})


def test_logout_revokes_both_tokens_and_deletes_them(
    authlib_server: RunningServer, token_cache: TokenCache
) -> None:
    client, auth = native_app(authlib_server, token_cache)
    token = auth.login(open_browser=browse([]), timeout=10)

    assert auth.revoke() is True

    assert token_cache.load(authlib_server.base_url, client.client_id) is None
    assert auth.token is None
    bearer = {"Authorization": f"Bearer {token.access_token}"}
    assert (
        httpx.get(f"{authlib_server.base_url}/v2/organizations", headers=bearer).status_code == 401
    )
    stale = NinjaOAuth.authorization_code(
        base_url=authlib_server.base_url,
        client_id=client.client_id,
        token=token,
        **authlib_server.urls,
    )
    with pytest.raises(InvalidGrant):
        stale.refresh()
    assert auth.revoke() is False  # nothing left to revoke


def test_async_client_credentials_and_code_exchange(authlib_server: RunningServer) -> None:
    service = authlib_server.add_client(grant_types=["client_credentials"])
    auth = service_auth(authlib_server, service, scopes="monitoring")
    client, user_auth = server_app(authlib_server)

    async def main() -> tuple[Any, Any]:
        async with httpx.AsyncClient(base_url=auth.api_base_url, auth=auth) as api:
            orgs = (await api.get("/v2/organizations")).json()
        request = user_auth.authorization_url()
        async with httpx.AsyncClient() as browser:
            callback = (await browser.get(request.url)).headers["location"]
        token = await user_auth.afetch_token(callback, request)
        refreshed = await user_auth.arefresh()
        assert await user_auth.arevoke() is True
        return orgs, (token.access_token != refreshed.access_token)

    assert asyncio.run(main()) == (ORGANIZATIONS, True)
    assert service.token_requests == Counter({"client_credentials": 1})
    assert client.token_requests == Counter({"authorization_code": 1, "refresh_token": 1})
