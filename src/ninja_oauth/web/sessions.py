"""The sign-in cookie and CSRF tokens.

The cookie is Starlette's signed SessionMiddleware cookie (HttpOnly, SameSite=Lax), scoped to
``/ws/oauth``: cookies ignore ports, so a cookie for ``/`` on ``127.0.0.1`` would also reach
every loopback client app's redirect URI (issue 12, finding 3). It holds three random values:

* ``sid``: this browser, anonymous or not; pending authorize requests are bound to its digest;
* ``csrf``: the token every form echoes;
* ``auth``: once signed in, the token of a ``browser_sessions`` row (the store keeps its keyed
  digest and whose it is). Sign-out deletes the row: a copied cookie is dead at once.

All three are new at sign-in and at sign-out, so a cookie planted before either is worthless
after it (session fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "ninja_oauth_signin"
# The cookie's name before it moved from Path=/ to /ws/oauth: a browser would send both, and
# the old one would win; the sign-in pages expire it (ForgetOldCookie).
OLD_COOKIE_NAME = "ninja_oauth_session"
SESSION_MAX_AGE = 12 * 3600
# The cookie's path, under which every page that needs it lives (web/protocol.py).
COOKIE_PATH = "/ws/oauth"
# Every path a cookie of this server is scoped to: the sign-in pages', the console's and the
# account pages' (web/console/auth.py, Area). A redirect URI under one would receive it.
COOKIE_PATHS = (COOKIE_PATH, "/admin", "/account")
# Each area's sign-out page (``/logout`` leads to the first), with what the page calls the
# area. A page sees only its own area's cookie: each ends its own session and links to the
# others' (templates/logout.html).
SIGN_OUT_PAGES = (
    (COOKIE_PATH + "/logout", "the app sign-in pages"),
    ("/account/logout", "your account pages"),
    ("/admin/logout", "the administration console"),
)


def _new() -> str:
    return secrets.token_urlsafe(24)


def session_id(request: Request) -> str:
    """A random id for this browser, created on first use."""
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        sid = _new()
        request.session["sid"] = sid
    return sid


def binding_of(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def binding(request: Request) -> str:
    """What pending authorize requests are bound to: a digest of the browser's id."""
    return binding_of(session_id(request))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = _new()
        request.session["csrf"] = token
    return token


def same_token(expected: object, submitted: object) -> bool:
    """Whether a submitted CSRF token (or cookie value) is the expected one, in constant time.
    Compared as UTF-8 bytes: ``hmac.compare_digest`` raises TypeError for a str with a non-ASCII
    character, and either side can come from the client (a form field, a cookie)."""
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(
            expected.encode("utf-8", "surrogateescape"),
            submitted.encode("utf-8", "surrogateescape"),
        )
    )


def csrf_ok(request: Request, submitted: object) -> bool:
    return same_token(request.session.get("csrf"), submitted)


def auth_token(request: Request) -> str | None:
    """The signed-in session's token, if the cookie carries one (the store says if it is live)."""
    token = request.session.get("auth")
    return token if isinstance(token, str) else None


def new_browser_id() -> str:
    return _new()


def signed_in(request: Request, sid: str, token: str) -> None:
    """After a sign-in: a new browser id (``sid``, already chosen so that pending requests
    could be re-bound to it), a new CSRF token, and the session's token."""
    request.session.clear()
    request.session.update({"sid": sid, "csrf": _new(), "auth": token})


def signed_out(request: Request) -> None:
    """After a sign-out: nothing of the old cookie is kept."""
    request.session.clear()
    request.session.update({"sid": _new(), "csrf": _new()})


_OLD_COOKIE = OLD_COOKIE_NAME.encode() + b"="
_FORGET_OLD_COOKIE = (
    b"set-cookie",
    _OLD_COOKIE + b"; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
)


def _first_of_each_name(raw: bytes) -> bytes | None:
    """The Cookie header ``raw`` without the later cookies of a name already seen, as sent;
    None when no name repeats."""
    seen: set[bytes] = set()
    kept: list[bytes] = []
    chunks = raw.split(b";")
    for chunk in chunks:
        name = chunk.split(b"=", 1)[0].strip()
        if name in seen:
            continue
        seen.add(name)
        kept.append(chunk)
    return b";".join(kept) if len(kept) < len(chunks) else None


class FirstCookieOfEachName:
    """Of several cookies of one name, only the first reaches the app. A browser sends the
    cookies of longer paths first (RFC 6265 §5.4), so an area's own cookie (``/ws/oauth``,
    ``/admin``, ``/account``) comes before one of its name planted for ``/`` by another app on
    this host (cookies ignore ports). Starlette's cookie parsing keeps the last of a name,
    which would let such a cookie shut every user out of the area."""

    def __init__(self, app: ASGIApp, /) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie")
            kept = _first_of_each_name(raw) if raw else None
            if kept is not None:
                others = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
                scope = {**scope, "headers": [*others, (b"cookie", kept)]}
        await self.app(scope, receive, send)


class ForgetOldCookie:
    """Expires the pre-0005 sign-in cookie (Path=/) of a browser that still sends it: it would
    go on reaching loopback apps' redirect URIs until its 12 hours ran out."""

    def __init__(self, app: ASGIApp, /) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not any(name == b"cookie" and _OLD_COOKIE in value for name, value in scope["headers"]):
            await self.app(scope, receive, send)
            return

        async def send_forgetting(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), _FORGET_OLD_COOKIE]
            await send(message)

        await self.app(scope, receive, send_forgetting)
