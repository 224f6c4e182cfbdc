"""Security headers on every response, and an access log that never records a query string."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("ninja_oauth.access")
# What a path may hold unescaped (RFC 3986 pchar and "/"): the rest is logged %-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

_PAGE_HEADERS = [
    # Login and consent pages cannot be framed (clickjacking, RFC 6749 §10.13). No
    # form-action: browsers apply it to the whole redirect chain after a form POST, which would
    # block the final 307 to the app's redirect URI (another origin).
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # The authorize URL may carry client_secret (the documents): never leak it as a Referer.
    (b"referrer-policy", b"no-referrer"),
]

_PAGE_HEADER_NAMES = frozenset(name for name, _ in _PAGE_HEADERS)


class SecurityHeaders:
    """Raw ASGI middleware (no BaseHTTPMiddleware: it costs a task per request), and the access
    log when it is on (``NINJA_OAUTH_ACCESS_LOG``; off by default, as Keycloak's is: a line
    through ``logging`` costs about as much as issuing a token's database work, and a reverse
    proxy usually keeps this log)."""

    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                # Header names arrive lower-cased (ASGI; Starlette and to_starlette do so).
                if any(name in _PAGE_HEADER_NAMES for name, _ in headers):
                    present = {name for name, _ in headers}
                    headers += [(n, v) for n, v in _PAGE_HEADERS if n not in present]
                else:
                    headers += _PAGE_HEADERS
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if self.access_log and access_log.isEnabledFor(logging.INFO):
                # Path only: the query of an OAuth endpoint can hold a secret (DESIGN §6).
                # Escaped as a URL writes it: a decoded %0a would start a forged line.
                access_log.info(
                    '%s "%s %s" %d %.1fms',
                    (scope.get("client") or ("-",))[0],
                    scope["method"],
                    quote(scope["path"], safe=_PATH_SAFE),
                    status,
                    (time.perf_counter() - start) * 1000,
                )


class WithoutTraceback(logging.Filter):
    """Starlette re-raises an unexpected exception after answering 500, and uvicorn logs it with
    its traceback, whose messages could hold request data. Keep the type, drop the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = "unexpected %s (details withheld)"
            record.args = (record.exc_info[0].__name__,)
            record.exc_info = None
            record.exc_text = None
        return True


def install_log_filters() -> None:
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, WithoutTraceback) for f in error_log.filters):
        error_log.addFilter(WithoutTraceback())
    # httpx logs each request's whole URL at INFO: a webhook's target may carry its receiver's
    # secret in its path or query (``?sig=…``). Its warnings and errors still show.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def from_this_site(request: Request) -> bool:
    """Whether a POST comes from one of this server's own pages, as the browser says it: the
    console's, the account's and the app sign-in pages' forms all ask.

    The CSRF tokens bind a form to a session, but the pre-sign-in cookie of a sign-in form
    can be planted by another app on the same host (cookies ignore ports, and a page on
    127.0.0.1:5555 is same-site with 127.0.0.1:8080). Browsers send ``Sec-Fetch-Site``: only
    ``same-origin`` (or ``none``, typed by the user) passes. A client that sends no such header
    is no browser (a script or the tests): the tokens alone apply to it."""
    site = request.headers.get("sec-fetch-site")
    return site is None or site in ("same-origin", "none")
