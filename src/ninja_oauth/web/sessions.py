"""The login session (Starlette's signed, HttpOnly, SameSite=Lax cookie) and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request

COOKIE_NAME = "ninja_oauth_session"
SESSION_MAX_AGE = 12 * 3600


def session_id(request: Request) -> str:
    """A random id for this browser session, created on first use."""
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        sid = secrets.token_urlsafe(24)
        request.session["sid"] = sid
    return sid


def binding(request: Request) -> str:
    """What pending authorize requests are bound to: a digest of the session id."""
    return hashlib.sha256(session_id(request).encode()).hexdigest()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected, submitted)
    )


def current_user_id(request: Request) -> int | None:
    uid = request.session.get("uid")
    return uid if isinstance(uid, int) else None


def log_in(request: Request, user_id: int) -> None:
    request.session["uid"] = user_id
    # A new CSRF token after the privilege change.
    request.session["csrf"] = secrets.token_urlsafe(24)


def log_out(request: Request) -> None:
    request.session.pop("uid", None)
