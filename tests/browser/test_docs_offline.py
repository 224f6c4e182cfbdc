"""/docs in real Chromium with the internet cut off: Swagger UI comes from this server, starts
under the site's Content-Security-Policy, lists every operation and can call the API (issue 11).
And the home page, the other way in for a person, passes axe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, expect

from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@dataclass
class Offline:
    """A browser profile that may reach 127.0.0.1 only, and what its pages reported."""

    context: BrowserContext
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    ctx = browser.new_context()
    ctx.set_default_timeout(PAGE_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    state = Offline(ctx)
    ctx.route("**/*", state.route)
    try:
        yield state
    finally:
        ctx.close()


def documented_operations(server: LiveServer) -> list[tuple[str, str]]:
    document: dict[str, Any] = httpx.get(server.base_url + "/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    )


def listed_operations(page: Page) -> list[tuple[str, str]]:
    blocks = page.locator(".opblock")
    expect(blocks.first).to_be_visible()
    methods = page.locator(".opblock .opblock-summary-method").all_text_contents()
    paths = page.locator(".opblock .opblock-summary-path").all_text_contents()
    # Swagger UI breaks long paths with zero-width spaces, and lists an operation under each
    # of its tags.
    return sorted(set(zip(methods, (p.replace("\u200b", "") for p in paths), strict=True)))


def test_docs_lists_every_operation_with_no_internet_and_no_csp_error(
    sqlite_server: LiveServer, offline: Offline
) -> None:
    page = offline.page()
    answer = page.goto(sqlite_server.base_url + "/docs")
    assert answer is not None
    assert answer.status == 200
    assert answer.headers["content-security-policy"] == DOCS_CSP

    listed = listed_operations(page)

    assert ("GET", "/v2/organizations") in listed
    assert len(listed) >= 12
    assert listed == documented_operations(sqlite_server)
    page.wait_for_load_state("networkidle")
    assert offline.blocked == []
    assert offline.errors == []


def test_docs_try_it_out_calls_the_api_with_a_bearer_token(
    sqlite_server: LiveServer, offline: Offline
) -> None:
    app = sqlite_server.create_app("api_services", scopes=["monitoring"])
    token = httpx.post(
        sqlite_server.base_url + "/ws/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "monitoring",
        },
    ).json()["access_token"]
    page = offline.page()
    page.goto(sqlite_server.base_url + "/docs")

    page.locator(".auth-wrapper button.authorize").click()
    bearer = page.locator(".auth-container").filter(has_text="http, Bearer")
    bearer.locator("input#auth-bearer-value").fill(token)
    bearer.get_by_role("button", name="Apply credentials").click()
    bearer.get_by_role("button", name="Close").click()
    operation = (
        page.locator(".opblock-get")
        .filter(has=page.locator('.opblock-summary-path[data-path="/v2/organizations"]'))
        .first
    )
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v2/organizations") as called:
        operation.get_by_role("button", name="Execute").click()

    assert called.value.status == 200
    assert called.value.request.headers["authorization"] == f"Bearer {token}"
    shown = operation.locator(".live-responses-table tr.response .response-col_status")
    expect(shown).to_have_text("200")
    assert offline.blocked == []
    assert offline.errors == []


def test_the_old_oauth2_redirect_page_is_gone_and_openapi_json_stays(
    sqlite_server: LiveServer,
) -> None:
    """Swagger UI never needs it: the API documents an HTTP bearer scheme, not an OAuth flow."""
    with sqlite_server.client() as http:
        assert http.get("/docs/oauth2-redirect").status_code == 404
        assert http.get("/openapi.json").json()["components"]["securitySchemes"]["oauth2"] == {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from POST /ws/oauth/token. Reads need the "
            "monitoring scope, writes management, remote access control.",
        }


@pytest.mark.parametrize("mode", ["plain", "demo"])
def test_the_home_page_passes_axe_with_no_console_error(
    request: pytest.FixtureRequest, offline: Offline, mode: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    server: LiveServer = request.getfixturevalue(
        "demo_server" if mode == "demo" else "sqlite_server"
    )
    page = offline.page()
    page.goto(server.base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ninja-oauth")
    demo = page.get_by_role("heading", name="Demo apps")
    expect(demo).to_have_count(1 if mode == "demo" else 0)

    results = Axe().run(page)

    assert results.violations_count == 0, results.generate_report()
    assert offline.blocked == []
    assert offline.errors == []
