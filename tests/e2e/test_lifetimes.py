"""Codes and tokens live as long as the settings say, on a live server, without waiting.

`move_back` moves an app's stored codes and tokens into the past, which to the server is that much
time passing. The boundaries to the second are the core's tests, on its fake clock
(tests/oauth/test_authorization_code.py, tests/oauth/test_refresh_token.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ageing import move_back
from tests.support.flows import assert_oauth_error, authorize, query_of
from tests.support.server import LiveServer, start_server

CB = "https://app.example.com/cb"
CODE_TTL = 30
ACCESS_TOKEN_TTL = 120
REFRESH_TOKEN_TTL = 600


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("lifetimes")
    server = start_server(
        f"sqlite:///{tmp / 'ninja-oauth.db'}",
        tmp,
        NINJA_OAUTH_CODE_TTL=str(CODE_TTL),
        NINJA_OAUTH_ACCESS_TOKEN_TTL=str(ACCESS_TOKEN_TTL),
        NINJA_OAUTH_REFRESH_TOKEN_TTL=str(REFRESH_TOKEN_TTL),
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def web(live: LiveServer) -> dict[str, Any]:
    return live.create_app("web", redirect_uris=[CB])


def _code(live: LiveServer, app: dict[str, Any]) -> str:
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "scope": "monitoring offline_access",
        "state": "t",
    }
    with live.client() as browser:
        return query_of(authorize(browser, params, user=live.user()).headers["location"])["code"]


def _token(live: LiveServer, app: dict[str, Any], **form: str) -> httpx.Response:
    with live.client() as http:
        return http.post(
            "/ws/oauth/token", data=form, auth=(app["client_id"], app["client_secret"])
        )


def _exchange(live: LiveServer, app: dict[str, Any], code: str) -> httpx.Response:
    return _token(live, app, grant_type="authorization_code", code=code, redirect_uri=CB)


def _organizations(live: LiveServer, access_token: str) -> httpx.Response:
    with live.client() as http:
        return http.get("/v2/organizations", headers={"Authorization": f"Bearer {access_token}"})


def test_a_code_expires_after_its_configured_lifetime(
    live: LiveServer, web: dict[str, Any]
) -> None:
    code = _code(live, web)
    move_back(live, web["client_id"], CODE_TTL)

    assert_oauth_error(
        _exchange(live, web, code),
        400,
        "invalid_grant",
        "The code has expired; start the authorization again.",
    )


def test_an_expired_access_token_is_refused_and_the_refresh_token_renews_it(
    live: LiveServer, web: dict[str, Any]
) -> None:
    issued = _exchange(live, web, _code(live, web))
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["expires_in"] == ACCESS_TOKEN_TTL
    assert _organizations(live, tokens["access_token"]).status_code == 200

    move_back(live, web["client_id"], ACCESS_TOKEN_TTL)

    expired = _organizations(live, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == (
        'Bearer realm="ninja-oauth", error="invalid_token", '
        'error_description="The access token has expired."'
    )
    assert expired.json() == {
        "error": "invalid_token",
        "error_description": "The access token has expired.",
    }
    refreshed = _token(live, web, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["expires_in"] == ACCESS_TOKEN_TTL
    assert _organizations(live, refreshed.json()["access_token"]).status_code == 200


def test_a_refresh_token_expires_after_its_configured_lifetime(
    live: LiveServer, web: dict[str, Any]
) -> None:
    issued = _exchange(live, web, _code(live, web))
    assert issued.status_code == 200, issued.text

    move_back(live, web["client_id"], REFRESH_TOKEN_TTL)

    assert_oauth_error(
        _token(live, web, grant_type="refresh_token", refresh_token=issued.json()["refresh_token"]),
        400,
        "invalid_grant",
        "The refresh token is not valid: unknown, expired, revoked or issued to another app.",
    )


def test_the_longest_lifetimes_the_settings_accept_issue_and_refresh_tokens(
    database_url: str, tmp_path: Path
) -> None:
    """Ten years, the most NINJA_OAUTH_*_TOKEN_TTL may be, stays inside the stores' time columns
    (past it the server refuses to start, tests/e2e/test_cli.py)."""
    ten_years = 10 * 365 * 24 * 3600
    server = start_server(
        database_url,
        tmp_path,
        NINJA_OAUTH_ACCESS_TOKEN_TTL=str(ten_years),
        NINJA_OAUTH_REFRESH_TOKEN_TTL=str(ten_years),
    )
    try:
        web = server.create_app("web", redirect_uris=[CB])
        issued = _exchange(server, web, _code(server, web))
        assert issued.status_code == 200, issued.text
        assert issued.json()["expires_in"] == ten_years
        refreshed = _token(
            server, web, grant_type="refresh_token", refresh_token=issued.json()["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text
        assert _organizations(server, refreshed.json()["access_token"]).status_code == 200
    finally:
        server.stop()
