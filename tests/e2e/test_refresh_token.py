"""Refresh tokens: offline_access, rotation, reuse detection, narrowing (lifetimes are in
test_lifetimes.py). On SQLite: racing rotations are test_scale_out's, on both stores."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.flows import assert_oauth_error, authorize, query_of
from tests.support.server import LiveServer

CB = "https://app.example.com/cb"


def _tokens(server: LiveServer, app: dict[str, Any], scope: str) -> dict[str, Any]:
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "scope": scope,
        "state": "r",
    }
    with server.client() as browser:
        code = query_of(authorize(browser, params, user=server.user()).headers["location"])["code"]
        response = browser.post(
            "/ws/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB},
            auth=(app["client_id"], app["client_secret"]),
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(server: LiveServer, app: dict[str, Any], token: str, **extra: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": token, **extra},
            auth=(app["client_id"], app["client_secret"]),
        )


@pytest.fixture(scope="module")
def web(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("web", redirect_uris=[CB])


def test_no_offline_access_means_no_refresh_token(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    assert "refresh_token" not in _tokens(sqlite_server, web, "monitoring")


def test_an_app_without_the_refresh_grant_may_not_ask_for_offline_access(
    sqlite_server: LiveServer,
) -> None:
    app = sqlite_server.create_app("web", redirect_uris=[CB], grants=["authorization_code"])
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "scope": "monitoring offline_access",
        "state": "r",
    }
    with sqlite_server.client() as browser:
        response = browser.get("/ws/oauth/authorize", params=params)
    assert query_of(response.headers["location"])["error"] == "invalid_scope"


def test_every_refresh_rotates_and_the_old_token_stops_working(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    first = _tokens(sqlite_server, web, "monitoring management offline_access")
    second = _refresh(sqlite_server, web, first["refresh_token"])
    assert second.status_code == 200
    third = _refresh(sqlite_server, web, second.json()["refresh_token"])
    assert third.status_code == 200
    assert third.json()["scope"] == "monitoring management offline_access"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    first = _tokens(sqlite_server, web, "monitoring offline_access")
    second = _refresh(sqlite_server, web, first["refresh_token"]).json()
    reuse = _refresh(sqlite_server, web, first["refresh_token"])
    assert_oauth_error(
        reuse,
        400,
        "invalid_grant",
        "The refresh token was already used; every token of its family has been revoked. Log in again.",
    )
    assert_oauth_error(_refresh(sqlite_server, web, second["refresh_token"]), 400, "invalid_grant")
    with sqlite_server.client() as http:
        api = http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {second['access_token']}"}
        )
    assert api.status_code == 401


def test_a_refresh_may_narrow_the_scope_but_the_family_keeps_its_own(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    first = _tokens(sqlite_server, web, "monitoring management offline_access")
    # Narrowed but keeping offline_access, so a refresh token comes (issue 12: without it none
    # does, tests/e2e/test_hardening_protocol.py).
    narrow = _refresh(sqlite_server, web, first["refresh_token"], scope="monitoring offline_access")
    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "monitoring offline_access"
    back = _refresh(
        sqlite_server, web, narrow.json()["refresh_token"], scope="monitoring management"
    )
    assert back.status_code == 200
    assert back.json()["scope"] == "monitoring management"


def test_widening_is_invalid_scope_and_does_not_burn_the_token(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    first = _tokens(sqlite_server, web, "monitoring offline_access")
    wider = _refresh(sqlite_server, web, first["refresh_token"], scope="monitoring control")
    assert_oauth_error(
        wider,
        400,
        "invalid_scope",
        "A refresh may only narrow the scope; 'control' was not granted.",
    )
    assert _refresh(sqlite_server, web, first["refresh_token"]).status_code == 200


def test_a_refresh_token_is_bound_to_its_app(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    other = sqlite_server.create_app("web", redirect_uris=[CB])
    first = _tokens(sqlite_server, web, "monitoring offline_access")
    assert_oauth_error(_refresh(sqlite_server, other, first["refresh_token"]), 400, "invalid_grant")
    assert _refresh(sqlite_server, web, first["refresh_token"]).status_code == 200


def test_missing_refresh_token_is_invalid_request(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token"},
            auth=(web["client_id"], web["client_secret"]),
        )
    assert_oauth_error(response, 400, "invalid_request", "Missing 'refresh_token' in request.")
