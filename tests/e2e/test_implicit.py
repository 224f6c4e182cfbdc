"""Implicit grant for Single-Page Apps: the token in the 307's query (the documents), or in the
fragment with response_mode=fragment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.flows import authorize, fragment_of, query_of
from tests.support.server import LiveServer

CB = "http://localhost:3000/callback"


@pytest.fixture(scope="module")
def spa(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("spa", redirect_uris=[CB])


def _params(app: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "response_type": "token",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "scope": "monitoring",
        "state": "i-1",
        **extra,
    }


def test_implicit_token_arrives_in_the_query_string_as_documented(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        final = authorize(browser, _params(spa), user=sqlite_server.user())
        assert final.status_code == 307
        answer = query_of(final.headers["location"])
        assert set(answer) == {"access_token", "token_type", "expires_in", "scope", "state", "iss"}
        assert answer["token_type"] == "bearer"
        assert answer["expires_in"] == "3600"
        assert answer["scope"] == "monitoring"
        assert answer["state"] == "i-1"
        api = browser.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {answer['access_token']}"}
        )
    assert api.status_code == 200


def test_response_mode_fragment_puts_the_token_in_the_fragment(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        final = authorize(
            browser, _params(spa, response_mode="fragment"), user=sqlite_server.user()
        )
    assert final.status_code == 307
    assert "?" not in final.headers["location"]
    answer = fragment_of(final.headers["location"])
    assert answer["token_type"] == "bearer"
    assert "refresh_token" not in answer
    assert answer["state"] == "i-1"


def test_implicit_never_returns_a_refresh_token_even_with_offline_access(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        final = authorize(
            browser, _params(spa, scope="monitoring offline_access"), user=sqlite_server.user()
        )
    answer = query_of(final.headers["location"])
    assert "access_token" in answer
    assert "refresh_token" not in answer


def test_implicit_errors_go_where_its_success_would(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        in_query = browser.get("/ws/oauth/authorize", params=_params(spa, scope="nope"))
        in_fragment = browser.get(
            "/ws/oauth/authorize", params=_params(spa, scope="nope", response_mode="fragment")
        )
    assert query_of(in_query.headers["location"])["error"] == "invalid_scope"
    assert fragment_of(in_fragment.headers["location"])["error"] == "invalid_scope"


def test_deny_on_implicit_is_access_denied(sqlite_server: LiveServer) -> None:
    app = sqlite_server.create_app("spa", redirect_uris=[CB])
    with sqlite_server.client() as browser:
        final = authorize(browser, _params(app), user=sqlite_server.user(), button="Deny")
    assert query_of(final.headers["location"])["error"] == "access_denied"


def test_a_web_app_may_not_use_the_implicit_grant(sqlite_server: LiveServer) -> None:
    web = sqlite_server.create_app("web", redirect_uris=[CB])
    with sqlite_server.client() as browser:
        response = browser.get("/ws/oauth/authorize", params=_params(web))
    assert response.status_code == 307
    assert query_of(response.headers["location"])["error"] == "unauthorized_client"
