"""Every SDK and CLI flow against a running ninja-oauth server (`ninja-oauth serve`).

The browser steps (login page, consent page) are driven by `Browser`, which keeps the session
cookie and submits the forms as a user's browser would. Time passes for the SDK on a
`FakeClock`, so expiry and refresh happen without waiting.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ninja_oauth.client import (
    AccessDenied,
    InvalidClient,
    InvalidGrant,
    NinjaOAuth,
    TokenCache,
)
from ninja_oauth.client.manager import LOGIN_AGAIN
from tests.support.clock import FakeClock
from tests.support.server import free_port, start_server

from .browser import Browser

NINJA = Path(sys.executable).with_name("ninja-oauth")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, as in tests/browser
EMAIL = "alice@example.com"
PASSWORD = "correct horse battery staple"
WEB_REDIRECT = "http://127.0.0.1:9/oauth/callback"  # never visited: the test reads the Location
NATIVE_REDIRECT = "http://127.0.0.1/callback"  # any port matches (RFC 8252 §7.3)


@dataclass
class NinjaServer:
    base_url: str
    env: dict[str, str]
    service: dict[str, Any]
    web: dict[str, Any]
    native: dict[str, Any]

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NINJA), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def service_auth(self, **options: Any) -> NinjaOAuth:
        return NinjaOAuth.client_credentials(
            base_url=self.base_url,
            client_id=self.service["client_id"],
            client_secret=self.service["client_secret"],
            **options,
        )


@pytest.fixture(scope="module")
def ninja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NinjaServer]:
    root = tmp_path_factory.mktemp("ninja-oauth")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{root}/db.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_")}
    env |= {
        "NINJA_OAUTH_DATABASE_URL": database_url,
        "NINJA_OAUTH_SECRET_KEY": "client-sdk-tests-" + "k" * 32,
        "NINJA_OAUTH_ISSUER": base_url,
        "NINJA_OAUTH_CACHE_DIR": str(root / "cache"),
    }
    server = NinjaServer(base_url, env, {}, {}, {})

    def create(*args: str) -> dict[str, Any]:
        done = server.cli("apps", "create", *args, "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    server.service = create("--name", "service", "--platform", "api_services")
    server.web = create("--name", "web", "--platform", "web", "--redirect-uri", WEB_REDIRECT)
    server.native = create(
        "--name", "cli", "--platform", "native", "--redirect-uri", NATIVE_REDIRECT
    )
    done = server.cli("users", "create", "--email", EMAIL, "--password", PASSWORD)
    assert done.returncode == 0, done.stderr

    live = start_server(database_url, root, port=port, env=env)
    try:
        yield server
    finally:
        live.stop()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def organizations_with_a_plain_token(ninja: NinjaServer) -> Any:
    """The organizations as seen with a token obtained without the SDK."""
    token = httpx.post(
        f"{ninja.base_url}/ws/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ninja.service["client_id"],
            "client_secret": ninja.service["client_secret"],
            "scope": "monitoring",
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{ninja.base_url}/v2/organizations", headers=headers).json()


def native_auth(ninja: NinjaServer, cache: TokenCache, **options: Any) -> NinjaOAuth:
    return NinjaOAuth.authorization_code(
        base_url=ninja.base_url,
        client_id=ninja.native["client_id"],
        scopes=["monitoring", "offline_access"],
        cache=cache,
        **options,
    )


def browser_login(auth: NinjaOAuth) -> Browser:
    with Browser(email=EMAIL, password=PASSWORD) as browser:
        auth.login(open_browser=lambda url: browser.authorize(url, visit_client=True), timeout=30)
    return browser


def test_client_credentials_token_calls_the_public_api(ninja: NinjaServer) -> None:
    auth = ninja.service_auth(scopes=["monitoring"])

    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        first = api.get("/v2/organizations")
        token = auth.token
        second = api.get("/v2/organizations")

    expected = organizations_with_a_plain_token(ninja)
    assert isinstance(expected, list)
    assert (first.status_code, first.json()) == (200, expected)
    assert (second.status_code, second.json()) == (200, expected)
    assert auth.token is token  # reused, not fetched again
    assert token is not None and (token.scope, token.refresh_token) == ("monitoring", None)


def test_async_client_credentials_and_refresh(ninja: NinjaServer) -> None:
    auth = ninja.service_auth(scopes="monitoring")

    async def main() -> tuple[int, int, bool]:
        async with httpx.AsyncClient(base_url=auth.api_base_url, auth=auth) as api:
            first = await api.get("/v2/organizations")
            before = auth.token
            await auth.arefresh()
            second = await api.get("/v2/organizations")
        assert before is not None and auth.token is not None
        return first.status_code, second.status_code, before.access_token != auth.token.access_token

    assert asyncio.run(main()) == (200, 200, True)


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_both_client_authentication_methods_work(ninja: NinjaServer, auth_method: str) -> None:
    token = ninja.service_auth(auth_method=auth_method).get_token()

    assert token.scope == "monitoring management control"


def test_wrong_secret_is_invalid_client_with_the_server_description(ninja: NinjaServer) -> None:
    auth = NinjaOAuth.client_credentials(
        base_url=ninja.base_url,
        client_id=ninja.service["client_id"],
        client_secret="not-the-secret-0123456789",
    )

    with pytest.raises(InvalidClient) as raised:
        auth.get_token()

    assert raised.value.error == "invalid_client"
    assert raised.value.description is not None
    assert raised.value.description.startswith("The client credentials are not valid")
    assert "not-the-secret-0123456789" not in str(raised.value)


def test_server_app_authorization_code_with_state_and_refresh(ninja: NinjaServer) -> None:
    auth = NinjaOAuth.authorization_code(
        base_url=ninja.base_url,
        client_id=ninja.web["client_id"],
        client_secret=ninja.web["client_secret"],
        redirect_uri=WEB_REDIRECT,
        scopes=["monitoring", "offline_access"],
    )
    request = auth.authorization_url()

    with Browser(email=EMAIL, password=PASSWORD) as browser:
        callback = browser.authorize(request.url)

    assert browser.pages == ["login", "consent"]
    assert callback.startswith(WEB_REDIRECT + "?")
    assert query_of(callback)["state"] == request.state
    token = auth.fetch_token(callback, request)
    assert token.scope == "monitoring offline_access" and token.refresh_token
    refreshed = auth.refresh()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token not in (None, token.refresh_token)
    with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
        assert api.get("/v2/organizations").status_code == 200


def test_denied_consent_is_access_denied(ninja: NinjaServer) -> None:
    auth = NinjaOAuth.authorization_code(
        base_url=ninja.base_url,
        client_id=ninja.web["client_id"],
        client_secret=ninja.web["client_secret"],
        redirect_uri=WEB_REDIRECT,
        scopes=["control"],  # never granted before, so the consent page is shown
    )
    request = auth.authorization_url()

    with Browser(email=EMAIL, password=PASSWORD, decision="Deny") as browser:
        callback = browser.authorize(request.url)

    with pytest.raises(AccessDenied):
        auth.fetch_token(callback, request)
    assert auth.token is None


def test_native_login_caches_the_tokens_0600_and_refreshes_silently_after_expiry(
    ninja: NinjaServer, token_cache: TokenCache
) -> None:
    auth = native_auth(ninja, token_cache)

    browser_login(auth)

    assert stat.S_IMODE(token_cache.path.stat().st_mode) == 0o600
    first = token_cache.load(ninja.base_url, ninja.native["client_id"])
    assert first is not None and first == auth.token and first.refresh_token
    # A later process, when the access token has expired: tokens from the cache, refreshed.
    assert first.expires_at is not None
    later = native_auth(ninja, TokenCache(token_cache.directory), clock=FakeClock(first.expires_at))
    with httpx.Client(base_url=later.api_base_url, auth=later) as api:
        assert api.get("/v2/organizations").status_code == 200
    refreshed = token_cache.load(ninja.base_url, ninja.native["client_id"])
    assert refreshed is not None and refreshed.access_token != first.access_token
    assert refreshed.refresh_token not in (None, first.refresh_token)


def test_revoked_refresh_token_is_invalid_grant_asking_to_log_in_again(
    ninja: NinjaServer, token_cache: TokenCache
) -> None:
    auth = native_auth(ninja, token_cache)
    browser_login(auth)
    assert auth.token is not None and auth.token.refresh_token is not None
    revoked = httpx.post(
        f"{ninja.base_url}/ws/oauth/revoke",
        data={"token": auth.token.refresh_token, "client_id": ninja.native["client_id"]},
    )
    assert revoked.status_code == 200

    with pytest.raises(InvalidGrant) as raised:
        auth.refresh()

    assert (raised.value.error, raised.value.hint) == ("invalid_grant", LOGIN_AGAIN)
    assert token_cache.load(ninja.base_url, ninja.native["client_id"]) is None


def test_logout_revokes_the_tokens(ninja: NinjaServer, token_cache: TokenCache) -> None:
    auth = native_auth(ninja, token_cache)
    browser_login(auth)
    token = auth.token
    assert token is not None

    assert auth.revoke() is True

    headers = {"Authorization": f"Bearer {token.access_token}"}
    assert httpx.get(f"{ninja.base_url}/v2/organizations", headers=headers).status_code == 401
    assert token_cache.load(ninja.base_url, ninja.native["client_id"]) is None


def test_cli_token_prints_a_token_the_api_accepts(ninja: NinjaServer) -> None:
    credentials = {
        "NINJA_BASE_URL": ninja.base_url,
        "NINJA_CLIENT_ID": ninja.service["client_id"],
        "NINJA_CLIENT_SECRET": ninja.service["client_secret"],
    }

    done = ninja.cli("token", "--scope", "monitoring", env=credentials)
    headers = {"Authorization": f"Bearer {done.stdout.strip()}"}
    answer = httpx.get(f"{ninja.base_url}/v2/organizations", headers=headers)
    as_json = ninja.cli("token", "--json", env=credentials)

    assert (done.returncode, done.stderr) == (0, "")
    assert answer.status_code == 200
    body = json.loads(as_json.stdout)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["scope"]) == ("Bearer", "monitoring management control")
    assert ninja.service["client_secret"] not in done.stdout + as_json.stdout


def cli_login(ninja: NinjaServer, env: dict[str, str], *options: str) -> str:
    """`ninja-oauth login --no-browser` as the native app, its URL followed by a user who signs
    in and allows; what it said after the URL."""
    command = [
        str(NINJA), "login", "--client-id", ninja.native["client_id"], *options,
        "--no-browser", "--timeout", "30",
    ]  # fmt: skip
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as login:
        assert login.stderr is not None
        assert login.stderr.readline() == "Open this URL in a browser to log in:\n"
        url = login.stderr.readline().strip()
        with Browser(email=EMAIL, password=PASSWORD) as browser:
            browser.authorize(url, visit_client=True)
        said = login.stderr.read()
        assert login.wait(timeout=30) == 0, said
    return said


def test_cli_login_then_api_then_logout(ninja: NinjaServer, tmp_path: Path) -> None:
    env = {**ninja.env, "NINJA_OAUTH_CACHE_DIR": str(tmp_path / "cli-cache")}
    said = cli_login(ninja, env, "--base-url", ninja.base_url)
    assert said.startswith(f"Logged in to {ninja.base_url} (scope: monitoring offline_access); ")

    called = ninja.cli("api", "GET", "/v2/organizations", "--base-url", ninja.base_url, env=env)
    assert (called.returncode, json.loads(called.stdout)) == (
        0,
        organizations_with_a_plain_token(ninja),
    )
    logout = ninja.cli("logout", "--base-url", ninja.base_url, env=env)
    assert (logout.returncode, logout.stderr) == (0, "Logged out.\n")
    after = ninja.cli("api", "GET", "/v2/organizations", "--base-url", ninja.base_url, env=env)
    assert after.returncode == 1
    assert after.stderr == (
        f"ninja-oauth: not logged in to {ninja.base_url}. Run `ninja-oauth login`.\n"
    )


def test_cli_login_by_another_name_with_issuer_and_logout_despite_another_client_id(
    ninja: NinjaServer, tmp_path: Path
) -> None:
    # The README's shell: NINJA_CLIENT_ID names the client-credentials app, the user logs in
    # with a native app, through localhost (the issuer says 127.0.0.1).
    env = {
        **ninja.env,
        "NINJA_OAUTH_CACHE_DIR": str(tmp_path / "cli-cache"),
        "NINJA_CLIENT_ID": ninja.service["client_id"],
    }
    by_name = ninja.base_url.replace("127.0.0.1", "localhost")
    cli_login(ninja, env, "--base-url", by_name, "--issuer", ninja.base_url)
    logout = ninja.cli("logout", "--base-url", by_name, env=env)
    assert (logout.returncode, logout.stderr) == (0, "Logged out.\n")
    assert TokenCache(tmp_path / "cli-cache").client_ids(by_name) == []


class RedirectBlockedByCSP(AssertionError):
    """Chromium refused to follow the redirects of a login or consent form to the loopback."""


@pytest.mark.browser
def test_native_login_with_a_real_chromium(ninja: NinjaServer, token_cache: TokenCache) -> None:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Never asked for before by this app, so the consent page is shown.
    auth = NinjaOAuth.authorization_code(
        base_url=ninja.base_url,
        client_id=ninja.native["client_id"],
        scopes=["management", "offline_access"],
        cache=token_cache,
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = chromium.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "form-action" in m.text else None)

        def submit_and_wait(submit: Callable[[], None], until: Callable[[], bool]) -> None:
            submit()
            deadline = time.monotonic() + 10
            while not until():
                if violations:
                    raise RedirectBlockedByCSP(violations[0])
                assert time.monotonic() < deadline, f"stuck at {page.url}"
                page.wait_for_timeout(100)

        def on_loopback() -> bool:
            here = urlsplit(page.url)
            return here.hostname == "127.0.0.1" and here.netloc != urlsplit(ninja.base_url).netloc

        def press_enter() -> None:
            page.locator("input[name=password]").press("Enter")

        def open_browser(url: str) -> None:
            page.goto(url)
            page.locator("input[name=email]").fill(EMAIL)
            page.locator("input[name=password]").fill(PASSWORD)
            allow = page.get_by_role("button", name="Allow", exact=True)
            submit_and_wait(press_enter, lambda: allow.count() > 0 or on_loopback())
            if not on_loopback():
                submit_and_wait(allow.click, on_loopback)

        try:
            token = auth.login(open_browser=open_browser, timeout=30)
            heading = page.get_by_role("heading").text_content()
        finally:
            chromium.close()

    assert heading == "Login received"
    assert token.scope == "management offline_access"
    assert token_cache.load(ninja.base_url, ninja.native["client_id"]) == token
