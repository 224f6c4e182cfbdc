"""Authorize errors: fatal ones get an error page and never a redirect; the rest a 307."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.flows import decide, log_in, parse_form, query_of
from tests.support.server import LiveServer

CB = "https://app.example.com/cb"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def web(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("web", redirect_uris=[CB], scopes=["monitoring"])


@pytest.fixture(scope="module")
def m2m(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("api_services")


def _code_request(app: dict[str, Any]) -> dict[str, str]:
    """A code request of ``app`` to CB, which it registered."""
    return {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CB}


def _get(server: LiveServer, **params: str) -> Any:
    with server.client() as browser:
        return browser.get("/ws/oauth/authorize", params=params)


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (
            {"client_id": "no-such-app", "redirect_uri": CB},
            "The client does not exist on this server.",
        ),
        ({"client_id": None, "redirect_uri": CB}, "Missing &#39;client_id&#39; parameter."),
        ({"redirect_uri": "https://evil.example.com/cb"}, "redirect_uri"),
        ({"redirect_uri": CB + "/extra"}, "redirect_uri"),
        ({"redirect_uri": None}, "redirect_uri"),
    ],
    ids=["unknown-client", "no-client-id", "other-host", "not-exact", "no-redirect-uri"],
)
def test_fatal_authorize_errors_show_a_page_and_never_redirect(
    sqlite_server: LiveServer, web: dict[str, Any], params: dict[str, Any], text: str
) -> None:
    query = {"response_type": "code", "client_id": web["client_id"], "state": "s", **params}
    response = _get(sqlite_server, **{k: v for k, v in query.items() if v is not None})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "This sign-in request cannot be accepted" in response.text
    assert text in response.text


@pytest.mark.parametrize(
    ("params", "error", "description"),
    [
        (
            {"scope": "control"},
            "invalid_scope",
            "The app is not configured for the scope 'control'.",
        ),
        ({"scope": "bogus"}, "invalid_scope", "The app is not configured for the scope 'bogus'."),
        ({"response_type": "token"}, "unauthorized_client", None),
        ({"response_type": "id_token"}, "unsupported_response_type", None),
        (
            {"response_mode": "form_post"},
            "invalid_request",
            "Unsupported response_mode 'form_post': use 'query' or 'fragment'.",
        ),
        (
            {"code_challenge": "short", "code_challenge_method": "S256"},
            "invalid_request",
            "Invalid 'code_challenge'",
        ),
        (
            {"code_challenge": "a" * 43, "code_challenge_method": "S512"},
            "invalid_request",
            "Unsupported 'code_challenge_method'",
        ),
    ],
    ids=[
        "scope-not-configured",
        "unknown-scope",
        "implicit-not-allowed",
        "unknown-response-type",
        "bad-response-mode",
        "bad-challenge",
        "bad-challenge-method",
    ],
)
def test_redirectable_authorize_errors_come_back_by_307_with_state_and_iss(
    sqlite_server: LiveServer,
    web: dict[str, Any],
    params: dict[str, str],
    error: str,
    description: str | None,
) -> None:
    query = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": CB,
        "state": "xyz",
        **params,
    }
    response = _get(sqlite_server, **query)
    assert response.status_code == 307
    assert response.headers["location"].startswith(CB + "?")
    answer = query_of(response.headers["location"])
    assert answer["error"] == error
    assert answer["state"] == "xyz"
    assert answer["iss"] == sqlite_server.base_url
    if description is not None:
        assert answer["error_description"] == description


def test_an_api_services_app_cannot_use_the_authorize_endpoint(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    response = _get(
        sqlite_server, response_type="code", client_id=m2m["client_id"], redirect_uri=CB
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_an_expired_or_foreign_request_id_gets_a_page(sqlite_server: LiveServer) -> None:
    response = _get(sqlite_server, request_id="not-a-real-request")
    assert response.status_code == 400
    assert "This sign-in request has expired" in response.text


def test_login_form_without_its_csrf_token_is_refused(sqlite_server: LiveServer) -> None:
    email, password = sqlite_server.user()
    with sqlite_server.client() as browser:
        response = browser.post("/ws/oauth/login", data={"email": email, "password": password})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert password not in response.text


@pytest.mark.parametrize(
    "token", [b"%C3%A9", b"%FF"], ids=["non-ascii-csrf-token", "non-utf8-csrf-token"]
)
@pytest.mark.parametrize("path", ["/ws/oauth/login", "/admin/login", "/account/login"])
def test_a_non_ascii_csrf_token_is_refused_as_a_wrong_one(
    sqlite_server: LiveServer, web: dict[str, Any], path: str, token: bytes
) -> None:
    """A CSRF token is compared in constant time; one with a non-ASCII character (or a sign-in
    cookie with one) is a wrong token, never an error of the server."""
    email, password = sqlite_server.user()
    with sqlite_server.client() as browser:
        if path == "/ws/oauth/login":  # the sign-in cookie comes with the authorize page
            opened = browser.get(
                "/ws/oauth/authorize",
                params=_code_request(web),
            )
        else:
            opened = browser.get(path)
        assert opened.status_code == 200 and browser.cookies
        body = (
            b"csrf_token=" + token + b"&email=" + email.encode() + b"&password=" + password.encode()
        )
        form = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Sec-Fetch-Site": "same-origin",
        }
        answered = browser.post(path, content=body, headers=form)
        name = next(iter(browser.cookies.keys())).encode()
    with sqlite_server.client() as other:  # its sign-in cookie sent raw: httpx's jar is ASCII
        cookie = {"Cookie": name + "=é".encode()}
        with_cookie = other.post(path, content=b"csrf_token=abc", headers={**form, **cookie})
    for response in (answered, with_cookie):
        assert response.status_code == 400, response.text
        assert "This form has expired" in response.text


def test_token_endpoint_wants_post_and_form_encoding(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as http:
        get = http.get("/ws/oauth/token")
        as_json = http.post("/ws/oauth/token", json={"grant_type": "client_credentials"})
    assert get.status_code == 405
    assert get.json()["error"] == "invalid_request"
    assert as_json.status_code == 400
    assert as_json.json() == {
        "error": "invalid_request",
        "error_description": "Send the parameters form-urlencoded (application/x-www-form-urlencoded).",
    }


def test_the_session_cookie_is_signed_httponly_and_samesite_lax(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    params = _code_request(web)
    with sqlite_server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=params)
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("ninja_oauth_signin=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # the issuer is http://127.0.0.1 here; https sets Secure
    # Signed: a value that was not issued by the server is ignored (a fresh session starts).
    with sqlite_server.client(cookies={"ninja_oauth_signin": "forged"}) as browser:
        again = browser.get("/ws/oauth/authorize", params=params)
    assert 'name="password"' in again.text


def test_a_consent_with_both_decisions_is_no_answer(
    sqlite_server: LiveServer, web: dict[str, Any]
) -> None:
    """Allow and Deny sent together are refused, and the request still waits for one."""
    params = _code_request(web)
    with sqlite_server.client() as browser:
        login = browser.get("/ws/oauth/authorize", params=params)
        signed_in = log_in(browser, login, *sqlite_server.user())
        consent_page = browser.get(signed_in.headers["location"])
        form = parse_form(consent_page.text)
        assert form.action is not None
        both = [*form.fields.items(), ("decision", "deny"), ("decision", "allow")]
        refused = browser.post(form.action, content=urlencode(both), headers=FORM_HEADERS)
        allowed = decide(browser, consent_page, "Allow")
    assert refused.status_code == 400
    assert "No decision was sent" in refused.text
    assert allowed.status_code == 303
