"""What every console and account page shares: who is signed in, the CSRF check of each form,
the page layout's values, the flash messages, and the way a service call runs.

A page is a plain GET; a change is a POST form carrying the session's CSRF token, answered by
a 303 to a page (POST/redirect/GET) whose ``?done=`` names a fixed message, never user input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ninja_oauth.admin.service import PAGE_SIZE, Actor, AdminError, Administration, Page
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.scopes import Scope, describe
from ninja_oauth.web.authlib_adapter import client_address
from ninja_oauth.web.console.auth import (
    CSRF_FIELD,
    Area,
    Signed,
    csrf_for,
    csrf_ok,
    signed_in,
)
from ninja_oauth.web.context import WebContext, context, templates
from ninja_oauth.web.errors import error_page
from ninja_oauth.web.security import from_this_site

T = TypeVar("T")

NO_STORE = {"Cache-Control": "no-store"}

# The documents' names of the platforms ("Application Platform").
PLATFORM_NAMES: dict[str, str] = {
    Platform.API_SERVICES.value: "API Services",
    Platform.WEB.value: "Web",
    Platform.NATIVE.value: "Native",
    Platform.SPA.value: "Single-Page App",
}

# ?done=… → the sentence the next page shows (a fixed text: the query never reaches the page).
DONE: dict[str, str] = {
    "app_created": "The app was saved.",
    "app_changed": "The app was saved.",
    "app_deleted": "The app was deleted, with its tokens, codes and consents.",
    "tokens_revoked": "All its tokens were revoked.",
    "consent_revoked": "The consent was revoked, and the tokens it allowed with it.",
    "user_created": "The user was added.",
    "user_disabled": "The user was disabled: their tokens and sessions ended.",
    "user_enabled": "The user was enabled.",
    "admin_granted": "The user is now an administrator.",
    "admin_removed": "The user is no longer an administrator.",
    "password_reset": "The password was reset: the user's sessions ended.",
    "unchanged": "Nothing needed to change.",
}


def utc(at: int | None) -> str:
    """A Unix time as UTC ISO 8601 (``2025-01-31T09:30:00Z``); an em dash for none."""
    if at is None:
        return "—"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scope_words(scope: str) -> str:
    try:
        return describe(Scope(scope))
    except ValueError:
        return ""


def as_int(value: object, default: int = 0) -> int:
    """A query parameter as a non-negative int (``default`` when it is not one)."""
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    return default


def with_done(path: str, done: str) -> str:
    """``path`` (already checked to be ours) with ``done`` replacing any earlier one."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "done"] + [("done", done)]
    return parts.path + "?" + urlencode(query)


def back_path(area: Area, value: object, default: str) -> str:
    """A page of ``area`` to return to after a form (the form says which): a path of ours,
    never another site."""
    target = value if isinstance(value, str) else ""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith(area.value + "/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 1000
    ):
        return default
    return target


def pager(path: str, search: str, offset: int, total: int, size: int) -> dict[str, str | None]:
    """The Previous and Next links of a list page (``offset`` paging, ``search`` kept)."""

    def link(to: int) -> str:
        query: dict[str, object] = {"search": search} if search else {}
        return path + "?" + urlencode({**query, "offset": to})

    return {
        "previous": link(max(0, offset - size)) if offset > 0 else None,
        "next": link(offset + size) if offset + size < total else None,
    }


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in request of an area: the console's administrator, or an account's user."""

    request: Request
    ctx: WebContext
    signed: Signed
    area: Area

    @property
    def actor(self) -> Actor:
        address = client_address(self.request, self.ctx.settings.trusted_proxies)
        return Actor(self.signed.user.email, address)

    @property
    def csrf(self) -> str:
        return csrf_for(self.ctx, self.signed.token)

    async def read(self, work: Callable[[], T]) -> T:
        return await self.ctx.store.read_in_thread(work)

    async def change(self, work: Callable[[], T]) -> T:
        return await self.ctx.store.run(work, Writes.CHANGES)

    async def act(self, work: Callable[[], object], then: str) -> Response:
        """A change with no form to show a refusal beside (a button's POST): a 303 to ``then``
        once done, or the error page (the app or user may have been deleted meanwhile)."""
        try:
            await self.change(work)
        except AdminError as exc:
            return self.failed(exc)
        return see_other(then)

    def render(self, template: str, values: Mapping[str, Any], status: int = 200) -> Response:
        done = self.request.query_params.get("done", "")
        return templates.TemplateResponse(
            self.request,
            template,
            {
                "csrf_field": CSRF_FIELD,
                "csrf_token": self.csrf,
                "me": self.signed.user,
                "area": self.area.name.lower(),
                "logout_action": self.area.value + "/logout",
                "notice": DONE.get(done) if status < 400 else None,
                "here": _here(self.request),
                "utc": utc,
                "platform_name": lambda p: PLATFORM_NAMES.get(str(p), str(p)),
                "scope_words": scope_words,
                **values,
            },
            status_code=status,
            headers=NO_STORE,
        )

    def failed(self, exc: AdminError) -> Response:
        """A refused operation that has no form to show it beside: an error page."""
        titles = {404: "Not found", 409: "Not possible"}
        return error_page(
            self.request,
            exc.status,
            titles.get(exc.status, "Not accepted"),
            exc.message,
            advice="Go back, reload the page and try again.",
        )


def _here(request: Request) -> str:
    """This page's path and query without ``done``: where a form on it comes back to."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "done"]
    return request.url.path + ("?" + urlencode(query) if query else "")


def _to_signin(request: Request, area: Area) -> Response:
    target = _here(request) if request.method == "GET" else area.value
    return see_other(area.value + "/login?" + urlencode({"next": target}))


async def admin_session(request: Request) -> Session | Response:
    """The signed-in administrator, or the answer instead: the sign-in form, or the page that
    says the console needs an administrator."""
    ctx = context(request)
    signed = await signed_in(request, ctx, Area.ADMIN)
    if signed is None:
        return _to_signin(request, Area.ADMIN)
    session = Session(request, ctx, signed, Area.ADMIN)
    if not signed.user.is_admin:
        return session.render("console/forbidden.html", {}, status=403)
    return session


async def list_page(
    request: Request,
    path: str,
    template: str,
    items: Callable[[Administration, str, int, int], Page[Any]],
    *,
    search_length: int,
    **values: Any,
) -> Response:
    """A searchable list of the console at ``path`` (Client App IDs, Users): one page of
    ``items`` for the query's ``search`` and ``offset``, with the Previous and Next links."""
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    search = request.query_params.get("search", "").strip()[:search_length]
    offset = as_int(request.query_params.get("offset"))
    page = await session.read(partial(items, session.ctx.admin, search, offset, PAGE_SIZE))
    return session.render(
        template,
        {
            "page": page,
            "search": search,
            **values,
            **pager(path, search, offset, page.total, PAGE_SIZE),
        },
    )


async def account_session(request: Request) -> Session | Response:
    ctx = context(request)
    signed = await signed_in(request, ctx, Area.ACCOUNT)
    if signed is None:
        return _to_signin(request, Area.ACCOUNT)
    return Session(request, ctx, signed, Area.ACCOUNT)


async def posted(request: Request, area: Area = Area.ADMIN) -> tuple[Session, FormData] | Response:
    """A POSTed form of a signed-in session whose CSRF token is the session's own; otherwise
    the answer instead (a 400 page for a wrong or missing token: nothing changes)."""
    session = await (admin_session(request) if area is Area.ADMIN else account_session(request))
    if isinstance(session, Response):
        return session
    form = await request.form()
    if not from_this_site(request) or not csrf_ok(
        session.ctx, session.signed, form.get(CSRF_FIELD)
    ):
        return error_page(
            request,
            400,
            "This form has expired",
            "The form was open too long or was sent from another site; nothing was changed.",
            "invalid_request",
            advice="Reload the page and try again.",
        )
    return session, form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]
