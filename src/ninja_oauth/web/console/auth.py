"""Who is signed in to the console (``/admin``) or to the account pages (``/account``).

Each area has its own cookie, scoped to its path (cookies ignore ports: a cookie for ``/``
on 127.0.0.1 would reach every loopback app's redirect URI, issue 12). The cookie holds only
the random token of a ``browser_sessions`` row, so deleting the row (sign-out, a disabled
user, a reset password) ends the session at once, and every sign-in makes a new token. The
cookie is HttpOnly, SameSite=Strict, and Secure when the issuer is https.

CSRF: every state-changing form and admin API call made with a session carries a token derived
from the session's own token by a keyed hash (nothing more to store; a new session, a new
token). Before sign-in, the sign-in form is bound to a random pre-sign-in cookie (double
submit), so a login CSRF cannot sign a victim in as someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import Enum

from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.oauth.domain import User
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.web.context import WebContext
from ninja_oauth.web.sessions import same_token

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class Area(Enum):
    """Where a console session is valid: its path is its cookie's path."""

    ADMIN = "/admin"
    ACCOUNT = "/account"

    @property
    def cookie(self) -> str:
        return "ninja_oauth_" + self.name.lower()

    @property
    def signin_cookie(self) -> str:
        """The pre-sign-in CSRF cookie of this area's sign-in form."""
        return self.cookie + "_signin"


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed-in console user, with the session token their cookie holds."""

    user: User
    token: str


def _secure(ctx: WebContext) -> bool:
    return ctx.settings.issuer.startswith("https://")


def csrf_for(ctx: WebContext, token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token``."""
    mac = hmac.new(ctx.settings.key_bytes, b"console-csrf:" + token.encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_ok(ctx: WebContext, signed: Signed, submitted: object) -> bool:
    return same_token(csrf_for(ctx, signed.token), submitted)


async def signed_in(request: Request, ctx: WebContext, area: Area) -> Signed | None:
    """The user whose live session this request's cookie holds (None if none, or disabled)."""
    token = request.cookies.get(area.cookie)
    if not token or len(token) > 100:
        return None

    def lookup() -> User | None:
        uid = ctx.sessions.user_id(token, int(time.time()), area.name.lower())
        user = ctx.repos.users.get(uid) if uid is not None else None
        return user if user is not None and not user.disabled else None

    user = await ctx.store.run(lookup, Writes.APPENDS)
    return Signed(user, token) if user is not None else None


def set_session_cookie(response: Response, ctx: WebContext, area: Area, token: str) -> None:
    response.set_cookie(
        area.cookie,
        token,
        max_age=ctx.sessions.lifetime,
        path=area.value,
        secure=_secure(ctx),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(area.signin_cookie, path=area.value)


def clear_session_cookie(response: Response, ctx: WebContext, area: Area) -> None:
    response.delete_cookie(
        area.cookie, path=area.value, secure=_secure(ctx), httponly=True, samesite="strict"
    )


def signin_csrf(request: Request) -> tuple[str, bool]:
    """The sign-in form's CSRF token, and whether its cookie must be set (a new one)."""
    area = area_of(request)
    current = request.cookies.get(area.signin_cookie)
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(24), True


def set_signin_cookie(response: Response, ctx: WebContext, area: Area, value: str) -> None:
    response.set_cookie(
        area.signin_cookie,
        value,
        max_age=3600,
        path=area.value,
        secure=_secure(ctx),
        httponly=True,
        samesite="strict",
    )


def signin_csrf_ok(request: Request, submitted: object) -> bool:
    return same_token(request.cookies.get(area_of(request).signin_cookie), submitted)


def area_of(request: Request) -> Area:
    return Area.ACCOUNT if request.url.path.startswith(Area.ACCOUNT.value) else Area.ADMIN
