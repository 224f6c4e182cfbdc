"""The administration console (/admin) and the account page (/account/apps), driven in real
Chromium as an administrator and a user do it: Administration → Apps → API → Client App IDs →
Add, the one-time secret, and every change checked where it matters, at the token endpoint
and on /v2 (issue 11). axe-core checks each page; a screenshot of each lands in pytest's
base temporary folder, under `screenshots/`; with NINJA_OAUTH_UPDATE_SCREENSHOTS=1,
two of them also replace docs/screenshots for the README."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, CallbackServer
from tests.support.flows import pkce_pair
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-" + secrets.token_urlsafe(12)
REPO = Path(__file__).resolve().parents[2]
DOCS_SHOTS = {"apps": "console-apps.png", "add-app": "console-add-app.png"}
OFFERED = {
    "API Services": ["client_credentials", "refresh_token"],
    "Web": ["authorization_code", "refresh_token"],
    "Native": ["authorization_code", "refresh_token"],
    "Single-Page App": ["authorization_code", "implicit", "refresh_token"],
}
MONITORING_WORDS = "Read-only access to monitoring data and organization structure"
_axe = Axe()


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(sqlite_server: LiveServer) -> LiveServer:
    sqlite_server.cli(
        "users", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD, "--admin"
    )
    return sqlite_server


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def new_context(browser: Browser, **options: object) -> BrowserContext:
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(PAGE_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    return ctx


@contextmanager
def fresh_page(browser: Browser, **options: object) -> Iterator[Page]:
    """A page in a browser of its own (no cookie of the admin's), closed afterwards."""
    ctx = new_context(browser, **options)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def admin_context(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    """One administrator's browser for the module, signed in once, from /admin."""
    ctx = new_context(browser)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    page = ctx.new_page()
    page.goto(server.base_url + "/admin")
    expect(page).to_have_url(f"{server.base_url}/admin/login?next=%2Fadmin%2Fapps")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(f"{server.base_url}/admin/apps")
    page.close()
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def admin(admin_context: BrowserContext) -> Iterator[Page]:
    page = admin_context.new_page()
    try:
        yield page
    finally:
        page.close()


# -- helpers -------------------------------------------------------------------------------


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def look(page: Page, shots: Path, name: str) -> None:
    """axe-core finds nothing serious or critical on the page; keep a screenshot of it."""
    results = _axe.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    # The README's two pictures are refreshed only when asked: a test run leaves the checkout
    # as it found it.
    if name in DOCS_SHOTS and os.environ.get("NINJA_OAUTH_UPDATE_SCREENSHOTS") == "1":
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, docs / DOCS_SHOTS[name])


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


@dataclass(frozen=True)
class Added:
    client_id: str
    secret: str | None
    name: str


def shown_once(page: Page, name: str) -> Added:
    """What Save answers for a new confidential app: its client ID and secret, shown once."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} is saved")
    return Added(
        page.locator("#client-id").inner_text(), page.locator("#client-secret").inner_text(), name
    )


def add_app(
    page: Page,
    server: LiveServer,
    *,
    name: str,
    platform: str,
    redirect_uris: str = "",
    grants: tuple[str, ...] = (),
) -> Added:
    """Client App IDs → Add → fill → Save; the credentials the next page shows."""
    page.goto(server.base_url + "/admin/apps")
    page.get_by_role("link", name="Add", exact=True).click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Application Platform").select_option(label=platform)
    page.get_by_label("Redirect URIs").fill(redirect_uris)
    for grant in grants:
        page.locator(f"input[name=grant_types][value={grant}]").check()
    page.get_by_role("button", name="Save").click()
    if platform in ("API Services", "Web"):
        return shown_once(page, name)
    expect(page.get_by_role("status")).to_have_text("The app was saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return Added(urlsplit(page.url).path.rsplit("/", 1)[1], None, name)


def add_user(
    page: Page, server: LiveServer, email: str, password: str, shots: Path | None = None
) -> int:
    """Users → Add → fill → Save (with ``shots``, the filled form is checked and kept)."""
    page.goto(server.base_url + "/admin/users")
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a user")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    if shots is not None:
        look(page, shots, "add-user")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("The user was added.")
    return int(urlsplit(page.url).path.rsplit("/", 1)[1])


def client_credentials(server: LiveServer, client_id: str, secret: str) -> httpx.Response:
    with server.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "scope": "monitoring"},
            auth=(client_id, secret),
        )


def token_of(server: LiveServer, app: Added) -> str:
    assert app.secret is not None
    response = client_credentials(server, app.client_id, app.secret)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def organizations(server: LiveServer, token: str) -> int:
    with server.client() as http:
        return http.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {token}"}
        ).status_code


def user_token_by_browser(
    browser: Browser,
    server: LiveServer,
    callback_server: CallbackServer,
    app: Added,
    email: str,
    password: str,
) -> str:
    """The authorization code flow as the user does it: sign in, Allow, then the exchange."""
    callback_server.clear()
    verifier, challenge = pkce_pair("S256")
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": callback_server.redirect_uri,
        "scope": "monitoring",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with fresh_page(browser) as page:
        page.goto(f"{server.base_url}/ws/oauth/authorize?{urlencode(query)}")
        sign_in(page, email, password)
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(re.compile("^" + re.escape(callback_server.redirect_uri + "?")))
    (hit,) = callback_server.callbacks()
    assert hit.query["state"] == [state]
    assert app.secret is not None
    with server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": hit.query["code"][0],
                "code_verifier": verifier,
                "redirect_uri": callback_server.redirect_uri,
            },
            auth=(app.client_id, app.secret),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    assert organizations(server, token) == 200
    return token


@dataclass(frozen=True)
class Allowed:
    """A new user who allowed a new Web app, and the token the app got by the code flow."""

    email: str
    password: str
    user_id: int
    app: Added
    token: str


def user_who_allowed(
    browser: Browser,
    server: LiveServer,
    callback_server: CallbackServer,
    admin: Page,
    who: str,
    app_name: str,
) -> Allowed:
    """The user (``who-…@example.com``) and the app (``app_name …``) are added in the console."""
    email, password = f"{who}-{secrets.token_hex(3)}@example.com", "pw-" + secrets.token_urlsafe(9)
    user_id = add_user(admin, server, email, password)
    app = add_app(
        admin,
        server,
        name=unique(app_name),
        platform="Web",
        redirect_uris=callback_server.redirect_uri,
    )
    token = user_token_by_browser(browser, server, callback_server, app, email, password)
    return Allowed(email, password, user_id, app, token)


def cookie_client(server: LiveServer, ctx: BrowserContext) -> httpx.Client:
    """An HTTP client holding the browser's console cookie (as a cross-site attacker cannot)."""
    cookies = {c["name"]: c["value"] for c in ctx.cookies(server.base_url + "/admin")}
    return server.client(cookies=cookies)


# -- signing in ------------------------------------------------------------------------------


def test_admin_opens_on_client_app_ids_with_the_documents_navigation(
    server: LiveServer, browser: Browser, admin: Page, shots: Path
) -> None:
    with fresh_page(browser) as page:
        page.goto(server.base_url + "/admin")
        expect(page).to_have_title("Sign in · Administration · ninja-oauth")
        look(page, shots, "signin")

    response = admin.goto(server.base_url + "/admin")
    assert response is not None and response.url == f"{server.base_url}/admin/apps"
    assert response.headers["cache-control"] == "no-store"
    expect(admin.get_by_role("heading", level=1)).to_have_text("Client App IDs")
    crumbs = admin.get_by_role("navigation", name="Breadcrumb").get_by_role("listitem")
    expect(crumbs).to_have_text(["Administration", "Apps", "API", "Client App IDs"])
    nav = admin.get_by_role("navigation", name="Administration").get_by_role("link")
    expect(nav).to_have_text(["Client App IDs", "Users", "Consents", "Audit log"])
    expect(admin.get_by_role("button", name="Sign out")).to_be_visible()
    token = admin.locator("meta[name=csrf-token]").get_attribute("content")
    assert token and admin.locator("input[name=csrf_token]").first.input_value() == token


def test_a_signed_in_user_who_is_not_an_admin_gets_the_403_page(
    server: LiveServer, browser: Browser, admin: Page, shots: Path
) -> None:
    email, password = unique("plain").replace(" ", "-") + "@example.com", "pw-" + "x" * 10
    add_user(admin, server, email, password, shots)
    with fresh_page(browser) as page:
        page.goto(server.base_url + "/admin/login")
        with page.expect_response(f"{server.base_url}/admin/apps") as landing:
            sign_in(page, email, password)
        assert landing.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Administrators only")
        expect(page.get_by_text(f"You are signed in as {email}")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("apps you allowed"))).to_have_attribute(
            "href", "/account/apps"
        )
        expect(page.get_by_role("navigation", name="Administration")).to_have_count(0)
        look(page, shots, "forbidden")
        assert page.goto(server.base_url + "/admin/users").status == 403
        page.get_by_role("button", name="Sign out of the console").click()
        expect(page).to_have_url(server.base_url + "/admin/logout?done=signed_out")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")


def test_the_console_cookie_is_strict_and_new_at_each_sign_in_and_dead_after_sign_out(
    server: LiveServer, browser: Browser
) -> None:
    """HttpOnly, SameSite=Strict and Path=/admin; a value planted before sign-in is replaced,
    and the value a signed-in browser held signs nobody in once it has signed out."""
    planted = secrets.token_urlsafe(32)
    with fresh_page(browser) as page:
        page.context.add_cookies(
            [
                {
                    "name": "ninja_oauth_admin",
                    "value": planted,
                    "domain": "127.0.0.1",
                    "path": "/admin",
                }
            ]
        )
        page.goto(server.base_url + "/admin/login")
        sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page).to_have_url(server.base_url + "/admin/apps")
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "ninja_oauth_admin"]
        assert cookie["value"] != planted
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/admin"
        with cookie_client(server, page.context) as http:
            assert http.get("/admin/apps").status_code == 200

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
        assert [c for c in page.context.cookies() if c["name"] == "ninja_oauth_admin"] == []
        page.goto(server.base_url + "/admin/login")
        sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page).to_have_url(server.base_url + "/admin/apps")
        (again,) = [c for c in page.context.cookies() if c["name"] == "ninja_oauth_admin"]
        assert again["value"] != cookie["value"]
    with server.client(cookies={"ninja_oauth_admin": cookie["value"]}) as thief:
        refused = thief.get("/admin/apps")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/admin/login?")


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [("/admin/login", False), ("/admin/apps", True), ("/admin/logout", True)],
)
def test_console_pages_cannot_be_framed(
    server: LiveServer, admin: Page, path: str, signed_in: bool
) -> None:
    with cookie_client(server, admin.context) if signed_in else server.client() as http:
        page = http.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


# -- apps ------------------------------------------------------------------------------------


def test_the_platform_chosen_narrows_the_grant_types_offered(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    admin.goto(server.base_url + "/admin/apps/new")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Add a client app")
    for label in ("Name", "Application Platform", "Redirect URIs"):
        expect(admin.get_by_label(label, exact=True)).to_be_visible()
    expect(admin.get_by_role("group", name="Scopes")).to_be_visible()
    expect(admin.get_by_role("group", name="Allowed Grant Types")).to_be_visible()
    expect(admin.get_by_label(re.compile("^monitoring"))).to_be_checked()
    expect(admin.get_by_text(f"monitoring: {MONITORING_WORDS}")).to_be_visible()
    grants = admin.locator("input[name=grant_types]")
    for platform, offered in OFFERED.items():
        admin.get_by_label("Application Platform").select_option(label=platform)
        visible = [g.get_attribute("value") for g in grants.all() if g.is_visible()]
        assert visible == offered, platform
        enabled = [g.get_attribute("value") for g in grants.all() if g.is_enabled()]
        assert enabled == offered, platform
    admin.get_by_label("Application Platform").select_option(label="API Services")
    admin.get_by_label("Name").fill("Reporting service")
    look(admin, shots, "add-app")


def test_an_admin_app_is_added_in_the_console_and_its_token_opens_the_admin_api(
    server: LiveServer, admin: Page
) -> None:
    """ "Only an app created as an admin app (the CLI, or the console) may be granted admin":
    the box is offered for API Services alone, and its token reaches /admin/api."""
    admin.goto(server.base_url + "/admin/apps/new")
    box = admin.get_by_label("Admin app")
    for platform in ("Web", "Native", "Single-Page App"):
        admin.get_by_label("Application Platform").select_option(label=platform)
        expect(box).to_be_hidden()
    admin.get_by_label("Application Platform").select_option(label="API Services")
    expect(box).to_be_visible()
    # The box at its own size, its label beside it, the hint on a line of its own below.
    at = box.bounding_box()
    label = admin.locator("label[for=admin]").bounding_box()
    hint = admin.locator("#admin-help").bounding_box()
    assert at is not None and label is not None and hint is not None
    assert at["width"] < 30, at
    assert label["x"] >= at["x"] + at["width"], (at, label)
    assert abs((label["y"] + label["height"] / 2) - (at["y"] + at["height"] / 2)) < 12
    assert hint["y"] >= max(at["y"] + at["height"], label["y"] + label["height"]) - 1
    assert hint["x"] <= at["x"] + 1, (at, hint)
    name = unique("Admin script")
    admin.get_by_label("Name").fill(name)
    box.check()
    admin.get_by_role("button", name="Save").click()
    app = shown_once(admin, name)
    assert app.secret is not None
    with server.client() as http:
        token = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "scope": "admin"},
            auth=(app.client_id, app.secret),
        )
        assert token.status_code == 200, token.text
        bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
        listed = http.get("/admin/api/apps", params={"search": name}, headers=bearer)
    assert listed.status_code == 200
    assert [a["client_id"] for a in listed.json()] == [app.client_id]


def test_each_platform_is_added_and_only_confidential_apps_show_a_secret(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    added = {}
    for platform, uri in (
        ("API Services", ""),
        ("Web", "https://app.example.com/callback"),
        ("Native", "http://127.0.0.1/callback"),
        ("Single-Page App", "https://spa.example.com/"),
    ):
        added[platform] = add_app(
            admin, server, name=unique(platform), platform=platform, redirect_uris=uri
        )
        if platform == "Native":
            expect(admin.get_by_text("None: a Native app is public")).to_be_visible()
            look(admin, shots, "app")
    assert added["API Services"].secret and added["Web"].secret
    assert added["Native"].secret is None and added["Single-Page App"].secret is None

    admin.goto(server.base_url + "/admin/apps")
    rows = admin.get_by_role("row")
    for platform, app in added.items():
        row = rows.filter(has_text=app.client_id)
        expect(row.get_by_role("rowheader")).to_have_text(app.name)
        expect(row.get_by_role("cell").nth(0)).to_have_text(platform)
        expect(row.get_by_role("cell").nth(3)).to_have_text(", ".join(OFFERED[platform]))
    look(admin, shots, "apps")
    admin.get_by_role("searchbox").fill(added["Web"].name)
    admin.get_by_role("button", name="Search").click()
    expect(admin.locator("tbody tr")).to_have_count(1)
    expect(admin.locator("tbody tr th")).to_have_text(added["Web"].name)


def test_the_secret_is_shown_once_and_buys_a_token_that_reads_organizations(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    name = unique("Reporting")
    admin.goto(server.base_url + "/admin/apps/new")
    admin.get_by_label("Name").fill(name)
    admin.get_by_label("Application Platform").select_option(label="API Services")
    admin.get_by_label(re.compile("^Client Credentials")).check()
    with admin.expect_response(lambda r: r.request.method == "POST") as saved:
        admin.get_by_role("button", name="Save").click()
    assert saved.value.status == 200
    assert saved.value.headers["cache-control"] == "no-store"
    expect(admin.get_by_text("it will not be shown again")).to_be_visible()
    client_id = admin.locator("#client-id").inner_text()
    secret = admin.locator("#client-secret").inner_text()
    assert len(secret) >= 32
    look(admin, shots, "secret")

    copy = admin.get_by_role("button", name="Copy the Client Secret")
    assert copy.get_attribute("type") == "button"
    copy.click()
    expect(admin.get_by_role("status")).to_have_text("Client Secret copied.")
    assert admin.evaluate("navigator.clipboard.readText()") == secret

    token = token_of(server, Added(client_id, secret, name))
    assert organizations(server, token) == 200

    # Nowhere else: the app's page, the list, its edit form, the audit log and its export.
    admin.get_by_role("link", name="Continue to the app").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(name)
    expect(admin.get_by_text(re.compile("^Set, and never shown again"))).to_be_visible()
    for path in (
        f"/admin/apps/{client_id}",
        f"/admin/apps/{client_id}/edit",
        "/admin/apps",
        "/admin/audit",
        "/admin/audit.jsonl",
    ):
        with cookie_client(server, admin.context) as http:
            page = http.get(path)
        assert page.status_code == 200 and client_id in page.text, path
        assert secret not in page.text, path


def test_an_edit_shows_in_the_list(server: LiveServer, admin: Page, shots: Path) -> None:
    app = add_app(admin, server, name=unique("Old name"), platform="API Services")
    admin.goto(f"{server.base_url}/admin/apps/{app.client_id}")
    admin.get_by_role("link", name="Edit").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Edit {app.name}")
    expect(admin.get_by_label("Name")).to_have_value(app.name)
    look(admin, shots, "edit-app")
    new_name = unique("New name")
    admin.get_by_label("Name").fill(new_name)
    admin.get_by_label(re.compile("^control")).uncheck()
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("status")).to_have_text("The app was saved.")
    expect(admin.get_by_role("heading", level=1)).to_have_text(new_name)

    admin.goto(server.base_url + "/admin/apps")
    row = admin.get_by_role("row").filter(has_text=app.client_id)
    expect(row.get_by_role("rowheader")).to_have_text(new_name)
    expect(row.get_by_role("cell").nth(2)).to_have_text("monitoring, management")


def test_rotating_the_secret_refuses_the_old_one_and_accepts_the_new(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    app = add_app(admin, server, name=unique("Rotated"), platform="API Services")
    assert app.secret is not None
    token_of(server, app)
    admin.goto(f"{server.base_url}/admin/apps/{app.client_id}")
    admin.get_by_role("link", name="Rotate secret").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Rotate the secret of {app.name}?")
    look(admin, shots, "rotate")
    admin.get_by_role("button", name="Rotate secret").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        f"A new client secret for {app.name}"
    )
    new_secret = admin.locator("#client-secret").inner_text()
    assert new_secret != app.secret

    refused = client_credentials(server, app.client_id, app.secret)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_client"
    token_of(server, Added(app.client_id, new_secret, app.name))


def test_revoking_all_tokens_then_deleting_stop_the_apps_tokens(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    app = add_app(admin, server, name=unique("Doomed"), platform="API Services")
    first = token_of(server, app)
    admin.goto(f"{server.base_url}/admin/apps/{app.client_id}")
    admin.get_by_role("button", name="Revoke all tokens").click()
    expect(admin.get_by_role("status")).to_have_text("All its tokens were revoked.")
    assert organizations(server, first) == 401

    second = token_of(server, app)
    admin.get_by_role("link", name="Delete").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Delete {app.name}?")
    expect(admin.get_by_text(f"client ID {app.client_id}")).to_be_visible()
    look(admin, shots, "delete")
    admin.get_by_role("button", name="Delete").click()
    expect(admin).to_have_url(f"{server.base_url}/admin/apps?done=app_deleted")
    expect(admin.get_by_role("status")).to_have_text(
        "The app was deleted, with its tokens, codes and consents."
    )
    expect(admin.get_by_text(app.client_id)).to_have_count(0)
    assert organizations(server, second) == 401
    assert app.secret is not None
    assert client_credentials(server, app.client_id, app.secret).status_code == 401
    assert admin.goto(f"{server.base_url}/admin/apps/{app.client_id}").status == 404


def test_a_refused_form_shows_the_message_beside_the_field_and_saves_nothing(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    name = unique("Refused")
    admin.goto(server.base_url + "/admin/apps/new")
    admin.get_by_label("Name").fill(name)
    admin.get_by_label("Application Platform").select_option(label="Web")
    admin.get_by_label("Redirect URIs").fill("http://app.example.com/callback")
    with admin.expect_response(lambda r: r.request.method == "POST") as answer:
        admin.get_by_role("button", name="Save").click()
    assert answer.value.status == 400

    uris = admin.get_by_label("Redirect URIs")
    expect(uris).to_have_attribute("aria-invalid", "true")
    expect(uris).to_have_attribute("aria-describedby", "redirect_uris-help redirect_uris-error")
    expect(admin.locator("#redirect_uris-error")).to_have_text(
        "Redirect URI 'http://app.example.com/callback' must use https (http is allowed only "
        "on 127.0.0.1, [::1] and localhost)."
    )
    expect(admin.get_by_role("alert")).to_have_count(1)
    expect(admin.get_by_label("Name")).to_have_value(name)
    expect(admin.get_by_label("Application Platform")).to_have_value("web")
    expect(uris).to_have_value("http://app.example.com/callback")
    look(admin, shots, "add-app-error")

    admin.goto(server.base_url + "/admin/apps?" + urlencode({"search": name}))
    expect(admin.get_by_text(f"No app matches “{name}”.")).to_be_visible()


def test_the_add_form_works_without_javascript_and_the_server_refuses_a_foreign_grant(
    server: LiveServer, browser: Browser
) -> None:
    with fresh_page(browser, java_script_enabled=False) as page:
        page.goto(server.base_url + "/admin/apps/new")
        sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page.get_by_role("heading", level=1)).to_have_text("Add a client app")
        grants = page.locator("input[name=grant_types]")
        expect(grants).to_have_count(4)
        for grant in grants.all():
            expect(grant).to_be_visible()
            expect(grant).to_be_enabled()
        expect(page.get_by_text("Available based on the application platform")).to_be_visible()

        name = unique("No script")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Application Platform").select_option(label="API Services")
        page.locator("input[name=grant_types][value=authorization_code]").check()
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Save").click()
        assert answer.value.status == 400
        expect(page.locator("#grant_types-error")).to_have_text(
            "The grant 'authorization_code' is not available to api_services apps; they may "
            "use client_credentials, refresh_token."
        )
        expect(page.get_by_label("Name")).to_have_value(name)

        page.locator("input[name=grant_types][value=authorization_code]").uncheck()
        page.locator("input[name=grant_types][value=client_credentials]").check()
        page.get_by_role("button", name="Save").click()
        app = shown_once(page, name)
        # The copy buttons need script; without it they stay hidden, the secret is there.
        expect(page.get_by_role("button", name="Copy the Client Secret")).to_be_hidden()
    assert organizations(server, token_of(server, app)) == 200


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    server: LiveServer, admin: Page
) -> None:
    app = add_app(admin, server, name=unique("Guarded"), platform="API Services")
    name = unique("Forged")
    form = {"name": name, "platform": "api_services"}
    with cookie_client(server, admin.context) as http:
        for token in ({}, {"csrf_token": "0" * 64}):
            refused = http.post("/admin/apps/new", data={**form, **token})
            assert refused.status_code == 400, refused.text
            assert "This form has expired" in refused.text
            assert http.post(f"/admin/apps/{app.client_id}/delete", data=token).status_code == 400
        assert name not in http.get("/admin/apps").text
        assert http.get(f"/admin/apps/{app.client_id}").status_code == 200
        # The same cookie with the page's token is accepted: the token was what was missing.
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', http.get("/admin/apps").text)
        assert csrf is not None
        ok = http.post(f"/admin/apps/{app.client_id}/delete", data={"csrf_token": csrf[1]})
        assert ok.status_code == 303


# -- users and consents ----------------------------------------------------------------------


def test_disabling_a_user_stops_their_token_and_their_sign_in(
    server: LiveServer,
    browser: Browser,
    callback_server: CallbackServer,
    admin: Page,
    shots: Path,
) -> None:
    allowed = user_who_allowed(browser, server, callback_server, admin, "worker", "Portal")
    email, password, app, token = allowed.email, allowed.password, allowed.app, allowed.token

    admin.goto(f"{server.base_url}/admin/users/{allowed.user_id}")
    expect(admin.get_by_role("heading", level=1)).to_have_text(email)
    expect(admin.get_by_role("table", name=f"Apps {email} allowed")).to_contain_text(app.name)
    look(admin, shots, "user")
    admin.get_by_role("button", name="Disable user").click()
    expect(admin.get_by_role("status")).to_have_text(
        "The user was disabled: their tokens and sessions ended."
    )
    expect(admin.get_by_text(re.compile("^Disabled since"))).to_be_visible()
    assert organizations(server, token) == 401

    with fresh_page(browser) as page:
        page.goto(server.base_url + "/account/apps")
        expect(page).to_have_url(f"{server.base_url}/account/login?next=%2Faccount%2Fapps")
        sign_in(page, email, password)
        expect(page.get_by_role("alert")).to_have_text(
            "This account is disabled. Ask an administrator to enable it."
        )
        expect(page).to_have_url(server.base_url + "/account/login")

    admin.get_by_role("button", name="Enable user").click()
    expect(admin.get_by_role("status")).to_have_text("The user was enabled.")
    assert organizations(server, token) == 401  # revoked is revoked

    admin.goto(server.base_url + "/admin/users")
    row = admin.get_by_role("row").filter(has_text=email)
    expect(row.get_by_role("cell")).to_have_text(["No", "No", re.compile(r"^\d{4}-")])
    look(admin, shots, "users")


def test_revoking_a_consent_in_the_console_stops_its_token(
    server: LiveServer,
    browser: Browser,
    callback_server: CallbackServer,
    admin: Page,
    shots: Path,
) -> None:
    allowed = user_who_allowed(browser, server, callback_server, admin, "consenter", "Dashboard")
    email, app, token = allowed.email, allowed.app, allowed.token

    admin.goto(f"{server.base_url}/admin/apps/{app.client_id}")
    expect(admin.get_by_role("table", name=f"Users who allowed {app.name}")).to_contain_text(email)

    admin.goto(server.base_url + "/admin/consents")
    admin.get_by_label("User email").fill(email)
    admin.get_by_role("button", name="Filter").click()
    rows = admin.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("cell")).to_have_text(
        [app.name, email, "monitoring", re.compile(r"^\d{4}-"), re.compile("Revoke")]
    )
    look(admin, shots, "consents")
    rows.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(admin.get_by_role("status")).to_have_text(
        "The consent was revoked, and the tokens it allowed with it."
    )
    assert parse_qs(urlsplit(admin.url).query) == {"user": [email], "done": ["consent_revoked"]}
    expect(admin.locator("tbody tr")).to_have_count(0)
    assert organizations(server, token) == 401


def test_a_user_revokes_a_consent_from_their_account_page(
    server: LiveServer,
    browser: Browser,
    callback_server: CallbackServer,
    admin: Page,
    shots: Path,
) -> None:
    allowed = user_who_allowed(browser, server, callback_server, admin, "owner", "Calendar")
    email, password, app, token = allowed.email, allowed.password, allowed.app, allowed.token

    with fresh_page(browser) as page:
        page.goto(server.base_url + "/account/apps")
        sign_in(page, email, password)
        expect(page).to_have_url(server.base_url + "/account/apps")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Apps with access to your account"
        )
        card = page.locator("li.card")
        expect(card.get_by_role("heading", level=2)).to_have_text(app.name)
        expect(card.locator("ul.scopes li")).to_have_text([f"monitoring: {MONITORING_WORDS}"])
        look(page, shots, "account")
        card.get_by_role("button", name=re.compile("^Revoke access")).click()
        expect(page.get_by_role("status")).to_have_text(
            "The consent was revoked, and the tokens it allowed with it."
        )
        expect(page.get_by_text("No app has access to your account.")).to_be_visible()
        assert organizations(server, token) == 401
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(server.base_url + "/account/logout?done=signed_out")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")


def test_logout_leads_to_signing_out_of_the_account_pages_too(
    server: LiveServer, browser: Browser, admin: Page, shots: Path
) -> None:
    """/logout is the sign-in pages' sign-out, whose cookie is not /account's: it says there is
    no session of its own and links to the account's sign-out page, a one-button form."""
    email, password = f"leaver-{secrets.token_hex(3)}@example.com", "pw-" + secrets.token_urlsafe(9)
    add_user(admin, server, email, password)
    with fresh_page(browser) as page:
        page.goto(server.base_url + "/account/apps")
        sign_in(page, email, password)
        expect(page).to_have_url(server.base_url + "/account/apps")
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "ninja_oauth_account"]

        page.goto(server.base_url + "/logout")
        expect(page).to_have_url(server.base_url + "/ws/oauth/logout")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are not signed in")
        others = page.get_by_role("list", name=re.compile("^Each part of this server"))
        expect(others.get_by_role("link")).to_have_text(
            ["Sign out of your account pages", "Sign out of the administration console"]
        )
        look(page, shots, "logout")
        others.get_by_role("link", name="Sign out of your account pages").click()

        expect(page).to_have_url(server.base_url + "/account/logout")
        expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
        expect(page.get_by_text("This ends your session of your account pages.")).to_be_visible()
        look(page, shots, "account-logout")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(server.base_url + "/account/logout?done=signed_out")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
        expect(page.get_by_role("link", name="Sign out of the app sign-in pages")).to_be_visible()

        page.goto(server.base_url + "/account/apps")
        expect(page).to_have_url(f"{server.base_url}/account/login?next=%2Faccount%2Fapps")
        page.goto(server.base_url + "/account/logout")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are not signed in")
    with server.client(cookies={"ninja_oauth_account": cookie["value"]}) as thief:
        refused = thief.get("/account/apps")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/account/login?")


def test_a_sign_out_form_needs_its_csrf_token(server: LiveServer, admin: Page) -> None:
    with cookie_client(server, admin.context) as http:
        form = http.get("/admin/logout")
        assert form.headers["cache-control"] == "no-store"
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
        assert token is not None
        for forged in ({}, {"csrf_token": "0" * 64}):
            refused = http.post("/admin/logout", data=forged)
            assert refused.status_code == 400, refused.text
        assert http.get("/admin/apps").status_code == 200  # still signed in


# -- the same flows with JavaScript off ------------------------------------------------------


def test_editing_rotating_deleting_disabling_and_revoking_work_without_javascript(
    server: LiveServer, browser: Browser, callback_server: CallbackServer
) -> None:
    """Every change is a plain form: with script off, each still takes effect where it matters,
    at the token endpoint and on /v2."""
    with fresh_page(browser, java_script_enabled=False) as admin:
        admin.goto(server.base_url + "/admin/login")
        sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(admin).to_have_url(server.base_url + "/admin/apps")
        app = add_app(admin, server, name=unique("Scriptless"), platform="API Services")
        assert app.secret is not None
        first = token_of(server, app)

        admin.get_by_role("link", name="Continue to the app").click()
        admin.get_by_role("link", name="Edit").click()
        renamed = unique("Renamed")
        admin.get_by_label("Name").fill(renamed)
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_role("status")).to_have_text("The app was saved.")
        expect(admin.get_by_role("heading", level=1)).to_have_text(renamed)

        admin.get_by_role("link", name="Rotate secret").click()
        admin.get_by_role("button", name="Rotate secret").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(
            f"A new client secret for {renamed}"
        )
        rotated = Added(app.client_id, admin.locator("#client-secret").inner_text(), renamed)
        refused = client_credentials(server, app.client_id, app.secret)
        assert refused.status_code == 401, refused.text
        second = token_of(server, rotated)

        admin.goto(f"{server.base_url}/admin/apps/{app.client_id}")
        admin.get_by_role("link", name="Delete").click()
        admin.get_by_role("button", name="Delete").click()
        expect(admin).to_have_url(f"{server.base_url}/admin/apps?done=app_deleted")
        assert organizations(server, first) == 401
        assert organizations(server, second) == 401

        worker = user_who_allowed(browser, server, callback_server, admin, "nojs-worker", "Portal")
        admin.goto(f"{server.base_url}/admin/users/{worker.user_id}")
        admin.get_by_role("button", name="Disable user").click()
        expect(admin.get_by_role("status")).to_have_text(
            "The user was disabled: their tokens and sessions ended."
        )
        assert organizations(server, worker.token) == 401

        consenter = user_who_allowed(
            browser, server, callback_server, admin, "nojs-consenter", "Dashboard"
        )
        admin.goto(server.base_url + "/admin/consents")
        admin.get_by_label("User email").fill(consenter.email)
        admin.get_by_role("button", name="Filter").click()
        rows = admin.locator("tbody tr")
        expect(rows).to_have_count(1)
        rows.get_by_role("button", name=re.compile("^Revoke")).click()
        expect(admin.get_by_role("status")).to_have_text(
            "The consent was revoked, and the tokens it allowed with it."
        )
        assert organizations(server, consenter.token) == 401


# -- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_filters_and_exports_json_lines(
    server: LiveServer, admin: Page, shots: Path
) -> None:
    app = add_app(admin, server, name=unique("Audited"), platform="API Services")
    admin.goto(server.base_url + "/admin/audit")
    first = admin.locator("tbody tr").first.get_by_role("cell")
    expect(first.nth(1)).to_have_text("app_created")
    expect(first.nth(2)).to_have_text(app.client_id)
    expect(first.nth(4)).to_have_text(ADMIN_EMAIL)
    expect(first.nth(6)).to_contain_text(f'name="{app.name}"')

    admin.get_by_label("Kind").select_option("app_created")
    admin.get_by_label("App client ID").fill(app.client_id)
    admin.get_by_role("button", name="Filter").click()
    expect(admin.locator("tbody tr")).to_have_count(1)
    look(admin, shots, "audit")

    export = admin.get_by_role("link", name="Export JSON lines")
    href = export.get_attribute("href")
    assert href is not None
    assert parse_qs(urlsplit(href).query) == {"kind": ["app_created"], "client_id": [app.client_id]}
    with cookie_client(server, admin.context) as http:
        response = http.get(href)
        everything = http.get("/admin/audit.jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"].startswith("attachment;")
    (line,) = [json.loads(x) for x in response.text.splitlines()]
    assert line["kind"] == "app_created" and line["client_id"] == app.client_id
    assert line["actor"] == ADMIN_EMAIL and line["detail"]["name"] == app.name
    ids = [json.loads(x)["id"] for x in everything.text.splitlines()]
    assert ids == sorted(ids, reverse=True) and len(ids) > 1
