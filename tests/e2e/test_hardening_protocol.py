"""Issue 12 over HTTP, on both stores: malformed parameters are a 4xx (never a 500), a missing
grant_type is invalid_request, introspection answers only for the tokens the caller may see,
and a refresh that drops offline_access returns no refresh token."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.flows import assert_oauth_error, authorize, pkce_pair, query_of
from tests.support.server import CLI, LiveServer, free_port, server_env, start_server

CB = "https://app.example.com/cb"
# As a browser or a client sends them: %22 ("), %C3%A9 (é), %00 (NUL).
BAD = ["%22", "%C3%A9", "%00"]
BAD_IDS = ["quote", "e-acute", "nul"]


def _create(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [*CLI, "apps", "create", *args, "--json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    created: dict[str, Any] = json.loads(done.stdout)
    return created


@pytest.fixture(scope="module")
def served(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """A server whose resource server (NINJA_OAUTH_INTROSPECTION_RESOURCE_SERVERS) is an app
    registered before it starts."""
    port = free_port()
    env = server_env(database_url, port)
    resource_server = _create(env, "--name", "Resource server", "--platform", "api_services")
    env["NINJA_OAUTH_INTROSPECTION_RESOURCE_SERVERS"] = json.dumps([resource_server["client_id"]])
    live = start_server(database_url, tmp_path_factory.mktemp("hardening"), port=port, env=env)
    try:
        yield live, resource_server
    finally:
        live.stop()


@pytest.fixture(scope="module")
def server(served: tuple[LiveServer, dict[str, Any]]) -> LiveServer:
    return served[0]


@pytest.fixture(scope="module")
def web(server: LiveServer) -> dict[str, Any]:
    return server.create_app("web", redirect_uris=[CB])


@pytest.fixture(scope="module")
def spa(server: LiveServer) -> dict[str, Any]:
    return server.create_app("spa", redirect_uris=[CB])


@pytest.fixture(scope="module")
def m2m(server: LiveServer) -> dict[str, Any]:
    return server.create_app("api_services")


def _authorize_raw(server: LiveServer, params: dict[str, str], raw: tuple[str, str]) -> Any:
    """GET authorize with ``params`` and one parameter whose value is written already encoded."""
    query = urlencode(params) + f"&{raw[0]}={raw[1]}"
    with server.client() as browser:
        return browser.get("/ws/oauth/authorize?" + query)


def _describable(text: str) -> bool:
    return all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text)


# -- finding 1: malformed parameters ------------------------------------------------------


# A double quote is printable ASCII: a valid state (RFC 6749 Appendix A.5).
MALFORMED = [
    pytest.param(param, char, id=f"{param}-{name}")
    for param in ("scope", "response_type", "response_mode", "state")
    for char, name in zip(BAD, BAD_IDS, strict=True)
    if not (param == "state" and char == "%22")
]


@pytest.mark.parametrize(("param", "char"), MALFORMED)
@pytest.mark.parametrize("platform", ["web", "spa"])
def test_a_malformed_authorize_parameter_is_redirected_as_invalid_request_without_sign_in(
    server: LiveServer,
    web: dict[str, Any],
    spa: dict[str, Any],
    platform: str,
    param: str,
    char: str,
) -> None:
    app = web if platform == "web" else spa
    params = {
        "response_type": "code" if platform == "web" else "token",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "state": "s",
        "scope": "monitoring",
        "response_mode": "query",
    }
    value = urlencode({param: params.pop(param)}).split("=", 1)[1] + char
    response = _authorize_raw(server, params, (param, value))
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    assert location.startswith(CB + "?")
    query = query_of(location)
    assert query["error"] == "invalid_request"
    assert query["error_description"].startswith(f"The '{param}' parameter holds a character")
    assert _describable(query["error_description"])
    assert query.get("state") == (None if param == "state" else "s")


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
def test_a_malformed_response_type_before_the_redirect_uri_is_trusted_gets_the_error_page(
    server: LiveServer, web: dict[str, Any], char: str
) -> None:
    param = "response_type"
    params = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": "https://elsewhere.example.com/cb",
        "state": "s",
        "scope": "monitoring",
    }
    response = _authorize_raw(server, params, (param, "x" + char))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text


def test_a_code_challenge_with_a_final_newline_is_invalid_request(
    server: LiveServer, web: dict[str, Any]
) -> None:
    """RFC 7636 §4.2: 43 to 128 unreserved characters (Authlib's own pattern lets a final
    newline through, and the code could then never be redeemed)."""
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": CB,
        "state": "s",
        "code_challenge_method": "S256",
    }
    response = _authorize_raw(server, params, ("code_challenge", challenge + "%0A"))
    assert response.status_code == 307, response.text
    assert query_of(response.headers["location"]) == {
        "error": "invalid_request",
        "error_description": "The 'code_challenge' parameter holds a character it may not: use "
        "43 to 128 letters, digits and the characters - . _ ~ (RFC 7636 section 4.2).",
        "state": "s",
        "iss": server.base_url,
    }


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
def test_a_signed_in_user_meets_the_same_error_not_a_500(
    server: LiveServer, web: dict[str, Any], char: str
) -> None:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": CB,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with server.client() as browser:
        assert authorize(browser, params, user=server.user()).status_code == 307
        for param in ("scope", "state", "response_mode"):
            if param == "state" and char == "%22":
                continue  # printable ASCII: a valid state
            others = urlencode({k: v for k, v in params.items() if k != param})
            response = browser.get(f"/ws/oauth/authorize?{others}&{param}=x{char}")
            assert response.status_code == 307, response.text
            assert query_of(response.headers["location"])["error"] == "invalid_request"


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "refresh"])
def test_a_malformed_scope_at_the_token_endpoint_is_invalid_request_json(
    server: LiveServer, m2m: dict[str, Any], web: dict[str, Any], grant_type: str, char: str
) -> None:
    if grant_type == "client_credentials":
        form = f"grant_type=client_credentials&client_id={m2m['client_id']}"
        form += f"&client_secret={m2m['client_secret']}"
    elif grant_type == "authorization_code":
        form = f"grant_type=authorization_code&code=c&redirect_uri={CB}"
        form += f"&client_id={web['client_id']}&client_secret={web['client_secret']}"
    else:
        tokens = _tokens(server, web, "monitoring offline_access")
        form = f"grant_type=refresh_token&refresh_token={tokens['refresh_token']}"
        form += f"&client_id={web['client_id']}&client_secret={web['client_secret']}"
    with server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            content=form + "&scope=monitoring" + char,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    body = assert_oauth_error(response, 400, "invalid_request")
    assert body["error_description"].startswith("The 'scope' parameter holds a character")


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
def test_an_unsupported_grant_type_with_a_bad_character_is_not_repeated(
    server: LiveServer, m2m: dict[str, Any], char: str
) -> None:
    with server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            content=f"grant_type=pass{char}word",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        )
    assert_oauth_error(
        response,
        400,
        "unsupported_grant_type",
        "Unsupported grant_type: it is not a grant type's name or URI (RFC 6749 appendix "
        "A.10); use authorization_code, client_credentials or refresh_token.",
    )


# -- finding 3: a missing grant_type ------------------------------------------------------


def test_a_missing_grant_type_is_invalid_request(server: LiveServer, m2m: dict[str, Any]) -> None:
    with server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={"scope": "monitoring"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Missing 'grant_type'; use authorization_code, client_credentials or refresh_token.",
    )


# -- finding 2: introspection ------------------------------------------------------------


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


def _introspect(server: LiveServer, caller: dict[str, Any], token: str) -> dict[str, Any]:
    with server.client() as http:
        response = http.post(
            "/ws/oauth/introspect",
            data={"token": token},
            auth=(caller["client_id"], caller["client_secret"]),
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_introspection_answers_only_for_the_tokens_the_caller_may_see(
    served: tuple[LiveServer, dict[str, Any]], web: dict[str, Any], m2m: dict[str, Any]
) -> None:
    server, resource_server = served
    tokens = _tokens(server, web, "monitoring offline_access")
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    # Its own tokens, both kinds.
    assert _introspect(server, web, access)["active"] is True
    assert _introspect(server, web, refresh)["active"] is True
    # Another app: nothing, of either kind (it was told everything before).
    assert _introspect(server, m2m, access) == {"active": False}
    assert _introspect(server, m2m, refresh) == {"active": False}
    # The resource server: the access token, never the refresh token.
    seen = _introspect(server, resource_server, access)
    assert (seen["active"], seen["client_id"], seen["token_type"]) == (
        True,
        web["client_id"],
        "bearer",
    )
    assert _introspect(server, resource_server, refresh) == {"active": False}


# -- finding 4: a refresh that drops offline_access --------------------------------------


def _refresh(server: LiveServer, app: dict[str, Any], token: str, **extra: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": token, **extra},
            auth=(app["client_id"], app["client_secret"]),
        )


def test_a_refresh_that_drops_offline_access_returns_no_refresh_token(
    server: LiveServer, web: dict[str, Any]
) -> None:
    first = _tokens(server, web, "monitoring management offline_access")
    narrowed = _refresh(server, web, first["refresh_token"], scope="monitoring management")
    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    assert "refresh_token" not in body
    assert body["scope"] == "monitoring management"
    with server.client() as http:
        api = http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert api.status_code == 200
        # The refresh token it used was rotated: using it again is a reuse, which revokes the
        # family, the access token just issued included.
        assert_oauth_error(_refresh(server, web, first["refresh_token"]), 400, "invalid_grant")
        after = http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert after.status_code == 401


def test_the_server_log_holds_no_unexpected_error(server: LiveServer) -> None:
    # Every request of this module was answered without an unexpected exception.
    assert "unexpected" not in server.log_text()
