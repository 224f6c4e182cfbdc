"""One-shot loopback redirect receiver for native apps and CLIs (RFC 8252 §7.3)."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ninja_oauth.client.errors import LoginTimeout

# The server's page style (web/static/ninja.css), inline: this page comes from the CLI's own
# listener, which has no stylesheet to serve. The policy allows that style and nothing else.
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ninja-oauth</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; color: #1d2733; }}
main {{ max-width: 26rem; margin: 4rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.3rem; margin-top: 0; }}
.error {{ background: #fdecea; color: #8a1c12; padding: .6rem; border-radius: 4px; }}
</style></head>
<body><main><h1>{title}</h1><p{css_class}>{text}</p></main></body></html>
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: LoopbackReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        receiver = self.server.receiver
        if parts.path != receiver.path:
            self._answer(404, "Not found", "This is not the login callback.")
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if receiver.offer(params):
            if "error" in params:
                said = f"The server said: {params['error']}."
                self._answer(200, "Login failed", said, error=True)
            else:
                # The code is yet to be redeemed (and the issuer checked): the program that
                # started the login says how it ended, not this page.
                self._answer(
                    200,
                    "Login received",
                    "The program that asked for it finishes the login: see it for the result. "
                    "You can close this window.",
                )
            # Only now: the CLI may exit as soon as it wakes, and the browser needs its page.
            receiver.notify()
        else:
            # A request that is not the answer to ours (wrong state, or a second callback) must
            # neither end the login nor be shown as its result.
            self._answer(
                400, "Not expected", "This callback does not belong to a pending login.", error=True
            )

    def _answer(self, status: int, title: str, text: str, *, error: bool = False) -> None:
        body = _PAGE.format(
            title=html.escape(title),
            text=html.escape(text),
            css_class=' class="error" role="alert"' if error else "",
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", _POLICY)
        # The page's URL holds the authorization code: never send it on as a Referer.
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the authorization code: never print it.
        return


class LoopbackReceiver:
    """Listens on 127.0.0.1 (an ephemeral port by default) for one redirect to `path`.

    Use as a context manager: the server runs in a background thread until the block ends.
    Set `expected_state` before sending the browser, so only the answer to this login counts.
    """

    def __init__(self, *, port: int = 0, path: str = "/callback") -> None:
        self.path = path
        self.expected_state: str | None = None
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._received = threading.Event()
        self._params: dict[str, str] | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        # RFC 8252 §7.3: the IP literal, not "localhost", which could resolve elsewhere.
        return f"http://127.0.0.1:{self.port}{self.path}"

    def offer(self, params: dict[str, str]) -> bool:
        """Accept the first callback that carries the expected state."""
        with self._lock:
            if self._params is not None or params.get("state") != self.expected_state:
                return False
            self._params = params
        return True

    def notify(self) -> None:
        self._received.set()

    def wait(self, timeout: float) -> dict[str, str]:
        """The callback's query parameters; `LoginTimeout` after `timeout` seconds."""
        if not self._received.wait(timeout):
            raise LoginTimeout(f"no login callback within {timeout:g} seconds")
        assert self._params is not None
        return self._params

    def __enter__(self) -> LoopbackReceiver:
        server = _Server(("127.0.0.1", self._requested_port), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
