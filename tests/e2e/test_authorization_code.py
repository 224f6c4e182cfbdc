"""Authorization code flow (Web apps, with secret) and with PKCE (Native and SPA apps).

On SQLite: racing redemptions of one code are test_scale_out's, on both stores; a code's lifetime
is test_lifetimes'."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.flows import assert_oauth_error, authorize, pkce_pair, query_of
from tests.support.server import LiveServer

WEB_CB = "https://webapp.example.com/oauth/callback"
NATIVE_CB = "http://127.0.0.1/callback"
SPA_CB = "http://localhost:3000/callback"


@pytest.fixture(scope="module")
def web(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("web", name="Acme PSA Connector", redirect_uris=[WEB_CB])


@pytest.fixture(scope="module")
def native(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("native", name="Acme CLI", redirect_uris=[NATIVE_CB])


@pytest.fixture(scope="module")
def spa(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("spa", name="Acme Dashboard", redirect_uris=[SPA_CB])


def _code_params(app: dict[str, Any], redirect_uri: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": "monitoring offline_access",
        "state": "st-123",
        **extra,
    }


def test_web_app_gets_a_code_by_307_exchanges_it_and_refreshes(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        final = authorize(browser, _code_params(web, WEB_CB), user=sqlite_server.user())
    assert final.status_code == 307
    assert final.headers["location"].startswith(WEB_CB + "?")
    answer = query_of(final.headers["location"])
    assert set(answer) == {"code", "state", "iss"}
    assert answer["state"] == "st-123"
    assert answer["iss"] == sqlite_server.base_url

    with sqlite_server.client() as app:
        tokens = app.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": web["client_id"],
                "client_secret": web["client_secret"],
                "code": answer["code"],
                "redirect_uri": WEB_CB,
            },
        )
        assert tokens.status_code == 200
        body = tokens.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 3600
        assert body["scope"] == "monitoring offline_access"
        assert body["refresh_token"] != body["access_token"]

        api = app.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert api.status_code == 200

        refreshed = app.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(web["client_id"], web["client_secret"]),
        )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] not in (body["refresh_token"], body["access_token"])
    assert new["scope"] == "monitoring offline_access"


def test_consent_page_names_the_app_and_each_scope_in_words(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    _, challenge = pkce_pair()
    params = _code_params(spa, SPA_CB, code_challenge=challenge, code_challenge_method="S256")
    params["scope"] = "monitoring management control"
    with sqlite_server.client() as browser:
        login = browser.get("/ws/oauth/authorize", params=params)
        assert login.status_code == 200
        assert 'name="password"' in login.text
        assert login.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        from tests.support.flows import log_in

        after = log_in(browser, login, *sqlite_server.user())
        assert after.status_code == 303
        consent = browser.get(after.headers["location"])
    assert consent.status_code == 200
    assert "Acme Dashboard" in consent.text
    assert "Read-only access to monitoring data and organization structure" in consent.text
    assert "running scripts" in consent.text
    assert "Remote access to devices" in consent.text
    assert ">Allow<" in consent.text and ">Deny<" in consent.text


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_native_app_with_pkce_and_no_secret_on_any_loopback_port(
    sqlite_server: LiveServer, native: dict[str, Any], method: str
) -> None:
    verifier, challenge = pkce_pair(method)
    redirect = "http://127.0.0.1:53682/callback"  # RFC 8252 §7.3: any port
    params = _code_params(native, redirect, code_challenge=challenge, code_challenge_method=method)
    with sqlite_server.client() as browser:
        final = authorize(browser, params, user=sqlite_server.user())
    assert final.status_code == 307
    code = query_of(final.headers["location"])["code"]
    with sqlite_server.client() as app:
        tokens = app.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": native["client_id"],
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": redirect,
            },
        )
        assert tokens.status_code == 200, tokens.text
        assert "refresh_token" in tokens.json()
        refreshed = app.post(
            "/ws/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": native["client_id"],
                "refresh_token": tokens.json()["refresh_token"],
            },
        )
    assert refreshed.status_code == 200


def test_wrong_code_verifier_is_invalid_grant_and_does_not_burn_the_code(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    """Someone who intercepted the code but has no verifier (or redirect URI) is refused, and
    the app's own exchange then still succeeds: the code is consumed only by a request that
    passes every check."""
    verifier, challenge = pkce_pair()
    params = _code_params(spa, SPA_CB, code_challenge=challenge, code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "client_id": spa["client_id"]}
    with sqlite_server.client() as browser:
        code = query_of(authorize(browser, params, user=sqlite_server.user()).headers["location"])[
            "code"
        ]
        form["code"] = code
        wrong_verifier = browser.post(
            "/ws/oauth/token",
            data={**form, "code_verifier": pkce_pair()[0], "redirect_uri": SPA_CB},
        )
        wrong_redirect = browser.post(
            "/ws/oauth/token",
            data={**form, "code_verifier": verifier, "redirect_uri": SPA_CB + "/other"},
        )
        right = browser.post(
            "/ws/oauth/token", data={**form, "code_verifier": verifier, "redirect_uri": SPA_CB}
        )
        replay = browser.post(
            "/ws/oauth/token", data={**form, "code_verifier": verifier, "redirect_uri": SPA_CB}
        )
    assert_oauth_error(wrong_verifier, 400, "invalid_grant", "Code challenge failed.")
    assert_oauth_error(wrong_redirect, 400, "invalid_grant", "Invalid 'redirect_uri' in request.")
    assert right.status_code == 200, right.text
    assert_oauth_error(
        replay,
        400,
        "invalid_grant",
        "The code was already used; the tokens issued from it have been revoked.",
    )


def test_missing_code_verifier_is_invalid_request(
    sqlite_server: LiveServer, spa: dict[str, Any]
) -> None:
    _, challenge = pkce_pair()
    params = _code_params(spa, SPA_CB, code_challenge=challenge, code_challenge_method="S256")
    with sqlite_server.client() as browser:
        code = query_of(authorize(browser, params, user=sqlite_server.user()).headers["location"])[
            "code"
        ]
        response = browser.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": spa["client_id"],
                "code": code,
                "redirect_uri": SPA_CB,
            },
        )
    assert_oauth_error(response, 400, "invalid_request", "Missing 'code_verifier'")


def test_public_app_without_code_challenge_is_sent_back_with_invalid_request(
    sqlite_server: LiveServer, native: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        response = browser.get("/ws/oauth/authorize", params=_code_params(native, NATIVE_CB))
    assert response.status_code == 307
    assert query_of(response.headers["location"]) == {
        "error": "invalid_request",
        "error_description": "Public apps must send code_challenge (PKCE, S256 or plain).",
        "state": "st-123",
        "iss": sqlite_server.base_url,
    }


def test_replayed_code_is_refused_and_revokes_what_it_issued(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    with sqlite_server.client() as browser:
        code = query_of(
            authorize(browser, _code_params(web, WEB_CB), user=sqlite_server.user()).headers[
                "location"
            ]
        )["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB}
    auth = (web["client_id"], web["client_secret"])
    with sqlite_server.client() as app:
        first = app.post("/ws/oauth/token", data=form, auth=auth)
        assert first.status_code == 200
        replay = app.post("/ws/oauth/token", data=form, auth=auth)
        assert_oauth_error(
            replay,
            400,
            "invalid_grant",
            "The code was already used; the tokens issued from it have been revoked.",
        )
        api = app.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
        )
        assert api.status_code == 401
        assert 'error="invalid_token"' in api.headers["www-authenticate"]
        refresh = app.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
            auth=auth,
        )
        assert_oauth_error(refresh, 400, "invalid_grant")


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        (
            {"redirect_uri": "https://webapp.example.com/other"},
            "invalid_grant",
            "Invalid 'redirect_uri' in request.",
        ),
        (
            {"code": "not-a-code"},
            "invalid_grant",
            "The code is not valid: unknown, or issued to another app.",
        ),
        ({"code": None}, "invalid_request", "Missing 'code' in request."),
    ],
    ids=["other-redirect-uri", "unknown-code", "missing-code"],
)
def test_code_exchange_errors(
    sqlite_server: LiveServer,
    web: dict[str, Any],
    change: dict[str, Any],
    error: str,
    description: str,
) -> None:
    with sqlite_server.client() as browser:
        code = query_of(
            authorize(browser, _code_params(web, WEB_CB), user=sqlite_server.user()).headers[
                "location"
            ]
        )["code"]
    form: dict[str, Any] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": WEB_CB,
    }
    form.update(change)
    with sqlite_server.client() as app:
        response = app.post(
            "/ws/oauth/token",
            data={k: v for k, v in form.items() if v is not None},
            auth=(web["client_id"], web["client_secret"]),
        )
    assert_oauth_error(response, 400, error, description)


def test_code_of_one_app_cannot_be_redeemed_by_another(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    other = sqlite_server.create_app("web", redirect_uris=[WEB_CB])
    with sqlite_server.client() as browser:
        code = query_of(
            authorize(browser, _code_params(web, WEB_CB), user=sqlite_server.user()).headers[
                "location"
            ]
        )["code"]
        response = browser.post(
            "/ws/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB},
            auth=(other["client_id"], other["client_secret"]),
        )
    assert_oauth_error(response, 400, "invalid_grant")


def test_consent_is_remembered_for_the_same_or_fewer_scopes_and_asked_again_for_more(
    sqlite_server: LiveServer,
) -> None:
    app = sqlite_server.create_app("web", redirect_uris=[WEB_CB])
    params = _code_params(app, WEB_CB, scope="monitoring")
    with sqlite_server.client() as browser:
        assert authorize(browser, params, user=sqlite_server.user()).status_code == 307
        again = browser.get("/ws/oauth/authorize", params=params)
        assert again.status_code == 307
        assert "code" in query_of(again.headers["location"])
        wider = browser.get(
            "/ws/oauth/authorize", params={**params, "scope": "monitoring management"}
        )
        assert wider.status_code == 200
        assert ">Allow<" in wider.text


def test_deny_sends_access_denied_with_state(sqlite_server: LiveServer) -> None:
    app = sqlite_server.create_app("web", redirect_uris=[WEB_CB])
    with sqlite_server.client() as browser:
        final = authorize(
            browser, _code_params(app, WEB_CB), user=sqlite_server.user(), button="Deny"
        )
    assert final.status_code == 307
    assert query_of(final.headers["location"]) == {
        "error": "access_denied",
        "error_description": "The user denied the request.",
        "state": "st-123",
        "iss": sqlite_server.base_url,
    }


def test_client_secret_in_the_authorize_query_is_checked_when_sent(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    params = _code_params(web, WEB_CB, client_secret=web["client_secret"])
    with sqlite_server.client() as browser:
        ok = authorize(browser, params, user=sqlite_server.user())
        assert ok.status_code == 307
        assert "code" in query_of(ok.headers["location"])
        bad = browser.get("/ws/oauth/authorize", params={**params, "client_secret": "wrong"})
    assert bad.status_code == 400
    assert "text/html" in bad.headers["content-type"]
    assert "invalid_client" in bad.text
    assert "location" not in bad.headers
    assert web["client_secret"] not in bad.text
