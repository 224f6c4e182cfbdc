"""Real Chromium (Debian's, never a downloaded one) and a loopback app that records its callback."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# A page that never appears fails within seconds, not at pytest-timeout's 300 s.
PAGE_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Hit:
    """One request the app's callback server received."""

    method: str
    target: str  # the raw request target: path and query
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class CallbackServer:
    """The app's side of the redirect: a plain HTTP server on 127.0.0.1 that records requests.

    It answers every path with a small page, and GET /framer?src=URL with a page that frames
    URL (to check that the login and consent pages refuse to be framed by another origin).
    """

    port: int
    hits: list[Hit] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.origin}/callback"

    def callbacks(self) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == "/callback"]

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()


def _handler(owner: CallbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            owner.record(
                Hit(
                    method=self.command,
                    target=self.path,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
            )
            if parts.path == "/framer":
                src = parse_qs(parts.query).get("src", [""])[0]
                html = f'<!doctype html><iframe id="victim" src="{escape(src)}"></iframe>'
            else:
                html = "<!doctype html><title>Callback</title><p>Callback received.</p>"
            data = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output clean

    return Handler


@pytest.fixture(scope="module")
def callback_server() -> Iterator[CallbackServer]:
    owner = CallbackServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(owner))
    httpd.daemon_threads = True
    owner.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, name="callback-server", daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for this module; each test gets its own context. Not session-wide:
    Playwright's sync API keeps an event loop running on the main thread while it is open, and
    asyncio.run() in later test modules would fail."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Browser, callback_server: CallbackServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies, so no session) per test."""
    callback_server.clear()
    ctx = browser.new_context()
    ctx.set_default_timeout(PAGE_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()
