"""Administration → Users: the list, Add, and a user's page (disable or enable, reset the
password, grant or remove admin, revoke all tokens, their consents)."""

from __future__ import annotations

from functools import partial

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.admin.service import AdminError, Administration, new_password
from ninja_oauth.web.console.common import (
    Session,
    admin_session,
    list_page,
    posted,
    see_other,
    text,
)

# The user page's one-click changes: the form's ``change`` → change_user's keyword and value.
_CHANGES: dict[str, tuple[str, bool, str]] = {
    "disable": ("disabled", True, "user_disabled"),
    "enable": ("disabled", False, "user_enabled"),
    "grant_admin": ("admin", True, "admin_granted"),
    "remove_admin": ("admin", False, "admin_removed"),
}


def user_url(user_id: int, action: str = "") -> str:
    return f"/admin/users/{user_id}" + ("/" + action if action else "")


async def user_list(request: Request) -> Response:
    return await list_page(
        request, "/admin/users", "console/users.html", Administration.users, search_length=320
    )


def _new_form(
    session: Session,
    email: str = "",
    admin: bool = False,
    error: AdminError | None = None,
    status: int = 200,
) -> Response:
    return session.render(
        "console/user_form.html",
        {
            "email": email,
            "admin": admin,
            "errors": {error.field or "email": error.message} if error else {},
        },
        status,
    )


async def user_new(request: Request) -> Response:
    if request.method == "GET":
        session = await admin_session(request)
        if isinstance(session, Response):
            return session
        return _new_form(session)
    checked = await posted(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    email, admin = text(form, "email").strip(), text(form, "admin") == "yes"
    try:
        password = await session.ctx.hashing_thread(new_password, text(form, "password"))
        user = await session.change(
            partial(session.ctx.admin.create_user, session.actor, email, password, admin)
        )
    except AdminError as exc:
        return _new_form(session, email, admin, exc, exc.status)
    return see_other(user_url(user.row.id) + "?done=user_created")


async def _user_page(
    session: Session, user_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The user's page; ``errors`` says what a form on it could not do (by form: ``change``
    or ``password``)."""
    try:
        user = await session.read(partial(session.ctx.admin.user, user_id))
    except AdminError as exc:
        return session.failed(exc)
    consents = await session.read(partial(session.ctx.admin.consents, user_id=user_id))
    return session.render(
        "console/user.html",
        {
            "user": user,
            "consents": consents,
            "myself": user.row.id == session.signed.user.id,
            "errors": errors or {},
        },
        status,
    )


async def user_page(request: Request) -> Response:
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    return await _user_page(session, request.path_params["user_id"])


async def _posted(request: Request) -> tuple[Session, FormData, int] | Response:
    """The administrator, the checked form and the ``{user_id}`` of a form on a user's page."""
    checked = await posted(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    return session, form, request.path_params["user_id"]


async def _refused(session: Session, user_id: int, form: str, exc: AdminError) -> Response:
    """A refused change: said beside the form on the user's page, or the error page when the
    user is gone."""
    if exc.status == 404:
        return session.failed(exc)
    return await _user_page(session, user_id, {form: exc.message}, exc.status)


async def user_change(request: Request) -> Response:
    """Disable or enable, grant or remove admin (the form's ``change``)."""
    checked = await _posted(request)
    if isinstance(checked, Response):
        return checked
    session, form, user_id = checked
    what = _CHANGES.get(text(form, "change"))
    if what is None:
        return await _user_page(session, user_id, {"change": "Choose a change."}, 400)
    keyword, value, done = what
    change = session.ctx.admin.change_user
    work = (
        partial(change, session.actor, user_id, disabled=value)
        if keyword == "disabled"
        else partial(change, session.actor, user_id, admin=value)
    )
    try:
        await session.change(work)
    except AdminError as exc:
        return await _refused(session, user_id, "change", exc)
    return see_other(user_url(user_id) + "?done=" + done)


async def user_password(request: Request) -> Response:
    checked = await _posted(request)
    if isinstance(checked, Response):
        return checked
    session, form, user_id = checked
    try:
        password = await session.ctx.hashing_thread(new_password, text(form, "password"))
        await session.change(
            partial(session.ctx.admin.change_user, session.actor, user_id, password=password)
        )
    except AdminError as exc:
        return await _refused(session, user_id, "password", exc)
    return see_other(user_url(user_id) + "?done=password_reset")


async def user_revoke_tokens(request: Request) -> Response:
    checked = await _posted(request)
    if isinstance(checked, Response):
        return checked
    session, _, user_id = checked
    return await session.act(
        partial(session.ctx.admin.revoke_user_tokens, session.actor, user_id),
        user_url(user_id) + "?done=tokens_revoked",
    )
