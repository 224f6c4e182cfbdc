"""The login and consent forms' handlers (POST …/login, POST …/consent): each answers 303 back
to GET …/authorize?request_id=…, which sends the 307 to the app (web/authorize.py)."""

from __future__ import annotations

import time
from functools import partial
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.throttling import Throttle
from ninja_oauth.passwords import verify_password
from ninja_oauth.web import sessions
from ninja_oauth.web.authlib_adapter import client_address
from ninja_oauth.web.authorize import login_page, prefix_of
from ninja_oauth.web.context import context
from ninja_oauth.web.errors import error_page

_BAD_LOGIN = "The email or password is not correct."


def _back_to_authorize(request: Request, request_id: str) -> Response:
    url = prefix_of(request) + "/authorize?" + urlencode({"request_id": request_id})
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


def _expired_form(request: Request) -> Response:
    return error_page(
        request,
        400,
        "This form has expired",
        "The page was open too long or was sent from another browser.",
        "invalid_request",
    )


async def login(request: Request) -> Response:
    svc = context(request)
    form = await request.form()
    if not sessions.csrf_ok(request, form.get("csrf_token")):
        return _expired_form(request)
    request_id = str(form.get("request_id") or "")
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    address = client_address(request, svc.settings.trusted_proxies)
    keys = Throttle.login_keys(email, address)
    now = int(time.time())
    throttle = svc.server.throttle

    wait = await svc.store.run(partial(throttle.login_attempt, keys, now), Writes.CHANGES)
    if wait:
        page = login_page(
            request,
            request_id,
            await _app_name(request, request_id),
            email=email,
            status=429,
            error=f"Too many sign-in attempts. Try again in {wait} seconds.",
        )
        page.headers["Retry-After"] = str(wait)
        return page
    found = await svc.store.run(partial(svc.repos.users.find_by_email, email), Writes.APPENDS)
    # argon2 takes tens of milliseconds: a worker thread, never the writer path or the loop.
    ok = await run_in_threadpool(verify_password, found[1] if found else None, password)
    if not ok or found is None:
        # Already counted by login_attempt.
        name = await _app_name(request, request_id)
        return login_page(request, request_id, name, email=email, status=401, error=_BAD_LOGIN)
    user = found[0]
    sessions.log_in(request, user.id)

    def succeeded() -> None:
        throttle.login_succeeded(keys)
        svc.repos.audit.record("login", user_id=user.id)

    await svc.store.run(succeeded, Writes.CHANGES)
    if not request_id:
        return RedirectResponse("/", status_code=303)
    return _back_to_authorize(request, request_id)


async def consent(request: Request) -> Response:
    svc = context(request)
    form = await request.form()
    if not sessions.csrf_ok(request, form.get("csrf_token")):
        return _expired_form(request)
    request_id = str(form.get("request_id") or "")
    decision = form.get("decision")
    uid = sessions.current_user_id(request)
    if uid is None:
        return _back_to_authorize(request, request_id)
    if decision not in ("allow", "deny"):
        return error_page(
            request, 400, "No decision was sent", "Press Allow or Deny.", "invalid_request"
        )
    binding = sessions.binding(request)
    recorded = await svc.store.run(
        partial(svc.pending.decide, request_id, binding, str(decision), uid), Writes.CHANGES
    )
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
