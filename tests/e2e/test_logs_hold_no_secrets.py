"""Secrets never appear in the server's log (DESIGN §5, §6): run every flow against a live server,
keep every secret, token, code and password that went over the wire, stop the server, and look
for each of them in what it wrote to stdout and stderr."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import flows
from tests.support.server import LiveServer, start_server

CALLBACK = "http://127.0.0.1/callback"


class Secrets:
    """Everything that must never be logged, by what it is (so a failure names the leak)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def keep(self, name: str, value: str | None) -> str:
        assert value, f"{name} is empty: the flow did not produce it"
        assert name not in self.values, name
        self.values[name] = value
        return value

    def keep_tokens(self, prefix: str, body: dict[str, Any]) -> dict[str, Any]:
        self.keep(f"{prefix} access_token", body["access_token"])
        if "refresh_token" in body:
            self.keep(f"{prefix} refresh_token", body["refresh_token"])
        return body


def _post(http: httpx.Client, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    return http.post(path, data=data, **kwargs)


def _client_credentials(server: LiveServer, kept: Secrets, app: dict[str, Any]) -> None:
    secret = app["client_secret"]
    with server.client() as http:
        in_form = _post(
            http,
            "/ws/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": secret,
            },
        )
        assert in_form.status_code == 200, in_form.text
        kept.keep_tokens("client_credentials (form)", in_form.json())

        basic = _post(
            http,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            auth=(app["client_id"], secret),
        )
        assert basic.status_code == 200, basic.text
        kept.keep_tokens("client_credentials (basic)", basic.json())

        wrong = kept.keep("wrong client_secret", "wrong-" + secrets.token_urlsafe(24))
        refused = _post(
            http,
            "/ws/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": wrong,
            },
        )
        flows.assert_oauth_error(refused, 400, "invalid_client")

        # A secret in the URL query is refused, and must not be logged with the path either.
        in_query = _post(
            http,
            "/ws/oauth/token",
            {"grant_type": "client_credentials", "client_id": app["client_id"]},
            params={"client_secret": secret},
        )
        flows.assert_oauth_error(in_query, 400, "invalid_request")


def _authorization_code_with_secret_in_the_query(
    server: LiveServer, kept: Secrets, app: dict[str, Any]
) -> None:
    """The documents' flow for a private (web) app: client_secret on the authorize request."""
    secret = app["client_secret"]
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "client_secret": secret,
        "redirect_uri": CALLBACK,
        "scope": "monitoring offline_access",
        "state": kept.keep("web state", secrets.token_urlsafe(16)),
    }
    with server.client() as browser:
        response = flows.authorize(browser, params, user=server.user())
        assert response.status_code == 307, response.text
        for name, value in browser.cookies.items():
            kept.keep(f"session cookie {name}", value)
        # A wrong client_secret on the authorize request gets the error page, never a redirect.
        wrong_secret = kept.keep("wrong authorize client_secret", secrets.token_urlsafe(24))
        wrong = browser.get("/ws/oauth/authorize", params={**params, "client_secret": wrong_secret})
        assert wrong.status_code == 400, wrong.text
    code = kept.keep("web code", flows.query_of(response.headers["location"])["code"])

    with server.client() as http:
        issued = _post(
            http,
            "/ws/oauth/token",
            {
                "grant_type": "authorization_code",
                "client_id": app["client_id"],
                "client_secret": secret,
                "code": code,
                "redirect_uri": CALLBACK,
            },
        )
        assert issued.status_code == 200, issued.text
        tokens = kept.keep_tokens("authorization_code", issued.json())

        refreshed = _post(
            http,
            "/ws/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(app["client_id"], secret),
        )
        assert refreshed.status_code == 200, refreshed.text
        rotated = kept.keep_tokens("refresh", refreshed.json())

        # A replayed code and a reused refresh token: refused, and their values not logged.
        replay = _post(
            http,
            "/ws/oauth/token",
            {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
            auth=(app["client_id"], secret),
        )
        flows.assert_oauth_error(replay, 400, "invalid_grant")
        bogus = kept.keep("unknown code", secrets.token_urlsafe(32))
        unknown = _post(
            http,
            "/ws/oauth/token",
            {"grant_type": "authorization_code", "code": bogus, "redirect_uri": CALLBACK},
            auth=(app["client_id"], secret),
        )
        flows.assert_oauth_error(unknown, 400, "invalid_grant")

        revoked = _post(
            http,
            "/ws/oauth/revoke",
            {"token": rotated["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(app["client_id"], secret),
        )
        assert revoked.status_code == 200, revoked.text
        api = http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {rotated['access_token']}"}
        )
        assert api.status_code == 401


def _native_with_pkce(server: LiveServer, kept: Secrets) -> None:
    app = server.create_app("native", redirect_uris=[CALLBACK], scopes=["monitoring"])
    verifier, challenge = flows.pkce_pair("S256")
    kept.keep("code_verifier", verifier)
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "monitoring",
        "state": "native",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with server.client() as browser:
        response = flows.authorize(browser, params, user=server.user())
    assert response.status_code == 307, response.text
    code = kept.keep("native code", flows.query_of(response.headers["location"])["code"])
    with server.client() as http:
        issued = _post(
            http,
            "/ws/oauth/token",
            {
                "grant_type": "authorization_code",
                "client_id": app["client_id"],
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
    assert issued.status_code == 200, issued.text
    kept.keep_tokens("native", issued.json())


def _implicit(server: LiveServer, kept: Secrets) -> str:
    app = server.create_app("spa", redirect_uris=[CALLBACK], scopes=["monitoring"])
    params = {
        "response_type": "token",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "monitoring",
        "state": "implicit",
    }
    with server.client() as browser:
        response = flows.authorize(browser, params, user=server.user())
    assert response.status_code == 307, response.text
    # The documents: the implicit grant's token is in the query of the 307 (DESIGN §5).
    answer = flows.query_of(response.headers["location"])
    return kept.keep("implicit access_token", answer["access_token"])


def _revoke_and_introspect(
    server: LiveServer, kept: Secrets, m2m: dict[str, Any], implicit_token: str
) -> None:
    with server.client() as http:
        auth = (m2m["client_id"], m2m["client_secret"])
        # Another app's token, which it may not see (RFC 7662 §4; issue 12: it was described).
        hidden = _post(http, "/ws/oauth/introspect", {"token": implicit_token}, auth=auth)
        assert hidden.status_code == 200, hidden.text
        assert hidden.json() == {"active": False}
        issued = _post(http, "/ws/oauth/token", {"grant_type": "client_credentials"}, auth=auth)
        assert issued.status_code == 200, issued.text
        token = kept.keep_tokens("to revoke", issued.json())["access_token"]
        active = _post(http, "/ws/oauth/introspect", {"token": token}, auth=auth)
        assert active.json()["active"] is True
        revoked = _post(
            http,
            "/oauth/revoke",
            {
                "token": token,
                "client_id": m2m["client_id"],
                "client_secret": m2m["client_secret"],
            },
        )
        assert revoked.status_code == 200, revoked.text
        inactive = _post(http, "/oauth/introspect", {"token": token}, auth=auth)
        assert inactive.json() == {"active": False}


def _failed_logins(server: LiveServer, kept: Secrets, app: dict[str, Any]) -> None:
    email, password = server.user()
    kept.keep("user password", password)
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "state": "fail",
    }
    attempts = [
        (email, kept.keep("wrong password", "wrong-" + secrets.token_urlsafe(16))),
        ("nobody@example.com", kept.keep("unknown user's password", secrets.token_urlsafe(16))),
    ]
    with server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=params)
        assert page.status_code == 200
        assert 'name="password"' in page.text
        for login, wrong in attempts:
            failed = flows.log_in(browser, page, login, wrong)
            assert failed.status_code == 401, failed.text
            assert "The email or password is not correct." in failed.text
            page = failed


def _admin_api(server: LiveServer, kept: Secrets) -> None:
    """Secrets made by the admin API: an app's, answered once, and the one rotated in."""
    create = ["apps", "create", "--name", "Admin script", "--platform", "api_services"]
    admin_app = json.loads(server.cli(*create, "--admin", "--json").stdout)
    kept.keep("admin app client_secret", admin_app["client_secret"])
    bearer = kept.keep("admin token", server.client_credentials_token(admin_app, "admin"))
    with server.client(headers={"Authorization": f"Bearer {bearer}"}) as http:
        created = http.post(
            "/admin/api/apps", json={"name": "Made by the API", "platform": "api_services"}
        )
        assert created.status_code == 201, created.text
        app = created.json()
        kept.keep("admin API client_secret", app["client_secret"])
        rotated = http.post(f"/admin/api/apps/{app['client_id']}/secret")
        assert rotated.status_code == 200, rotated.text
    app["client_secret"] = kept.keep("admin API rotated secret", rotated.json()["client_secret"])
    kept.keep("admin API app's token", server.client_credentials_token(app))


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with its access log on (it is off by default)."""
    tmp = tmp_path_factory.mktemp("server")
    live = start_server(f"sqlite:///{tmp / 'ninja-oauth.db'}", tmp, NINJA_OAUTH_ACCESS_LOG="true")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def traffic(logged_server: LiveServer) -> tuple[str, dict[str, str]]:
    """Run every flow, then stop the server (flushing its log); returns (log, secrets)."""
    kept = Secrets()
    m2m = logged_server.create_app("api_services", scopes=["monitoring"])
    kept.keep("api_services client_secret", m2m["client_secret"])
    web = logged_server.create_app("web", redirect_uris=[CALLBACK], scopes=["monitoring"])
    kept.keep("web client_secret", web["client_secret"])
    _client_credentials(logged_server, kept, m2m)
    _authorization_code_with_secret_in_the_query(logged_server, kept, web)
    _native_with_pkce(logged_server, kept)
    implicit_token = _implicit(logged_server, kept)
    _revoke_and_introspect(logged_server, kept, m2m, implicit_token)
    _failed_logins(logged_server, kept, web)
    _admin_api(logged_server, kept)
    logged_server.stop()
    return logged_server.log_text(), kept.values


def test_the_log_recorded_the_requests(traffic: tuple[str, dict[str, str]]) -> None:
    log, _ = traffic
    for line in [
        '"POST /ws/oauth/token" 200',
        '"POST /ws/oauth/token" 400',
        '"POST /oauth/token" 200',
        '"GET /ws/oauth/authorize" 307',
        '"GET /ws/oauth/authorize" 400',
        '"POST /ws/oauth/login" 303',
        '"POST /ws/oauth/login" 401',
        '"POST /ws/oauth/consent" 303',
        '"POST /ws/oauth/revoke" 200',
        '"POST /oauth/revoke" 200',
        '"POST /ws/oauth/introspect" 200',
        '"GET /v2/organizations" 401',
        '"POST /admin/api/apps" 201',
        '"POST /admin/api/apps/',
    ]:
        assert line in log, f"{line!r} is not in the server log:\n{log}"


def test_no_secret_token_code_or_password_is_in_the_log(
    traffic: tuple[str, dict[str, str]],
) -> None:
    log, kept = traffic
    assert len(kept) >= 20
    # The first 16 characters too: a truncated secret in a log is still a leak.
    leaked = sorted(name for name, value in kept.items() if value in log or value[:16] in log)
    assert leaked == [], f"the server log holds: {', '.join(leaked)}"


def test_no_query_string_of_the_authorize_endpoint_is_in_the_log(
    traffic: tuple[str, dict[str, str]],
) -> None:
    log, _ = traffic
    assert "/oauth/authorize" in log
    for marker in ("authorize?", "request_id=", "client_id=", "redirect_uri=", "code_challenge="):
        assert marker not in log, f"{marker!r} in the server log:\n{log}"
