"""The way in for a person (issue 11): the home page with and without demo data, the lines
`serve --demo` prints to paste, `demo-data --show`, and `login` failing fast on a dead server."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ninja_oauth.client import LoopbackReceiver
from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.passwords import hash_password
from ninja_oauth.store.demo import DEMO_ADMIN_EMAIL, demo_credentials, ensure_demo
from ninja_oauth.store.repositories import build_repositories
from tests.support.flows import authorize, query_of
from tests.support.server import CLI, LiveServer, free_port
from tests.support.stores import migrated_store

PLATFORMS = ["api_services", "web", "native", "spa"]


class _Page(HTMLParser):
    """The links (href → text), headings and <pre> blocks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.headings: list[str] = []
        self.pres: list[str] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "h1", "h2", "h3", "pre"):
            self._open = (tag, dict(attrs).get("href") or "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or self._open[0] != tag:
            return
        text = " ".join("".join(self._text).split())
        if tag == "a":
            self.links[self._open[1]] = text
        elif tag == "pre":
            self.pres.append("".join(self._text))
        else:
            self.headings.append(text)
        self._open = None


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def authorize_links(page: _Page) -> dict[str, dict[str, str]]:
    """The page's authorize links by client_id: their query parameters."""
    found = {}
    for href in page.links:
        parts = urlsplit(href)
        if parts.path == "/ws/oauth/authorize":
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            found[params["client_id"]] = params
    return found


def verifiers(page: _Page) -> dict[str, str]:
    """The code_verifier the page shows for each client_id (in its token request)."""
    shown = {}
    for block in page.pres:
        client_id = re.search(r"client_id=(\S+)", block)
        verifier = re.search(r"code_verifier=(\S+)", block)
        assert client_id and verifier, block
        shown[client_id.group(1)] = verifier.group(1)
    return shown


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def banner_values(text: str) -> dict[str, Any]:
    """What the demo banner names: the admin password, each platform's client_id and secret."""
    admin = re.search(rf"admin login +{DEMO_ADMIN_EMAIL} / (\S+)", text)
    assert admin, text
    values: dict[str, Any] = {"password": admin.group(1)}
    for platform in PLATFORMS:
        block = re.search(rf"^  {platform} +client_id=(\S+)\n((?: {{16}}\S+\n)*)", text, re.M)
        assert block, (platform, text)
        secret = re.search(r"client_secret=(\S+)", block.group(2))
        values[platform] = (block.group(1), secret.group(1) if secret else None)
    return values


def banner_of(log: str) -> str:
    """The lines `serve --demo` prints before uvicorn starts logging."""
    start = log.index("Demo data (")
    end = log.index("ninja-oauth api GET /v2/organizations\n") + len(
        "ninja-oauth api GET /v2/organizations\n"
    )
    return log[start:end]


# -- the home page ------------------------------------------------------------------------


def test_the_home_page_says_what_this_is_and_links_sign_in_docs_and_metadata(
    sqlite_server: LiveServer,
) -> None:
    with sqlite_server.client() as http:
        answer = http.get("/")
        page = read_page(answer.text)
        reached = {href: http.get(href).status_code for href in page.links}

    assert answer.status_code == 200
    assert "A NinjaOne-compatible OAuth 2.0 authorization server" in answer.text
    assert "Public API v2" in answer.text
    assert page.headings == ["ninja-oauth", "Sign in", "Reference"]
    assert page.links == {
        "/admin": "Administration console",
        "/account/apps": "Your account",
        "/docs": "API documentation",
        "/.well-known/oauth-authorization-server": "Authorization server metadata",
    }
    # The console and the account send a visitor to their sign-in page; the others answer.
    assert reached == {
        "/admin": 303,
        "/account/apps": 303,
        "/docs": 200,
        "/.well-known/oauth-authorization-server": 200,
    }


def test_without_demo_data_the_home_page_has_no_demo_section(sqlite_server: LiveServer) -> None:
    page = read_page(httpx.get(sqlite_server.base_url + "/").text)

    assert "Demo apps" not in page.headings
    assert authorize_links(page) == {}


def test_with_demo_data_each_app_with_a_redirect_uri_has_an_authorize_link_with_pkce(
    demo_server: LiveServer,
) -> None:
    banner = banner_values(demo_server.log_text())
    answer = httpx.get(demo_server.base_url + "/")
    page = read_page(answer.text)
    links = authorize_links(page)
    shown = verifiers(page)

    assert answer.headers["cache-control"] == "no-store"  # the verifiers are this view's
    assert "Demo apps" in page.headings
    assert [h for h in page.headings if h.startswith("Demo ") and h != "Demo apps"] == [
        "Demo API Services app",
        "Demo Web app",
        "Demo Native app",
        "Demo Single-Page app",
    ]
    redirect = {
        "web": "http://127.0.0.1:8000/callback",
        "native": "http://127.0.0.1/callback",
        "spa": "http://localhost:3000/callback",
    }
    assert set(links) == {banner[p][0] for p in redirect}
    for platform, uri in redirect.items():
        params = links[banner[platform][0]]
        assert params == {
            "response_type": "code",
            "client_id": banner[platform][0],
            "redirect_uri": uri,
            "scope": "monitoring",
            "state": params["state"],
            "code_challenge": s256(shown[banner[platform][0]]),
            "code_challenge_method": "S256",
        }
    # No secret and no password on a page anyone can open.
    for secret in (banner["password"], banner["web"][1], banner["api_services"][1]):
        assert secret not in answer.text
    # Each view draws its own state and verifier.
    again = authorize_links(read_page(httpx.get(demo_server.base_url + "/").text))
    assert all(again[c]["state"] != links[c]["state"] for c in links)
    assert all(again[c]["code_challenge"] != links[c]["code_challenge"] for c in links)


def test_the_demo_web_apps_link_works_through_sign_in_consent_and_the_token_request(
    demo_server: LiveServer,
) -> None:
    shown = banner_values(demo_server.cli("demo-data", "--show").stdout)
    web_id, web_secret = shown["web"]
    page = read_page(httpx.get(demo_server.base_url + "/").text)
    params = authorize_links(page)[web_id]

    with demo_server.client() as browser:
        final = authorize(browser, params, user=(DEMO_ADMIN_EMAIL, shown["password"]))
    assert final.status_code == 307
    assert final.headers["location"].startswith("http://127.0.0.1:8000/callback?")
    answer = query_of(final.headers["location"])
    assert answer["state"] == params["state"]

    with demo_server.client() as app:
        tokens = app.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "client_id": web_id,
                "client_secret": web_secret,
                "redirect_uri": params["redirect_uri"],
                "code_verifier": verifiers(page)[web_id],
            },
        )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "monitoring"


# -- what `serve --demo` prints, and `demo-data --show` -----------------------------------


def test_serve_demo_prints_lines_that_work_when_pasted_into_a_shell(
    demo_server: LiveServer, tmp_path: Path
) -> None:
    banner = banner_of(demo_server.log_text())
    lines = banner.splitlines()
    exports = [line.strip() for line in lines if line.strip().startswith("export ")]
    service_id, service_secret = banner_values(banner)["api_services"]

    assert exports[0] == (
        f"export NINJA_BASE_URL={demo_server.base_url} NINJA_CLIENT_ID={service_id} "
        f"NINJA_CLIENT_SECRET={service_secret}"
    )
    assert exports[1].startswith('export PATH="') and "# or: source " in exports[1]
    # Pasted into a shell that has neither the variables nor the virtualenv on its PATH.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_")}
    env.update(PATH="/usr/bin:/bin", HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    script = "\n".join([*exports, "ninja-oauth token", "ninja-oauth api GET /v2/organizations"])
    pasted = subprocess.run(
        ["bash", "-c", "set -e\n" + script], env=env, capture_output=True, text=True, timeout=60
    )
    assert pasted.returncode == 0, pasted.stderr
    token, organizations = pasted.stdout.splitlines()
    assert re.fullmatch(r"[A-Za-z0-9._~+/=-]{20,}", token)
    assert isinstance(json.loads(organizations), list)


def test_demo_data_show_prints_again_what_serve_printed(demo_server: LiveServer) -> None:
    shown = demo_server.cli("demo-data", "--show")

    assert shown.stdout == banner_of(demo_server.log_text())
    assert shown.stderr == ""


def test_demo_data_show_without_demo_data_fails_with_one_line(sqlite_server: LiveServer) -> None:
    shown = sqlite_server.cli("demo-data", "--show", check=False)

    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr == (
        "ninja-oauth: no demo data in this database: start `ninja-oauth serve --demo` once\n"
    )


def test_demo_credentials_leave_out_what_was_changed_since(tmp_path: Path) -> None:
    """A rotated secret or a changed password no longer works: it is not shown as if it did."""
    hasher = SecretHasher(b"k" * 40)
    with migrated_store(f"sqlite:///{tmp_path / 'demo.db'}") as store:
        repos = build_repositories(store)
        assert demo_credentials(repos, hasher) is None
        with store.transaction():
            created = ensure_demo(repos, hasher)
            web = next(app for app, _ in created.apps if app.platform == "web")
            repos.apps.set_secret_digest(web.client_id, hasher.digest("new", s.CLIENT_SECRET))
            admin = repos.users.find_by_email(DEMO_ADMIN_EMAIL)
            assert admin is not None
            repos.users.set_password_hash(admin[0].id, hash_password("changed-password"))
        with store.transaction():
            again = demo_credentials(repos, hasher)

    assert again is not None
    assert created.admin_password_current
    assert not again.admin_password_current
    before = {app.platform.value: secret for app, secret in created.apps}
    after = {app.platform.value: secret for app, secret in again.apps}
    assert before["web"] is not None
    assert after == {**before, "web": None}  # the others still apply; public apps have none


# -- the client CLI's login ---------------------------------------------------------------


def test_login_fails_at_once_with_one_line_when_nothing_listens(tmp_path: Path) -> None:
    port = free_port()  # closed again: nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    started = time.monotonic()
    result = subprocess.run(
        [*CLI, "login", "--base-url", f"http://127.0.0.1:{port}", "--client-id", "x",
         "--no-browser", "--timeout", "120"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert time.monotonic() - started < 15
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"ninja-oauth: cannot reach http://127.0.0.1:{port} (")
    assert result.stderr.endswith("): is the server running at that URL?\n")


def test_the_logged_in_page_has_the_servers_look_and_a_strict_policy() -> None:
    with LoopbackReceiver() as receiver:
        receiver.expected_state = "s1"
        page = httpx.get(receiver.redirect_uri, params={"code": "c1", "state": "s1"})
        receiver.wait(timeout=5)

    assert page.status_code == 200
    assert "<h1>Login received</h1>" in page.text
    assert "background: #f4f6f8" in page.text  # web/static/ninja.css's page
    assert "<main>" in page.text
    assert page.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    )
    assert page.headers["referrer-policy"] == "no-referrer"
