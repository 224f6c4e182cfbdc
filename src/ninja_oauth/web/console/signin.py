"""Sign-in and sign-out of the console (``/admin``) and of the account pages (``/account``).

One form for both areas; each area's cookie is its own (``auth.py``). A sign-in starts a new
``browser_sessions`` row (a new token: no session fixation), a sign-out deletes it.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ninja_oauth.oauth.ports import Writes
from ninja_oauth.web.authlib_adapter import client_address
from ninja_oauth.web.console import auth
from ninja_oauth.web.console.auth import Area
from ninja_oauth.web.context import WebContext, context, templates
from ninja_oauth.web.errors import error_page
from ninja_oauth.web.login_and_consent import (
    CHANGED,
    AccountChanged,
    Refused,
    check_credentials,
    logout_page,
)
from ninja_oauth.web.security import from_this_site

_HOME = {Area.ADMIN: "/admin", Area.ACCOUNT: "/account/apps"}


def _next(area: Area, value: object) -> str:
    """Where to go after signing in: a path of the same area, never another site."""
    target = value if isinstance(value, str) else ""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not (target == area.value or target.startswith(area.value + "/"))
        or "\\" in target
        or target.startswith("//")
    ):
        return _HOME[area]
    return target


def signin_page(
    request: Request,
    *,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    next_url: str = "",
) -> Response:
    ctx = context(request)
    area = auth.area_of(request)
    token, fresh = auth.signin_csrf(request)
    response = templates.TemplateResponse(
        request,
        "console/signin.html",
        {
            "area": area.name.lower(),
            "action": area.value + "/login",
            "csrf_token": token,
            "error": error,
            "email": email,
            "next": _next(area, next_url),
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    if fresh:
        auth.set_signin_cookie(response, ctx, area, token)
    return response


async def signin(request: Request) -> Response:
    """GET: the form (or straight on, when already signed in). POST: check and sign in."""
    ctx = context(request)
    area = auth.area_of(request)
    if request.method == "GET":
        if await auth.signed_in(request, ctx, area) is not None:
            return RedirectResponse(_next(area, request.query_params.get("next")), 303)
        return signin_page(request, next_url=request.query_params.get("next", ""))
    form = await request.form()
    email = str(form.get("email") or "").strip()
    next_url = str(form.get("next") or "")
    if not from_this_site(request) or not auth.signin_csrf_ok(request, form.get(auth.CSRF_FIELD)):
        return signin_page(
            request,
            email=email,
            status=400,
            next_url=next_url,
            error="This form has expired or was sent from another site: sign in again.",
        )
    checked = await check_credentials(
        request, ctx, email, str(form.get("password") or ""), area.name.lower()
    )
    if isinstance(checked, Refused):
        page = signin_page(
            request, email=email, status=checked.status, next_url=next_url, error=checked.message
        )
        if checked.retry_after:
            page.headers["Retry-After"] = str(checked.retry_after)
        return page
    old = request.cookies.get(area.cookie)

    def succeeded() -> str:
        checked.finish()
        ctx.sessions.end(old, area.name.lower())
        return ctx.sessions.start(checked.user.id, int(time.time()), area.name.lower())

    try:
        token = await ctx.store.run(succeeded, Writes.CHANGES)
    except AccountChanged:
        return signin_page(request, email=email, status=401, next_url=next_url, error=CHANGED)
    response = RedirectResponse(_next(area, next_url), status_code=303)
    auth.set_session_cookie(response, ctx, area, token)
    return response


async def signout(request: Request) -> Response:
    """GET: the one-button sign-out form (the session's CSRF token), or the page saying there
    is no session, each with links to the other areas' sign-out pages. POST with that token:
    the session's row goes, and the cookie with it; then the page again, saying so."""
    ctx = context(request)
    area = auth.area_of(request)
    signed = await auth.signed_in(request, ctx, area)
    page = area.value + "/logout"
    if request.method == "GET":
        return _signout_page(request, ctx, page, signed)
    if signed is None:
        response = RedirectResponse(page, status_code=303)
        auth.clear_session_cookie(response, ctx, area)
        return response
    form = await request.form()
    if not from_this_site(request) or not auth.csrf_ok(ctx, signed, form.get(auth.CSRF_FIELD)):
        return error_page(
            request,
            400,
            "This form has expired",
            "The page was open too long or was sent from another site.",
            advice="Reload the page and press Sign out again.",
        )
    address = client_address(request, ctx.settings.trusted_proxies)

    def end() -> None:
        ctx.sessions.end(signed.token, area.name.lower())
        ctx.repos.audit.record(
            "logout",
            user_id=signed.user.id,
            actor=signed.user.email,
            address=address,
            where=area.name.lower(),
        )

    await ctx.store.run(end, Writes.CHANGES)
    response = RedirectResponse(page + "?done=signed_out", status_code=303)
    auth.clear_session_cookie(response, ctx, area)
    return response


def _signout_page(
    request: Request, ctx: WebContext, page: str, signed: auth.Signed | None
) -> Response:
    done = signed is None and request.query_params.get("done") == "signed_out"
    return logout_page(
        request,
        page,
        auth.csrf_for(ctx, signed.token) if signed is not None else "",
        signed.user.email if signed is not None else None,
        done=done,
    )
