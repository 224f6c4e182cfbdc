"""Unchanged third-party OAuth clients (requests-oauthlib, Authlib) against the live server: the
contract that integration developers rely on (DESIGN §1, §4). On SQLite only: what is checked
here is the HTTP contract, not the store (tests/store and test_scale_out run both stores)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from tests.support import flows
from tests.support.server import LiveServer

CALLBACK = "http://127.0.0.1/callback"
TOKEN_KEYS = {"access_token", "token_type", "expires_in", "scope"}


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// endpoints; the test server is plain http on loopback. This is a
    client-side switch only, and only for the test that asks for it."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module")
def m2m(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("api_services", scopes=["monitoring", "management"])


@pytest.fixture(scope="module")
def web_app(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app(
        "web", redirect_uris=[CALLBACK], scopes=["monitoring", "management"]
    )


@pytest.fixture(scope="module")
def native_app(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("native", redirect_uris=[CALLBACK], scopes=["monitoring"])


def _drive_browser(server: LiveServer, authorization_url: str, redirect_uri: str = CALLBACK) -> str:
    """Log in and consent for the URL a client library built; returns the 307's Location."""
    split = urlsplit(authorization_url)
    assert split.path == "/ws/oauth/authorize"
    params = dict(parse_qsl(split.query))
    with server.client() as browser:
        response = flows.authorize(browser, params, user=server.user())
    assert response.status_code == 307, response.text
    location: str = response.headers["location"]
    assert location.startswith(redirect_uri + "?")
    return location


def _organizations(server: LiveServer, access_token: str) -> requests.Response:
    return requests.get(
        server.base_url + "/v2/organizations",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )


# -- requests-oauthlib ---------------------------------------------------------------------


@pytest.mark.usefixtures("insecure_transport")
def test_requests_oauthlib_backend_client_with_credentials_in_the_body(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=m2m["client_id"]))
    sent = _capture(session)

    token = session.fetch_token(
        sqlite_server.base_url + "/ws/oauth/token",
        client_id=m2m["client_id"],
        client_secret=m2m["client_secret"],
        include_client_id=True,
    )

    body = dict(parse_qsl(sent[0].request.body))  # type: ignore[arg-type]
    assert body["client_id"] == m2m["client_id"]
    assert body["client_secret"] == m2m["client_secret"]
    assert "Authorization" not in sent[0].request.headers
    # requests-oauthlib adds expires_at; client_credentials never returns a refresh token.
    assert set(token) == TOKEN_KEYS | {"expires_at"}
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == ["monitoring", "management"]
    response = session.get(sqlite_server.base_url + "/v2/organizations")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


@pytest.mark.usefixtures("insecure_transport")
def test_requests_oauthlib_backend_client_with_http_basic(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    session = OAuth2Session(
        client=BackendApplicationClient(client_id=m2m["client_id"]), scope=["monitoring"]
    )
    sent = _capture(session)

    token = session.fetch_token(
        sqlite_server.base_url + "/oauth/token",
        client_id=m2m["client_id"],
        client_secret=m2m["client_secret"],
        scope="monitoring",  # requests-oauthlib does not send the session's scope by itself
    )

    assert sent[0].request.headers["Authorization"].startswith("Basic ")
    body = dict(parse_qsl(sent[0].request.body))  # type: ignore[arg-type]
    assert "client_secret" not in body
    assert body["scope"] == "monitoring"
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == ["monitoring"]
    assert session.get(sqlite_server.base_url + "/v2/organizations").status_code == 200


@pytest.mark.usefixtures("insecure_transport")
def test_requests_oauthlib_backend_client_with_a_wrong_secret_gets_invalid_client(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    from oauthlib.oauth2.rfc6749.errors import InvalidClientError

    session = OAuth2Session(client=BackendApplicationClient(client_id=m2m["client_id"]))
    sent = _capture(session)
    with pytest.raises(InvalidClientError) as raised:
        session.fetch_token(
            sqlite_server.base_url + "/ws/oauth/token",
            client_id=m2m["client_id"],
            client_secret="not-the-secret",
            include_client_id=True,
        )
    assert sent[0].status_code == 400
    assert sent[0].headers["cache-control"] == "no-store"
    assert raised.value.description == "The client credentials are not valid: wrong client_secret."


@pytest.mark.usefixtures("insecure_transport")
def test_requests_oauthlib_web_application_client_with_pkce_s256(
    sqlite_server: LiveServer, web_app: dict[str, Any]
) -> None:
    session = OAuth2Session(
        web_app["client_id"],
        redirect_uri=CALLBACK,
        scope=["monitoring", "offline_access"],
        pkce="S256",
    )
    url, state = session.authorization_url(sqlite_server.base_url + "/ws/oauth/authorize")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43

    location = _drive_browser(sqlite_server, url)
    answer = flows.query_of(location)
    assert answer["state"] == state
    assert answer["iss"] == sqlite_server.base_url

    sent = _capture(session)
    token = session.fetch_token(
        sqlite_server.base_url + "/ws/oauth/token",
        authorization_response=location,
        client_secret=web_app["client_secret"],
    )

    body = dict(parse_qsl(sent[0].request.body))  # type: ignore[arg-type]
    assert body["grant_type"] == "authorization_code"
    assert len(body["code_verifier"]) >= 43
    assert sent[0].request.headers["Authorization"].startswith("Basic ")
    assert set(token) == TOKEN_KEYS | {"refresh_token", "expires_at"}
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == ["monitoring", "offline_access"]
    response = session.get(sqlite_server.base_url + "/v2/organizations")
    assert response.status_code == 200

    # The same code a second time: replay, refused, and the tokens issued from it are revoked.
    replay = requests.post(
        sqlite_server.base_url + "/ws/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": body["code_verifier"],
        },
        auth=(web_app["client_id"], web_app["client_secret"]),
        timeout=30,
    )
    assert replay.status_code == 400
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "The code was already used; the tokens issued from it have been "
        "revoked.",
    }
    assert _organizations(sqlite_server, token["access_token"]).status_code == 401


# -- Authlib's client ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_authlib_client_credentials(
    sqlite_server: LiveServer, m2m: dict[str, Any], method: str
) -> None:
    with AuthlibSession(
        m2m["client_id"],
        m2m["client_secret"],
        token_endpoint_auth_method=method,
        scope="monitoring",
    ) as session:
        sent = _capture(session)
        token = session.fetch_token(
            sqlite_server.base_url + "/ws/oauth/token", grant_type="client_credentials"
        )
        assert set(token) == TOKEN_KEYS | {"expires_at"}
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600
        assert token["scope"] == "monitoring"
        response = session.get(sqlite_server.base_url + "/v2/organizations")

    assert response.status_code == 200
    assert isinstance(response.json(), list)
    body = dict(parse_qsl(sent[0].request.body))  # type: ignore[arg-type]
    if method == "client_secret_post":
        assert body["client_secret"] == m2m["client_secret"]
        assert "Authorization" not in sent[0].request.headers
    else:
        assert "client_secret" not in body
        assert sent[0].request.headers["Authorization"].startswith("Basic ")


def test_authlib_client_credentials_with_a_wrong_secret_raises_invalid_client(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    from authlib.integrations.base_client.errors import OAuthError

    with (
        AuthlibSession(
            m2m["client_id"], "not-the-secret", token_endpoint_auth_method="client_secret_post"
        ) as session,
        pytest.raises(OAuthError) as raised,
    ):
        session.fetch_token(
            sqlite_server.base_url + "/ws/oauth/token", grant_type="client_credentials"
        )
    assert raised.value.error == "invalid_client"
    assert raised.value.description == "The client credentials are not valid: wrong client_secret."


@pytest.mark.parametrize("platform", ["web", "native"])
def test_authlib_authorization_code_with_pkce_then_rotating_refresh(
    sqlite_server: LiveServer, web_app: dict[str, Any], native_app: dict[str, Any], platform: str
) -> None:
    from authlib.common.security import generate_token

    app = web_app if platform == "web" else native_app
    # A confidential web app authenticates with Basic; a public native app with "none".
    auth_method = "client_secret_basic" if platform == "web" else "none"
    # RFC 8252 §7.3: a native app's loopback redirect may carry any port.
    redirect_uri = CALLBACK if platform == "web" else "http://127.0.0.1:53682/callback"
    verifier = generate_token(48)
    with AuthlibSession(
        app["client_id"],
        app["client_secret"],
        token_endpoint_auth_method=auth_method,
        scope="monitoring offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    ) as session:
        url, state = session.create_authorization_url(
            sqlite_server.base_url + "/ws/oauth/authorize", code_verifier=verifier
        )
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["code_challenge_method"] == "S256"
        assert query["code_challenge"] != verifier

        location = _drive_browser(sqlite_server, url, redirect_uri)
        assert flows.query_of(location)["state"] == state

        token = session.fetch_token(
            sqlite_server.base_url + "/ws/oauth/token",
            authorization_response=location,
            state=state,
            code_verifier=verifier,
        )
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600
        assert token["scope"] == "monitoring offline_access"
        assert token["refresh_token"]
        first_access, first_refresh = token["access_token"], token["refresh_token"]
        assert session.get(sqlite_server.base_url + "/v2/organizations").status_code == 200

        rotated = session.refresh_token(sqlite_server.base_url + "/ws/oauth/token")
        assert rotated["refresh_token"] != first_refresh
        assert rotated["access_token"] != first_access
        assert rotated["token_type"] == "bearer"
        assert rotated["expires_in"] == 3600
        assert rotated["scope"] == "monitoring offline_access"
        assert session.token["access_token"] == rotated["access_token"]
        response = session.get(sqlite_server.base_url + "/v2/organizations")
        assert response.status_code == 200
        assert isinstance(response.json(), list)

    # The rotated-out refresh token is dead: reusing it revokes the whole family (DESIGN §6).
    form = {"grant_type": "refresh_token", "refresh_token": first_refresh}
    if platform == "native":
        reuse = requests.post(
            sqlite_server.base_url + "/ws/oauth/token",
            data={**form, "client_id": app["client_id"]},
            timeout=30,
        )
    else:
        reuse = requests.post(
            sqlite_server.base_url + "/ws/oauth/token",
            data=form,
            auth=(app["client_id"], app["client_secret"]),
            timeout=30,
        )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert _organizations(sqlite_server, rotated["access_token"]).status_code == 401


def _capture(session: requests.Session) -> list[requests.Response]:
    """Keep the answer to every POST the session sends; ``.request`` is the request as it went
    on the wire (auth header included)."""
    sent: list[requests.Response] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.method == "POST":
            sent.append(response)

    session.hooks["response"].append(hook)
    return sent
