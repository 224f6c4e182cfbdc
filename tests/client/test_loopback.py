"""The one-shot loopback receiver of `login` (RFC 8252 §7.3)."""

from __future__ import annotations

import re
import threading
from collections import Counter

import httpx
import pytest

from ninja_oauth.client import (
    AccessDenied,
    IssuerMismatch,
    LoginTimeout,
    LoopbackReceiver,
    NinjaOAuth,
    StateMismatch,
    TokenCache,
)
from ninja_oauth.client.flows import (
    AuthorizationRequest,
    authorization_request,
    code_from_callback,
)

from .authlib_server import RunningServer


def test_it_listens_on_127_0_0_1_on_an_ephemeral_port() -> None:
    with LoopbackReceiver() as receiver:
        assert receiver.port > 0
        assert receiver.redirect_uri == f"http://127.0.0.1:{receiver.port}/callback"


def test_only_the_callback_with_the_expected_state_is_accepted() -> None:
    with LoopbackReceiver() as receiver:
        receiver.expected_state = "s1"
        base = f"http://127.0.0.1:{receiver.port}"

        other_path = httpx.get(f"{base}/favicon.ico")
        forged = httpx.get(f"{base}/callback", params={"code": "evil", "state": "s0"})
        real = httpx.get(f"{base}/callback", params={"code": "c1", "state": "s1"})
        replay = httpx.get(f"{base}/callback", params={"code": "c2", "state": "s1"})

        params = receiver.wait(timeout=5)

    assert [r.status_code for r in (other_path, forged, real, replay)] == [404, 400, 200, 400]
    assert "You can close this window." in real.text
    assert real.headers["cache-control"] == "no-store"
    assert params == {"code": "c1", "state": "s1"}


def test_no_callback_in_time_is_login_timeout() -> None:
    with LoopbackReceiver() as receiver, pytest.raises(LoginTimeout) as raised:
        receiver.wait(timeout=0.2)

    assert str(raised.value) == "no login callback within 0.2 seconds"


def test_a_waiting_login_wakes_when_the_browser_arrives() -> None:
    with LoopbackReceiver() as receiver:
        receiver.expected_state = "s1"
        url = f"http://127.0.0.1:{receiver.port}/callback?code=c1&state=s1"
        threading.Timer(0.2, httpx.get, args=(url,)).start()

        assert receiver.wait(timeout=5) == {"code": "c1", "state": "s1"}


def test_a_denied_login_is_access_denied_and_no_token_request(
    authlib_server: RunningServer, token_cache: TokenCache
) -> None:
    client = authlib_server.add_client(
        public=True,
        grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1/callback"],
        deny=True,
    )
    auth = NinjaOAuth.authorization_code(
        base_url=authlib_server.base_url,
        client_id=client.client_id,
        cache=token_cache,
        **authlib_server.urls,
    )
    pages: list[str] = []

    def browser(url: str) -> None:
        pages.append(httpx.get(url, follow_redirects=True).text)

    with pytest.raises(AccessDenied):
        auth.login(open_browser=browser, timeout=10)

    assert "Login failed" in pages[0]
    assert client.token_requests == Counter()
    assert token_cache.client_ids(authlib_server.base_url) == []


REQUEST = AuthorizationRequest(
    url="https://ninja.example/ws/oauth/authorize?...",
    state="s1",
    redirect_uri="http://127.0.0.1:5000/callback",
)


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:5000/callback?code=c1&state=s1",
        "?code=c1&state=s1",
        "code=c1&state=s1",
        {"code": "c1", "state": "s1"},
    ],
    ids=["url", "query-with-mark", "query", "mapping"],
)
def test_the_callback_may_be_a_url_a_query_string_or_a_mapping(callback: object) -> None:
    assert code_from_callback(callback, REQUEST) == "c1"  # type: ignore[arg-type]


def test_an_error_with_a_foreign_state_is_a_state_mismatch_not_the_error() -> None:
    with pytest.raises(StateMismatch):
        code_from_callback({"error": "access_denied", "state": "s0"}, REQUEST)


@pytest.mark.parametrize(
    "iss",
    [
        "https://ninja.example",
        "https://ninja.example/",
        "HTTPS://Ninja.Example:443",
    ],
)
def test_a_callback_from_the_server_asked_passes_its_iss_check(iss: str) -> None:
    callback = {"code": "c1", "state": "s1", "iss": iss}
    assert code_from_callback(callback, REQUEST) == "c1"


@pytest.mark.parametrize(
    "iss",
    [
        "https://attacker.example",
        "https://ninja.example.attacker.example",
        "https://ninja.example/tenant",
        "http://ninja.example",
        "https://",
        "",
    ],
)
def test_a_callback_naming_another_issuer_is_refused(iss: str) -> None:
    """RFC 9207 §2.4: a mix-up attack's callback (a code or an error) names its own issuer."""
    with pytest.raises(IssuerMismatch):
        code_from_callback({"code": "c1", "state": "s1", "iss": iss}, REQUEST)
    with pytest.raises(IssuerMismatch):
        code_from_callback({"error": "access_denied", "state": "s1", "iss": iss}, REQUEST)


def test_a_server_that_names_itself_otherwise_is_accepted_when_told() -> None:
    request = authorization_request(
        "http://localhost:8080/ws/oauth/authorize",
        "app",
        redirect_uri="http://127.0.0.1:5000/callback",
        scope=None,
        pkce=True,
        issuer="http://127.0.0.1:8080",
    )
    callback = {"code": "c1", "state": request.state, "iss": "http://127.0.0.1:8080"}
    assert code_from_callback(callback, request) == "c1"
    default = authorization_request(
        "http://localhost:8080/ws/oauth/authorize",
        "app",
        redirect_uri="http://127.0.0.1:5000/callback",
        scope=None,
        pkce=True,
    )
    with pytest.raises(
        IssuerMismatch,
        match=re.escape("give its exact value as issuer= (login --issuer from the CLI)"),
    ):
        code_from_callback({**callback, "state": default.state}, default)
