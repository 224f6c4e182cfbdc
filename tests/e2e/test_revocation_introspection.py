"""Revocation (RFC 7009), introspection (RFC 7662) and metadata (RFC 8414)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.flows import assert_oauth_error, authorize, pkce_pair, query_of
from tests.support.server import LiveServer

CB = "http://127.0.0.1/callback"


@pytest.fixture(scope="module")
def m2m(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("api_services")


def _cc_token(server: LiveServer, app: dict[str, Any]) -> str:
    with server.client() as http:
        token: str = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(app["client_id"], app["client_secret"]),
        ).json()["access_token"]
    return token


def test_metadata_lists_the_ws_oauth_endpoints(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    base = sqlite_server.base_url
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == base + "/ws/oauth/authorize"
    assert meta["token_endpoint"] == base + "/ws/oauth/token"
    assert meta["revocation_endpoint"] == base + "/ws/oauth/revoke"
    assert meta["introspection_endpoint"] == base + "/ws/oauth/introspect"
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "implicit",
        "client_credentials",
        "refresh_token",
    }


def test_introspection_describes_an_active_token_and_revocation_ends_it(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    token = _cc_token(sqlite_server, m2m)
    auth = (m2m["client_id"], m2m["client_secret"])
    with sqlite_server.client() as http:
        info = http.post("/ws/oauth/introspect", data={"token": token}, auth=auth)
        assert info.status_code == 200
        body = info.json()
        assert body["active"] is True
        assert body["client_id"] == m2m["client_id"]
        assert body["scope"] == "monitoring management control"
        assert body["token_type"] == "bearer"
        assert body["exp"] - body["iat"] == 3600
        revoked = http.post("/ws/oauth/revoke", data={"token": token}, auth=auth)
        assert revoked.status_code == 200
        assert http.post("/ws/oauth/introspect", data={"token": token}, auth=auth).json() == {
            "active": False
        }
        api = http.get("/v2/organizations", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_unknown_tokens_are_inactive_and_revoking_them_is_a_200(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    auth = (m2m["client_id"], m2m["client_secret"])
    with sqlite_server.client() as http:
        assert http.post("/ws/oauth/introspect", data={"token": "nope"}, auth=auth).json() == {
            "active": False
        }
        assert http.post("/ws/oauth/revoke", data={"token": "nope"}, auth=auth).status_code == 200


def test_another_apps_token_is_not_revoked(sqlite_server: LiveServer, m2m: dict[str, Any]) -> None:
    token = _cc_token(sqlite_server, m2m)
    other = sqlite_server.create_app("api_services")
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/revoke",
            data={"token": token},
            auth=(other["client_id"], other["client_secret"]),
        )
        assert response.status_code == 200
        api = http.get("/v2/organizations", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_a_public_app_revokes_its_refresh_token_with_its_client_id_only(
    sqlite_server: LiveServer,
) -> None:
    native = sqlite_server.create_app("native", redirect_uris=[CB])
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": native["client_id"],
        "redirect_uri": CB,
        "scope": "monitoring offline_access",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with sqlite_server.client() as browser:
        code = query_of(authorize(browser, params, user=sqlite_server.user()).headers["location"])[
            "code"
        ]
        tokens = browser.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": native["client_id"],
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": CB,
            },
        ).json()
        revoked = browser.post(
            "/ws/oauth/revoke",
            data={
                "token": tokens["refresh_token"],
                "token_type_hint": "refresh_token",
                "client_id": native["client_id"],
            },
        )
        assert revoked.status_code == 200
        again = browser.post(
            "/ws/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": native["client_id"],
            },
        )
        assert_oauth_error(again, 400, "invalid_grant")
        # RFC 7009 §2.1: the access tokens of the same grant go with it.
        api = browser.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert api.status_code == 401


def test_introspection_needs_a_confidential_app(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    token = _cc_token(sqlite_server, m2m)
    spa = sqlite_server.create_app("spa", redirect_uris=["https://spa.example.com/cb"])
    with sqlite_server.client() as http:
        public = http.post(
            "/ws/oauth/introspect", data={"token": token, "client_id": spa["client_id"]}
        )
        anonymous = http.post("/ws/oauth/introspect", data={"token": token})
    assert_oauth_error(public, 401, "invalid_client")
    assert_oauth_error(anonymous, 401, "invalid_client")


def test_revocation_without_a_token_is_invalid_request(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/revoke",
            data={"token_type_hint": "access_token"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        )
    assert_oauth_error(response, 400, "invalid_request", "Missing 'token' in request.")


def test_an_unknown_token_type_hint_is_ignored(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    """RFC 7009 §2.1 and RFC 7662 §2.1: an unknown hint neither fails the request nor hides the
    token (the search covers every token type)."""
    token = _cc_token(sqlite_server, m2m)
    auth = (m2m["client_id"], m2m["client_secret"])
    form = {"token": token, "token_type_hint": "id_token"}
    with sqlite_server.client() as http:
        info = http.post("/ws/oauth/introspect", data=form, auth=auth)
        assert info.status_code == 200
        assert info.json()["active"] is True
        assert http.post("/ws/oauth/revoke", data=form, auth=auth).status_code == 200
        after = http.post("/ws/oauth/introspect", data={"token": token}, auth=auth)
    assert after.json() == {"active": False}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/ws/oauth/authorize", "GET"),
        ("PUT", "/oauth/authorize", "GET"),
        ("GET", "/ws/oauth/revoke", "POST"),
        ("GET", "/ws/oauth/introspect", "POST"),
        ("DELETE", "/oauth/token", "POST"),
        ("TRACE", "/ws/oauth/token", "POST"),
        ("PROPFIND", "/oauth/introspect", "POST"),
        ("TRACE", "/ws/oauth/authorize", "GET"),
    ],
)
def test_another_method_on_an_oauth_endpoint_is_a_405_naming_the_right_one(
    sqlite_server: LiveServer, method: str, path: str, allowed: str
) -> None:
    with sqlite_server.client() as http:
        response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == ("GET, HEAD" if allowed == "GET" else allowed)
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Use {allowed} for {path}.",
    }


SPA_ORIGIN = "https://spa.example"


def test_a_browser_preflight_of_token_and_revoke_is_answered_and_a_plain_options_is_a_405(
    sqlite_server: LiveServer,
) -> None:
    preflight = {"Origin": SPA_ORIGIN, "Access-Control-Request-Method": "POST"}
    with sqlite_server.client() as http:
        answers = [http.options(path, headers=preflight) for path in
                   ("/ws/oauth/token", "/oauth/token", "/ws/oauth/revoke")]  # fmt: skip
        introspect = http.options("/ws/oauth/introspect", headers=preflight)
        plain = http.options("/ws/oauth/token")
    for answer in answers:
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == SPA_ORIGIN
        assert answer.headers["access-control-allow-methods"] == "POST"
        assert "access-control-allow-credentials" not in answer.headers
    assert introspect.status_code == 405 and "access-control-allow-origin" not in introspect.headers
    assert (plain.status_code, plain.headers["allow"]) == (405, "POST")


def test_only_a_single_page_apps_own_origin_may_read_its_token_answers(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    spa = sqlite_server.create_app("spa", redirect_uris=[SPA_ORIGIN + "/callback"])

    def token(app: dict[str, Any], origin: str) -> Any:
        form = {"grant_type": "client_credentials", "client_id": app["client_id"]}
        if app.get("client_secret"):
            form["client_secret"] = app["client_secret"]
        with sqlite_server.client() as http:
            return http.post("/ws/oauth/token", data=form, headers={"Origin": origin})

    own = token(spa, SPA_ORIGIN)  # an SPA has no client_credentials: an error, readable
    assert own.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert own.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in token(spa, "https://evil.example").headers
    # A server-side app's answers are for no page, whatever the origin says.
    issued = token(m2m, SPA_ORIGIN)
    assert issued.status_code == 200 and "access-control-allow-origin" not in issued.headers
