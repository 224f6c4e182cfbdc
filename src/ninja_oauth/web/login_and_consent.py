"""The login and consent forms' handlers (POST …/login, POST …/consent): each answers 303 back
to GET …/authorize?request_id=…, which sends the 307 to the app (web/authorize.py); and the
sign-out form (…/logout)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ninja_oauth.oauth.domain import User
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.throttling import Throttle
from ninja_oauth.passwords import hash_password, needs_rehash, verify_password
from ninja_oauth.web import sessions
from ninja_oauth.web.authlib_adapter import client_address
from ninja_oauth.web.authorize import login_page
from ninja_oauth.web.context import WebContext, context, templates
from ninja_oauth.web.errors import error_page
from ninja_oauth.web.security import from_this_site

_BAD_LOGIN = "The email or password is not correct."


def _back_to_authorize(request: Request, request_id: str) -> Response:
    url = sessions.COOKIE_PATH + "/authorize?" + urlencode({"request_id": request_id})
    return RedirectResponse(url, status_code=303)


async def _app_name(request: Request, request_id: str) -> str | None:
    """The name of the app a pending request is for, to keep it in the login page's heading."""
    svc = context(request)
    binding = sessions.binding(request)

    def lookup() -> str | None:
        pending = svc.pending.get(request_id, binding, int(time.time()))
        app = svc.repos.apps.get(pending.params.get("client_id", "")) if pending else None
        return app.name if app else None

    return await svc.store.run(lookup, Writes.APPENDS) if request_id else None


async def _checked_form(request: Request) -> FormData | Response:
    """The form a page POSTed, or the error page when the browser says another site sent it
    (``from_this_site``: a page on another port of this host can plant the sign-in cookie and
    post a login of its own) or its CSRF token is not this browser's."""
    form = await request.form()
    if from_this_site(request) and sessions.csrf_ok(request, form.get("csrf_token")):
        return form
    return _expired_form(request)


def _expired_form(request: Request) -> Response:
    return error_page(
        request,
        400,
        "This form has expired",
        "The page was open too long or was sent from another browser.",
        "invalid_request",
    )


@dataclass(frozen=True, slots=True)
class Checked:
    """A sign-in whose password was right: ``finish`` (inside the unit of work that starts
    the session) clears the failure counts, rehashes an old hash and records the audit event."""

    user: User
    finish: Callable[[], None]


class AccountChanged(Exception):
    """The account was disabled or its password changed while its sign-in was checked."""


CHANGED = "This account changed while you signed in. Sign in again."


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    message: str
    retry_after: int | None = None


async def check_credentials(
    request: Request, svc: WebContext, email: str, password: str, where: str
) -> Checked | Refused:
    """The throttled password check that every sign-in form shares (authorize, console,
    account). A failure is counted and audited; ``where`` says which form, for the log."""
    address = client_address(request, svc.settings.trusted_proxies)
    keys = Throttle.login_keys(email, address)
    now = int(time.time())
    throttle = svc.server.throttle

    attempt = await svc.store.run(partial(throttle.login_attempt, keys, now), Writes.CHANGES)
    if attempt.wait:
        wait = attempt.wait
        return Refused(429, f"Too many sign-in attempts. Try again in {wait} seconds.", wait)
    found = await svc.store.run(partial(svc.repos.users.find_by_email, email), Writes.APPENDS)
    ok = await svc.hashing_thread(verify_password, found[1] if found else None, password)
    if not ok or found is None or found[0].disabled:

        def failed() -> None:
            # The email only when it names an account: never a typed password by mistake.
            svc.repos.audit.record(
                "login_failed",
                user_id=found[0].id if found else None,
                actor=found[0].email if found else None,
                address=address,
                where=where,
                reason="disabled" if ok and found else "bad_credentials",
            )

        await svc.store.run(failed, Writes.CHANGES)
        if ok and found is not None:
            # Said only to whoever knows the password (the attempt still counted).
            return Refused(403, "This account is disabled. Ask an administrator to enable it.")
        return Refused(401, _BAD_LOGIN)
    user, stored_hash = found
    new_hash = (
        await svc.hashing_thread(hash_password, password) if needs_rehash(stored_hash) else None
    )

    def finish() -> None:
        # Read again where the session starts: an administrator who disabled the user or
        # reset the password during the check above wins (the unit is rolled back).
        now_found = svc.repos.users.find_by_email(email)
        if now_found is None or now_found[0].disabled or now_found[1] != stored_hash:
            raise AccountChanged
        throttle.login_succeeded(keys, attempt)
        if new_hash is not None:
            svc.repos.users.set_password_hash(user.id, new_hash)
        svc.repos.audit.record(
            "login", user_id=user.id, actor=user.email, address=address, where=where
        )

    return Checked(user, finish)


async def login(request: Request) -> Response:
    svc = context(request)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    request_id = str(form.get("request_id") or "")
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    checked = await check_credentials(request, svc, email, password, "authorize")
    if isinstance(checked, Refused):
        page = login_page(
            request,
            request_id,
            await _app_name(request, request_id),
            email=email,
            status=checked.status,
            error=checked.message,
        )
        if checked.retry_after:
            page.headers["Retry-After"] = str(checked.retry_after)
        return page
    # Everything about the browser is new after a sign-in (session fixation): its id, to which
    # its pending requests move, its CSRF token, and the session's token.
    old_token, old_binding = sessions.auth_token(request), sessions.binding(request)
    new_id = sessions.new_browser_id()
    now = int(time.time())

    def succeeded() -> str:
        checked.finish()
        svc.sessions.end(old_token)
        token = svc.sessions.start(checked.user.id, now)
        svc.pending.rebind(old_binding, sessions.binding_of(new_id))
        return token

    try:
        token = await svc.store.run(succeeded, Writes.CHANGES)
    except AccountChanged:
        name = await _app_name(request, request_id)
        return login_page(request, request_id, name, email=email, status=401, error=CHANGED)
    sessions.signed_in(request, new_id, token)
    if not request_id:
        return RedirectResponse("/", status_code=303)
    return _back_to_authorize(request, request_id)


async def consent(request: Request) -> Response:
    svc = context(request)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    request_id = str(form.get("request_id") or "")
    # One decision, one of the two: "deny" and "allow" sent together are no answer (the form's
    # buttons send one; which would a repeat mean?).
    decisions = form.getlist("decision")
    decision = decisions[0] if len(decisions) == 1 else None
    if decision not in ("allow", "deny"):
        return error_page(
            request, 400, "No decision was sent", "Press Allow or Deny.", "invalid_request"
        )
    binding = sessions.binding(request)
    token = sessions.auth_token(request)

    def decide() -> bool | None:
        uid = svc.sessions.user_id(token, int(time.time()))
        if uid is None:
            return None  # signed out meanwhile: back to the login page
        return svc.pending.decide(request_id, binding, str(decision), uid)

    recorded = await svc.store.run(decide, Writes.CHANGES)
    if recorded is None:
        return _back_to_authorize(request, request_id)
    if not recorded:
        return error_page(
            request,
            400,
            "This sign-in request has expired",
            "It is older than ten minutes, was already completed, or was started in another "
            "browser.",
            "invalid_request",
        )
    return _back_to_authorize(request, request_id)


async def logout(request: Request) -> Response:
    """GET: a one-button sign-out form. POST (with its CSRF token): the session's row is
    deleted, so the cookie (and any copy of it) signs nobody in any more, and the browser gets
    new ids (``sessions.signed_out``)."""
    svc = context(request)
    token = sessions.auth_token(request)

    def who() -> User | None:
        uid = svc.sessions.user_id(token, int(time.time()))
        return svc.repos.users.get(uid) if uid is not None else None

    if request.method == "POST":
        form = await _checked_form(request)
        if isinstance(form, Response):
            return form
        address = client_address(request, svc.settings.trusted_proxies)

        def end() -> None:
            user = who()
            svc.sessions.end(token)
            if user is not None:
                svc.repos.audit.record(
                    "logout", user_id=user.id, actor=user.email, address=address, where="authorize"
                )

        await svc.store.run(end, Writes.CHANGES)
        sessions.signed_out(request)
        return _own_logout_page(request, None)

    return _own_logout_page(request, await svc.store.run(who, Writes.APPENDS))


def _own_logout_page(request: Request, user: User | None) -> Response:
    action = sessions.COOKIE_PATH + "/logout"
    email = user.email if user is not None else None
    done = request.method == "POST"
    return logout_page(request, action, sessions.csrf_token(request), email, done=done)


def logout_page(
    request: Request, action: str, csrf_token: str, email: str | None, *, done: bool
) -> Response:
    """The sign-out page of the area whose form posts to ``action`` (one of
    ``sessions.SIGN_OUT_PAGES``): its one-button form while ``email`` is signed in, and links to
    the other areas' sign-out pages, whose cookies this page cannot see. Never cached."""
    where = dict(sessions.SIGN_OUT_PAGES)[action]
    others = [(href, label) for href, label in sessions.SIGN_OUT_PAGES if href != action]
    return templates.TemplateResponse(
        request,
        "logout.html",
        {
            "action": action,
            "csrf_token": csrf_token,
            "email": email,
            "done": done,
            "where": where,
            "others": others,
        },
        headers={"Cache-Control": "no-store"},
    )
