"""Issue 12's findings on the web side, over HTTP against a real server on both stores:
bounded pending sign-ins, body limits enforced while reading, sign-in and sign-out sessions,
redirect URIs the sign-in cookie would reach, and argon2's cost."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, func, select, text, update

from ninja_oauth.passwords import MEMORY_KIB, hash_password
from ninja_oauth.store.tables import apps, browser_sessions, pending_authorizations, users
from tests.support.flows import authorize, log_in, parse_form, pkce_pair
from tests.support.server import LiveServer, start_server

NATIVE_CB = "http://127.0.0.1/callback"
WEB_CB = "https://webapp.example.com/callback"
PER_BROWSER = 3
PER_ADDRESS = 5


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        database_url,
        tmp_path_factory.mktemp("hardening"),
        NINJA_OAUTH_PENDING_PER_BROWSER=str(PER_BROWSER),
        NINJA_OAUTH_PENDING_PER_ADDRESS=str(PER_ADDRESS),
        NINJA_OAUTH_MAX_BODY_BYTES="4096",
        NINJA_OAUTH_BODY_TIMEOUT="1",
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def db(server: LiveServer) -> Any:
    engine = create_engine(server.env["NINJA_OAUTH_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def native(server: LiveServer) -> dict[str, Any]:
    return server.create_app("native", redirect_uris=[NATIVE_CB])


@pytest.fixture(scope="module")
def web(server: LiveServer) -> dict[str, Any]:
    return server.create_app("web", redirect_uris=[WEB_CB])


def _params(app: dict[str, Any], redirect_uri: str = NATIVE_CB, **extra: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": "monitoring",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def _pending(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(pending_authorizations)).scalar())


def _clear_pending(db: Any) -> None:
    with db.begin() as conn:
        conn.execute(pending_authorizations.delete())


# -- 1. the pending sign-in table is bounded ------------------------------------------------


def test_one_browser_keeps_only_its_newest_sign_in_requests(
    server: LiveServer, db: Any, native: dict[str, Any]
) -> None:
    _clear_pending(db)
    with server.client() as browser:
        pages = [browser.get("/ws/oauth/authorize", params=_params(native)) for _ in range(6)]
        assert all(page.status_code == 200 for page in pages)
        assert _pending(db) == PER_BROWSER
        # The oldest request was dropped, as if abandoned; the newest still signs in.
        oldest = parse_form(pages[0].text).fields["request_id"]
        expired = browser.get("/ws/oauth/authorize", params={"request_id": oldest})
        assert expired.status_code == 400
        assert "This sign-in request has expired" in expired.text
        answer = log_in(browser, pages[-1], *server.user())
        assert answer.status_code == 303


def test_one_address_with_its_share_waiting_is_refused_and_others_keep_theirs(
    server: LiveServer, db: Any, native: dict[str, Any]
) -> None:
    """Refused, not evicted: one caller behind a shared address must not cancel the sign-ins
    that others there have in progress."""
    _clear_pending(db)
    with server.client() as first:
        page = first.get("/ws/oauth/authorize", params=_params(native))
        for _ in range(PER_ADDRESS - 1):
            with server.client() as anonymous:  # a new browser each time: no cookie
                started = anonymous.get("/ws/oauth/authorize", params=_params(native))
                assert started.status_code == 200
        with server.client() as flooder:
            refused = flooder.get("/ws/oauth/authorize", params=_params(native))
        assert refused.status_code == 429
        assert "Too many sign-ins in progress" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 600
        assert _pending(db) == PER_ADDRESS
        # The first browser's sign-in was not dropped to make room.
        assert log_in(first, page, *server.user()).status_code == 303


def test_a_sign_in_request_over_the_size_limit_is_refused_and_not_kept(
    server: LiveServer, db: Any, native: dict[str, Any]
) -> None:
    _clear_pending(db)
    with server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=_params(native, state="s" * 9000))
    assert page.status_code == 400
    assert "This sign-in request is too large" in page.text
    assert _pending(db) == 0


def test_expired_sign_in_requests_go_in_batches_through_an_index(
    server: LiveServer, db: Any, native: dict[str, Any]
) -> None:
    _clear_pending(db)
    with db.begin() as conn:
        conn.execute(
            pending_authorizations.insert(),
            [
                {
                    "id": f"expired-{i:04d}-xxxxxxxxxxxx",
                    "session_binding": "b",
                    "params": "{}",
                    "expires_at": 1,
                    "address": f"10.0.{i // 250}.{i % 250}",
                }
                for i in range(120)
            ],
        )
    with server.client() as browser:
        assert browser.get("/ws/oauth/authorize", params=_params(native)).status_code == 200
    # One new request deleted one batch (50) of the 120 expired rows, not all of them.
    assert _pending(db) == 1 + 70
    if db.dialect.name == "sqlite":
        with db.connect() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM pending_authorizations "
                        "WHERE expires_at <= 5 LIMIT 50"
                    )
                )
            )
        assert "ix_pending_authorizations_expires_at" in plan


# -- 2. bodies: limited while read, before authentication, and timed --------------------------


def _raw(server: LiveServer, request: bytes, *, pause_after: bool = False) -> bytes:
    """Send bytes on one connection; read the answer (the server may close early)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_a_huge_declared_body_without_a_token_is_refused_before_it_is_read(
    server: LiveServer,
) -> None:
    head = (
        b"POST /v2/organizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200000000\r\n\r\n{"
    )
    started = time.monotonic()
    answer = _raw(server, head)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"The request body is over 4096 bytes." in answer
    assert time.monotonic() - started < 5


def test_a_chunked_body_is_cut_off_at_the_limit(server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    with server.client() as http:
        response = http.post(
            "/v2/organizations", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_the_login_form_takes_at_most_64_kib(server: LiveServer) -> None:
    with server.client() as browser:
        response = browser.post(
            "/ws/oauth/login",
            data={"email": "a@example.com", "password": "p" * 70_000},
            headers={"Accept": "text/html"},
        )
    assert response.status_code == 413
    assert "The request could not be read" in response.text
    assert "p" * 100 not in response.text


def test_a_half_sent_body_is_answered_408_after_the_body_timeout(server: LiveServer) -> None:
    head = (
        b"POST /ws/oauth/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        b"grant_type=client"
    )
    started = time.monotonic()
    answer = _raw(server, head)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"did not arrive within 1 seconds" in answer
    assert 0.9 <= waited < 5


def test_a_body_within_the_limit_still_works(server: LiveServer) -> None:
    app = server.create_app("api_services", scopes=["monitoring", "management"])
    with server.client() as http:
        token = http.post(
            "/ws/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "management",
            },
        ).json()["access_token"]
        created = http.post(
            "/v2/organizations",
            json={"name": "Within the limit", "description": "d" * 1000},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert created.status_code == 200, created.text


# -- 3 and 5. the session: where its cookie goes, new at sign-in and out, ended on the server --


def test_the_cookie_of_before_for_path_slash_is_expired(
    server: LiveServer, native: dict[str, Any]
) -> None:
    """The cookie was ninja_oauth_session for / before it moved to /ws/oauth: a browser that
    still sends it has it expired (it would go on reaching loopback apps)."""
    with server.client(cookies={"ninja_oauth_session": "from-before"}) as browser:
        page = browser.get("/ws/oauth/authorize", params=_params(native))
    cookies = page.headers.get_list("set-cookie")
    assert any(
        c.startswith("ninja_oauth_session=;") and "Max-Age=0" in c and "Path=/;" in c
        for c in cookies
    ), cookies
    assert any(c.startswith("ninja_oauth_signin=") for c in cookies)


def test_the_cookie_is_scoped_to_the_protocol_prefix(
    server: LiveServer, native: dict[str, Any]
) -> None:
    with server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=_params(native))
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("ninja_oauth_signin=")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "path=/ws/oauth" in attributes
    assert "httponly" in attributes and "samesite=lax" in attributes


@pytest.mark.parametrize("cookie_path", ["/ws/oauth", "/admin", "/account"])
def test_a_redirect_uri_under_a_cookie_path_on_this_host_gets_no_redirect(
    server: LiveServer, db: Any, cookie_path: str
) -> None:
    """The sign-in cookie (/ws/oauth) and the console's (/admin) and account's (/account)
    cookies ignore ports: an app listening on another port under one of those paths would
    receive it, so such a redirect URI is refused on arrival."""
    port = server.base_url.rsplit(":", 1)[1]
    inside = f"http://127.0.0.1:{int(port) + 1}{cookie_path}/callback"
    app = server.create_app("web", redirect_uris=[inside])
    _clear_pending(db)
    with server.client() as browser:
        final = authorize(browser, _params(app, inside), user=server.user())
    # Refused on arrival: no sign-in asked, nothing kept, no code issued.
    assert final.status_code == 400
    assert "redirect URI is not allowed" in final.text
    assert "location" not in final.headers
    assert _pending(db) == 0


@pytest.mark.parametrize(
    "spelling",
    [
        "http://127.0.0.1:{port}/x/../ws/oauth/cb",
        "http://127.0.0.1:{port}/x/%2e%2e/admin/cb",
        "http://127.0.0.1:{port}/x/%2E./account",
        # The host as the browser reads it (WHATWG URL: %-decoded, UTS #46, IPv4 forms).
        "https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1:{port}/admin/cb",  # fullwidth digits
        "https://127%E3%80%820%E3%80%820%E3%80%821:{port}/ws/oauth/cb",  # ideographic stops
        "http://2130706433:{port}/account/cb",
        "http://0x7f.1:{port}/ws/oauth/cb",
    ],
)
def test_a_redirect_uri_reaching_a_cookie_path_once_resolved_gets_no_redirect(
    server: LiveServer, db: Any, spelling: str
) -> None:
    """The browser resolves dot-segments before it picks cookies: "/x/../ws/oauth/cb" gets the
    sign-in cookie; and it reads a host as one: 127.0.0.1 in fullwidth digits is 127.0.0.1.
    Registration refuses dot-segments and escaped hosts now; a URI registered before (written
    here into the row) is refused on arrival like the plain spelling."""
    port = int(server.base_url.rsplit(":", 1)[1]) + 1
    dotted = spelling.format(port=port)
    app = server.create_app("native", redirect_uris=[NATIVE_CB])
    with db.begin() as conn:
        conn.execute(
            update(apps)
            .where(apps.c.client_id == app["client_id"])
            .values(redirect_uris=json.dumps([dotted]))
        )
    _clear_pending(db)
    with server.client() as browser:
        final = authorize(browser, _params(app, dotted), user=server.user())
    assert final.status_code == 400
    assert "redirect URI is not allowed" in final.text
    assert "location" not in final.headers
    assert _pending(db) == 0


def test_a_sign_in_cookie_planted_for_slash_does_not_expire_the_form(
    server: LiveServer, db: Any, native: dict[str, Any]
) -> None:
    """Another app on this host can set ninja_oauth_signin for "/" (cookies ignore ports). A
    browser sends the cookie of the longer path first (RFC 6265 section 5.4): that one
    counts, and the sign-in goes on (before, the planted one won and the form "expired")."""
    with server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=_params(native))
        real = browser.cookies["ninja_oauth_signin"]
        browser.cookies.clear()
        cookies = {"Cookie": f"ninja_oauth_signin={real}; ninja_oauth_signin=planted"}
        answer = log_in(browser, page, *server.user(), headers=cookies)
    _clear_pending(db)  # this address's share of sign-ins in progress, for the next tests
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_sign_in_pages_refuse_a_post_another_site_sent(
    server: LiveServer, db: Any, web: dict[str, Any], site: str
) -> None:
    """A page on another port of this host can plant the sign-in cookie and post a login of
    its own (signing the victim in as the attacker): the browser's Sec-Fetch-Site gives it
    away, on the login, consent and sign-out forms alike."""
    elsewhere = {"Sec-Fetch-Site": site}
    with server.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=_params(web, WEB_CB))
        refused = log_in(browser, page, *server.user(), headers=elsewhere)
        assert refused.status_code == 400
        assert "This form has expired" in refused.text
        signed_in = log_in(browser, page, *server.user(), headers={"Sec-Fetch-Site": "same-origin"})
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(signed_in.headers["location"])
        form = parse_form(consent.text)
        name, value = form.buttons["Allow"]
        assert form.action is not None
        data = {**form.fields, name: value}
        assert browser.post(form.action, data=data, headers=elsewhere).status_code == 400
        assert browser.post(form.action, data=data).status_code == 303
        logout = parse_form(browser.get("/ws/oauth/logout").text)
        assert logout.action is not None
        assert browser.post(logout.action, data=logout.fields, headers=elsewhere).status_code == 400
    _clear_pending(db)


def _signed_in(server: LiveServer, app: dict[str, Any], browser: httpx.Client) -> None:
    final = authorize(browser, _params(app, WEB_CB), user=server.user())
    assert final.status_code == 307, final.text


def test_sign_in_gives_a_new_cookie_and_the_old_one_signs_nobody_in(
    server: LiveServer, web: dict[str, Any]
) -> None:
    with server.client() as browser:
        browser.get("/ws/oauth/authorize", params=_params(web, WEB_CB))
        planted = browser.cookies["ninja_oauth_signin"]
        _signed_in(server, web, browser)
        assert browser.cookies["ninja_oauth_signin"] != planted
    with server.client(cookies={"ninja_oauth_signin": planted}) as attacker:
        page = attacker.get("/ws/oauth/authorize", params=_params(web, WEB_CB))
    assert page.status_code == 200 and 'name="password"' in page.text


def test_logout_asks_then_ends_the_session_on_the_server(
    server: LiveServer, db: Any, web: dict[str, Any]
) -> None:
    with server.client() as browser:
        _signed_in(server, web, browser)
        copy = browser.cookies["ninja_oauth_signin"]
        with db.connect() as conn:
            live_sessions = conn.execute(
                select(func.count()).select_from(browser_sessions)
            ).scalar()
        assert browser.get("/logout").headers["location"] == "/ws/oauth/logout"
        form_page = browser.get("/ws/oauth/logout")
        assert "Sign out" in form_page.text
        form = parse_form(form_page.text)
        refused = browser.post("/ws/oauth/logout", data={"csrf_token": "forged"})
        assert refused.status_code == 400
        done = browser.post("/ws/oauth/logout", data=form.fields)
        assert done.status_code == 200 and "You are signed out" in done.text
        assert browser.cookies["ninja_oauth_signin"] != copy
        with db.connect() as conn:
            after = conn.execute(select(func.count()).select_from(browser_sessions)).scalar()
        assert after == live_sessions - 1
        again = browser.get("/ws/oauth/authorize", params=_params(web, WEB_CB))
        assert 'name="password"' in again.text
    # A copy of the signed-in cookie is worthless too: the row it named is gone.
    with server.client(cookies={"ninja_oauth_signin": copy}) as thief:
        page = thief.get("/ws/oauth/authorize", params=_params(web, WEB_CB))
    assert 'name="password"' in page.text


# -- 7. argon2's cost --------------------------------------------------------------------------


def test_passwords_use_owasp_argon2id_parameters() -> None:
    assert hash_password("a password").startswith(f"$argon2id$v=19$m={MEMORY_KIB},t=2,p=1$")
    assert MEMORY_KIB == 19 * 1024


def test_an_old_64_mib_hash_still_signs_in_and_is_rehashed(
    server: LiveServer, db: Any, web: dict[str, Any]
) -> None:
    email, password = server.user()
    with db.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.email == email)
            .values(password_hash=PasswordHasher().hash(password))  # argon2-cffi's defaults
        )
    with server.client() as browser:
        _signed_in(server, web, browser)
    with db.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.email == email)).scalar()
    assert str(stored).startswith(f"$argon2id$v=19$m={MEMORY_KIB},t=2,p=1$")


def test_the_oauth_alias_of_authorize_leads_to_the_pages_under_the_cookie_path(
    server: LiveServer, native: dict[str, Any]
) -> None:
    """The cookie lives under /ws/oauth only: a cookie for /oauth would reach a loopback app's
    http://127.0.0.1:PORT/oauth/callback, a common redirect URI."""
    params = _params(native)
    with server.client() as browser:
        moved = browser.get("/oauth/authorize", params=params)
        assert moved.status_code == 303
        assert moved.headers["location"] == "/ws/oauth/authorize?" + moved.url.query.decode()
        assert "set-cookie" not in moved.headers
        page = browser.get(moved.headers["location"])
    assert page.status_code == 200 and 'name="password"' in page.text


def test_every_cookie_path_is_one_the_redirect_check_knows() -> None:
    from ninja_oauth.web.console.auth import Area
    from ninja_oauth.web.sessions import COOKIE_PATH, COOKIE_PATHS

    assert {area.value for area in Area} | {COOKIE_PATH} == set(COOKIE_PATHS)
