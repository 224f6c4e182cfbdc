"""The authorization code flow as a person does it: in real Chromium, through the login and
consent pages, to the app's own callback server on 127.0.0.1."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, CallbackServer, Hit
from tests.support.flows import pkce_pair
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/ninja-consent.png"
BAD_LOGIN = "The email or password is not correct."
SCOPE = "monitoring management"
# The documents' words for each scope, as the consent page must show them.
MONITORING_WORDS = "Read-only access to monitoring data and organization structure"
MANAGEMENT_WORDS = (
    "Modify device and organization information, including creating organizations, "
    "adding devices and running scripts"
)


class RedirectBlockedByCSP(AssertionError):
    """Chromium refused to follow the redirect chain of the Allow/Deny form to the app."""


class AppFactory:
    """New apps on demand. Consent is remembered per user and app, so each test takes a new
    app; the next one is created in the background while a test drives the browser, because a
    `ninja-oauth apps create` costs a second or two."""

    def __init__(self, server: LiveServer, redirect_uri: str, pool: ThreadPoolExecutor) -> None:
        self.server = server
        self.redirect_uri = redirect_uri
        self.pool = pool
        self.ready: Future[dict[str, Any]] | None = None

    def create(self, platform: str, redirect_uri: str) -> dict[str, Any]:
        return self.server.create_app(
            platform,
            name=f"Browser {platform} {secrets.token_hex(2)}",
            redirect_uris=[redirect_uri],
            scopes=["monitoring", "management"],
            grants=["authorization_code"],
        )

    def spa(self) -> dict[str, Any]:
        ready = self.ready or self.pool.submit(self.create, "spa", self.redirect_uri)
        self.ready = self.pool.submit(self.create, "spa", self.redirect_uri)
        return ready.result()


@pytest.fixture(scope="module")
def apps(sqlite_server: LiveServer, callback_server: CallbackServer) -> Iterator[AppFactory]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield AppFactory(sqlite_server, callback_server.redirect_uri, pool)


@pytest.fixture
def spa_app(apps: AppFactory) -> dict[str, Any]:
    return apps.spa()


@pytest.fixture
def native_app(apps: AppFactory) -> dict[str, Any]:
    # Registered without a port: RFC 8252 §7.3 lets the request name any loopback port.
    return apps.create("native", "http://127.0.0.1/callback")


@pytest.fixture
def web_app(apps: AppFactory) -> dict[str, Any]:
    """A confidential app on a loopback port, as a developer's local web app is."""
    return apps.create("web", apps.redirect_uri)


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    yield context.new_page()


class Requests:
    """Every request the page made, in order."""

    def __init__(self, page: Page) -> None:
        self.seen: list[Request] = []

        def record(request: Request) -> None:  # Playwright wants a plain function
            self.seen.append(request)

        page.on("request", record)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.seen]


def authorize_url(
    server: LiveServer, app: dict[str, Any], redirect_uri: str, scope: str = SCOPE
) -> tuple[str, str, str]:
    """An S256 PKCE authorize URL, with its state and code verifier."""
    verifier, challenge = pkce_pair("S256")
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{server.base_url}/ws/oauth/authorize?{urlencode(params)}", state, verifier


def sign_in(page: Page, email: str, password: str) -> None:
    expect(page.locator("input[name=password]")).to_be_visible()
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()


def press_and_follow_to_callback(page: Page, button: str, callback_server: CallbackServer) -> Hit:
    """Press Allow or Deny and wait until the browser lands on the app's callback."""
    return follow_to_callback(
        page, callback_server, page.get_by_role("button", name=button, exact=True).click
    )


def follow_to_callback(
    page: Page, callback_server: CallbackServer, submit: Callable[[], None]
) -> Hit:
    """Submit a form and wait until its redirects land the browser on the app's callback.

    Raises RedirectBlockedByCSP at once when Chromium reports a form-action violation,
    instead of waiting out the timeout.
    """
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "form-action" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    try:
        submit()
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while not callback_server.callbacks():
            if violations:
                raise RedirectBlockedByCSP(violations[0])
            assert time.monotonic() < deadline, "the browser never requested the callback"
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("console", on_console)
    expect(page).to_have_url(re.compile("^" + re.escape(callback_server.redirect_uri + "?")))
    expect(page.get_by_text("Callback received.")).to_be_visible()
    hits = callback_server.callbacks()
    assert len(hits) == 1, hits
    return hits[0]


def allow_once(
    server: LiveServer, callback_server: CallbackServer, app: dict[str, Any], page: Page
) -> None:
    """Sign in and allow ``app`` once, as its user; forget the callback."""
    url, _, _ = authorize_url(server, app, callback_server.redirect_uri)
    page.goto(url)
    sign_in(page, *server.user())
    press_and_follow_to_callback(page, "Allow", callback_server)
    callback_server.clear()


def exchange(
    server: LiveServer, app: dict[str, Any], code: str, verifier: str, redirect_uri: str
) -> str:
    form = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": redirect_uri,
    }
    if app.get("client_secret"):
        form["client_secret"] = app["client_secret"]
    with server.client() as http:
        response = http.post("/ws/oauth/token", data=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["scope"] == SCOPE
    token: str = body["access_token"]
    return token


def assert_token_reads_organizations(server: LiveServer, access_token: str) -> None:
    with server.client() as http:
        response = http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {access_token}"}
        )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


def assert_cannot_be_framed(headers: dict[str, str]) -> None:
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"].split("; ")


@pytest.mark.parametrize("platform", ["spa", "native"])
def test_code_flow_with_pkce_signs_in_asks_consent_and_the_code_buys_a_working_token(
    platform: str,
    request: pytest.FixtureRequest,
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    page: Page,
) -> None:
    app: dict[str, Any] = request.getfixturevalue(f"{platform}_app")
    email, password = sqlite_server.user()
    url, state, verifier = authorize_url(sqlite_server, app, callback_server.redirect_uri)

    page.goto(url)
    expect(page).to_have_title("Sign in · ninja-oauth")
    expect(page.get_by_role("heading")).to_have_text(f"Sign in to continue to {app['name']}")
    sign_in(page, email, password)

    expect(page).to_have_title("Allow access · ninja-oauth")
    expect(page.get_by_role("heading")).to_have_text(f"{app['name']} wants to access your account")
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
    expect(page.locator("ul.scopes li")).to_have_text(
        [f"monitoring: {MONITORING_WORDS}", f"management: {MANAGEMENT_WORDS}"]
    )
    expect(page.get_by_role("button")).to_have_text(["Allow", "Deny"])
    if platform == "spa":
        page.screenshot(path=SCREENSHOT, full_page=True)  # for people to look at

    hit = press_and_follow_to_callback(page, "Allow", callback_server)
    assert hit.method == "GET"
    assert set(hit.query) == {"code", "state", "iss"}
    assert hit.query["state"] == [state]
    assert hit.query["iss"] == [sqlite_server.base_url]

    code = hit.query["code"][0]
    token = exchange(sqlite_server, app, code, verifier, callback_server.redirect_uri)
    assert_token_reads_organizations(sqlite_server, token)


def test_deny_sends_access_denied_with_the_state_to_the_callback(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    url, state, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)

    page.goto(url)
    sign_in(page, email, password)
    hit = press_and_follow_to_callback(page, "Deny", callback_server)

    assert hit.method == "GET"
    assert hit.query == {
        "error": ["access_denied"],
        "error_description": ["The user denied the request."],
        "state": [state],
        "iss": [sqlite_server.base_url],
    }


def test_the_callback_is_a_plain_get_at_the_end_of_303_and_307_redirects(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    requests = Requests(page)
    url, state, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)

    page.goto(url)
    sign_in(page, email, password)
    hit = press_and_follow_to_callback(page, "Allow", callback_server)

    # The app saw one plain GET: no form body, no re-POST of the password (RFC 9700 §4.12),
    # and no Referer that could carry the authorize URL.
    assert hit.method == "GET"
    assert hit.body == b""
    assert "content-type" not in hit.headers
    assert "referer" not in hit.headers
    assert hit.query["state"] == [state]

    # POST consent -> 303 -> GET authorize?request_id=… (nothing else) -> 307 -> GET callback.
    callback = next(r for r in requests.seen if r.url.startswith(callback_server.redirect_uri))
    chain: list[Request] = []
    step: Request | None = callback
    while step is not None:
        chain.insert(0, step)
        step = step.redirected_from
    base = sqlite_server.base_url
    assert [(r.method, urlsplit(r.url)._replace(query="").geturl()) for r in chain] == [
        ("POST", f"{base}/ws/oauth/consent"),
        ("GET", f"{base}/ws/oauth/authorize"),
        ("GET", callback_server.redirect_uri),
    ]
    assert set(parse_qs(urlsplit(chain[1].url).query)) == {"request_id"}
    responses = [r.response() for r in chain[:2]]
    assert [r.status if r else None for r in responses] == [303, 307]

    for seen in [*requests.urls, *(h.target for h in callback_server.hits)]:
        assert password not in seen and quote(password, safe="") not in seen, seen


def test_the_password_travels_only_in_the_login_post_body(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    context: BrowserContext,
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    requests = Requests(page)
    url, _, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)

    page.goto(url)
    sign_in(page, email, password)
    expect(page.get_by_role("button", name="Allow")).to_be_visible()

    base = sqlite_server.base_url
    assert [(r.method, urlsplit(r.url).path) for r in requests.seen if "/ws/oauth/" in r.url] == [
        ("GET", "/ws/oauth/authorize"),
        ("POST", "/ws/oauth/login"),
        ("GET", "/ws/oauth/authorize"),
    ]
    for seen in requests.urls:
        assert password not in seen and quote(password, safe="") not in seen, seen
    with_password = [r for r in requests.seen if r.post_data and password in r.post_data]
    assert [(r.method, r.url) for r in with_password] == [("POST", f"{base}/ws/oauth/login")]
    # The login's 303 goes to a URL with nothing but the opaque request id.
    after_login = with_password[0].response()
    assert after_login is not None and after_login.status == 303
    assert set(parse_qs(urlsplit(after_login.headers["location"]).query)) == {"request_id"}
    assert all(password not in cookie["value"] for cookie in context.cookies())


def test_a_remembered_consent_goes_straight_to_the_callback(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    web_app: dict[str, Any],
    page: Page,
) -> None:
    allow_once(sqlite_server, callback_server, web_app, page)

    requests = Requests(page)
    url, state, verifier = authorize_url(sqlite_server, web_app, callback_server.redirect_uri)
    response = page.goto(url)

    # One navigation: GET authorize -> 307 -> GET callback; no login or consent page between.
    assert response is not None and response.status == 200
    assert response.url.startswith(callback_server.redirect_uri + "?")
    assert [(r.method, r.url) for r in requests.seen] == [("GET", url), ("GET", response.url)]
    first = response.request.redirected_from
    assert first is not None and first.url == url and first.redirected_from is None
    first_response = first.response()
    assert first_response is not None and first_response.status == 307

    hits = callback_server.callbacks()
    assert len(hits) == 1, hits
    assert hits[0].method == "GET"
    assert set(hits[0].query) == {"code", "state", "iss"}
    assert hits[0].query["state"] == [state]
    token = exchange(
        sqlite_server, web_app, hits[0].query["code"][0], verifier, callback_server.redirect_uri
    )
    assert_token_reads_organizations(sqlite_server, token)


def test_signing_in_again_with_a_remembered_consent_lands_on_the_callback(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    web_app: dict[str, Any],
    browser: Browser,
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    allow_once(sqlite_server, callback_server, web_app, page)

    # Another browser session: the login page, then (consent remembered) straight to the app.
    fresh = browser.new_context()
    try:
        again = fresh.new_page()
        url, state, verifier = authorize_url(sqlite_server, web_app, callback_server.redirect_uri)
        again.goto(url)
        expect(again.locator("input[name=password]")).to_be_visible()
        again.locator("input[name=email]").fill(email)
        again.locator("input[name=password]").fill(password)
        hit = follow_to_callback(
            again, callback_server, again.get_by_role("button", name="Sign in").click
        )
    finally:
        fresh.close()
    assert hit.method == "GET"
    assert set(hit.query) == {"code", "state", "iss"}
    assert hit.query["state"] == [state]
    token = exchange(
        sqlite_server, web_app, hit.query["code"][0], verifier, callback_server.redirect_uri
    )
    assert_token_reads_organizations(sqlite_server, token)


def test_login_and_consent_pages_refuse_to_be_framed(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    context: BrowserContext,
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    url, _, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)
    framer = context.new_page()

    def frame_in_another_origin(src: str) -> str:
        """Load src in an iframe on the app's origin; the URL the frame ended up showing."""
        framer.goto(f"{callback_server.origin}/framer?{urlencode({'src': src})}")
        (frame,) = [f for f in framer.frames if f != framer.main_frame]
        return frame.url

    # The framing page works: a frameable page loads in it.
    assert frame_in_another_origin(callback_server.redirect_uri) == callback_server.redirect_uri

    login = page.goto(url)
    assert login is not None and login.status == 200
    expect(page.locator("input[name=password]")).to_be_visible()
    assert_cannot_be_framed(login.headers)
    assert frame_in_another_origin(url) == "chrome-error://chromewebdata/"

    with page.expect_response(
        lambda r: r.request.method == "GET" and "request_id=" in r.url
    ) as consent:
        sign_in(page, email, password)
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    assert consent.value.status == 200
    assert_cannot_be_framed(consent.value.headers)
    # Signed in, the same URL would show the consent page, the real clickjacking target.
    assert frame_in_another_origin(url) == "chrome-error://chromewebdata/"


def test_a_wrong_password_shows_one_generic_message_and_stays_on_the_login_page(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    url, _, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)
    page.goto(url)

    # A wrong password and an unknown account read exactly the same.
    for who, secret in ((email, "not-" + password), ("nobody@example.com", password)):
        with page.expect_response(f"{sqlite_server.base_url}/ws/oauth/login") as answer:
            sign_in(page, who, secret)
        assert answer.value.status == 401
        expect(page).to_have_title("Sign in · ninja-oauth")
        expect(page.get_by_role("alert")).to_have_count(1)
        expect(page.get_by_role("alert")).to_have_text(BAD_LOGIN)
        expect(page.locator("input[name=email]")).to_have_value(who)
        expect(page.locator("input[name=password]")).to_have_value("")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.get_by_role("button", name="Allow")).to_have_count(0)
    assert callback_server.callbacks() == []

    # The same form still carries the authorize request: the right password continues it.
    sign_in(page, email, password)
    expect(page).to_have_title("Allow access · ninja-oauth")
    expect(page.get_by_role("button")).to_have_text(["Allow", "Deny"])


def test_the_login_page_is_styled_without_csp_violations(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    page: Page,
) -> None:
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    url, _, _ = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)
    page.goto(url)
    expect(page.locator("input[name=password]")).to_be_visible()
    assert violations == []
    # base.html's own rule for buttons (#0a6ed1), not Chromium's grey default.
    sign_in_button = page.get_by_role("button", name="Sign in")
    expect(sign_in_button).to_have_css("background-color", "rgb(10, 110, 209)", timeout=2000)


def test_the_sign_in_cookie_never_reaches_an_apps_loopback_callback(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    web_app: dict[str, Any],
    page: Page,
) -> None:
    """Cookies ignore ports: a cookie for / on 127.0.0.1 went along to every loopback app,
    which could replay it and approve any scope for itself (issue 12, finding 3)."""
    email, password = sqlite_server.user()
    url, _, verifier = authorize_url(sqlite_server, web_app, callback_server.redirect_uri)
    page.goto(url)
    sign_in(page, email, password)
    hit = press_and_follow_to_callback(page, "Allow", callback_server)

    assert "ninja_oauth_signin" not in hit.headers.get("cookie", "")
    cookies = page.context.cookies()
    session = [c for c in cookies if c["name"] == "ninja_oauth_signin"]
    assert [c["path"] for c in session] == ["/ws/oauth"]
    assert session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"
    exchange(sqlite_server, web_app, hit.query["code"][0], verifier, callback_server.redirect_uri)


def test_a_public_app_is_never_approved_without_the_user_even_after_consent(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    spa_app: dict[str, Any],
    page: Page,
) -> None:
    """Anyone can send a public app's client id with their own PKCE challenge: each request
    needs the user's action (RFC 6749 §10.2, RFC 8252 §8.6)."""
    allow_once(sqlite_server, callback_server, spa_app, page)

    url, state, verifier = authorize_url(sqlite_server, spa_app, callback_server.redirect_uri)
    page.goto(url)
    expect(page).to_have_title("Allow access · ninja-oauth")
    assert callback_server.callbacks() == []
    hit = press_and_follow_to_callback(page, "Allow", callback_server)
    assert hit.query["state"] == [state]
    token = exchange(
        sqlite_server, spa_app, hit.query["code"][0], verifier, callback_server.redirect_uri
    )
    assert_token_reads_organizations(sqlite_server, token)


def test_sign_out_ends_the_session_and_a_copy_of_the_cookie_with_it(
    sqlite_server: LiveServer,
    callback_server: CallbackServer,
    web_app: dict[str, Any],
    browser: Browser,
    page: Page,
) -> None:
    email, password = sqlite_server.user()
    url, _, _ = authorize_url(sqlite_server, web_app, callback_server.redirect_uri)
    page.goto(url)
    before = {c["name"]: c["value"] for c in page.context.cookies()}
    sign_in(page, email, password)
    press_and_follow_to_callback(page, "Allow", callback_server)
    signed_in = [c for c in page.context.cookies() if c["name"] == "ninja_oauth_signin"]
    # A new cookie at sign-in: one planted before it signs nobody in (session fixation).
    assert signed_in[0]["value"] != before["ninja_oauth_signin"]

    page.goto(sqlite_server.base_url + "/logout")
    expect(page).to_have_title("Sign out · ninja-oauth")
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You are signed out")
    after = [c for c in page.context.cookies() if c["name"] == "ninja_oauth_signin"]
    assert after[0]["value"] != signed_in[0]["value"]

    # The cookie as it was while signed in, copied into another browser, signs nobody in.
    thief = browser.new_context()
    try:
        thief.add_cookies([signed_in[0]])  # type: ignore[list-item]
        stolen = thief.new_page()
        again, _, _ = authorize_url(sqlite_server, web_app, callback_server.redirect_uri)
        stolen.goto(again)
        expect(stolen).to_have_title("Sign in · ninja-oauth")
    finally:
        thief.close()
    page.goto(url)
    expect(page).to_have_title("Sign in · ninja-oauth")


# A page's fetch of a POSTed form: the status and JSON body, or the error a blocked read raises.
FETCH_FORM = """async ([url, form]) => {
    try {
        const answer = await fetch(url, {method: "POST", body: new URLSearchParams(form)});
        return [answer.status, await answer.json()];
    } catch (error) {
        return [0, String(error)];
    }
}"""


def test_a_single_page_app_redeems_refreshes_and_revokes_from_its_own_pages(
    sqlite_server: LiveServer, callback_server: CallbackServer, page: Page
) -> None:
    # CORS: the token and revocation answers are readable by the SPA's own origin (that of
    # its redirect URI), and by no other page.
    spa = sqlite_server.create_app(
        "spa",
        name=f"Browser SPA {secrets.token_hex(2)}",
        redirect_uris=[callback_server.redirect_uri],
        scopes=["monitoring"],
        grants=["authorization_code", "refresh_token"],
    )
    token_url = f"{sqlite_server.base_url}/ws/oauth/token"
    url, _, verifier = authorize_url(
        sqlite_server, spa, callback_server.redirect_uri, "monitoring offline_access"
    )
    page.goto(url)
    sign_in(page, *sqlite_server.user())
    hit = press_and_follow_to_callback(page, "Allow", callback_server)
    redeem = {
        "grant_type": "authorization_code",
        "code": hit.query["code"][0],
        "redirect_uri": callback_server.redirect_uri,
        "client_id": spa["client_id"],
        "code_verifier": verifier,
    }

    # Another origin (localhost is not 127.0.0.1) cannot read the answer, and the code is
    # still good: the blocked read was of an error (no verifier there).
    page.goto(callback_server.origin.replace("127.0.0.1", "localhost") + "/elsewhere")
    elsewhere = page.evaluate(FETCH_FORM, [token_url, {**redeem, "code_verifier": "x" * 43}])
    assert elsewhere == [0, "TypeError: Failed to fetch"]

    page.goto(callback_server.origin + "/app")
    # The page finds the endpoints in the server's metadata (RFC 8414), readable by any page.
    discovered = page.evaluate(
        "async (url) => (await fetch(url)).json()",
        f"{sqlite_server.base_url}/.well-known/oauth-authorization-server",
    )
    assert discovered["token_endpoint"] == token_url
    status, tokens = page.evaluate(FETCH_FORM, [token_url, redeem])
    assert status == 200, tokens
    assert_token_reads_organizations(sqlite_server, tokens["access_token"])
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": spa["client_id"],
    }
    status, refreshed = page.evaluate(FETCH_FORM, [token_url, refresh])
    assert status == 200 and refreshed["access_token"] != tokens["access_token"]
    # An error is readable too: the same refresh token again is a replay.
    status, replay = page.evaluate(FETCH_FORM, [token_url, refresh])
    assert (status, replay["error"]) == (400, "invalid_grant")
    revoke = {"token": refreshed["access_token"], "client_id": spa["client_id"]}
    revoke_url = f"{sqlite_server.base_url}/ws/oauth/revoke"
    assert page.evaluate(
        FETCH_FORM.replace("await answer.json()", "null"), [revoke_url, revoke]
    ) == [
        200,
        None,
    ]
