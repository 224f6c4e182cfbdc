"""Administration → Apps → API → Client App IDs: the list, Add, an app's page, Edit, Rotate
secret, Revoke all tokens and Delete (the documents' "Client App IDs" console, issue 11).

A client secret exists in clear only in the answer to Save (a new API Services or Web app)
and to Rotate secret: that page is rendered straight from the POST, never cached, and no
other page or URL ever holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.admin.service import AdminError, Administration, AppView
from ninja_oauth.oauth.platforms import GrantType, Platform, grant_types_for
from ninja_oauth.oauth.profiles import strict_because
from ninja_oauth.oauth.scopes import API_SCOPES, Scope
from ninja_oauth.web.console.common import (
    PLATFORM_NAMES,
    Session,
    admin_session,
    list_page,
    posted,
    see_other,
    text,
    texts,
)

# The documents' words for the grant types ("Allowed Grant Types").
GRANT_NAMES: dict[str, str] = {
    GrantType.AUTHORIZATION_CODE.value: "Authorization Code",
    GrantType.IMPLICIT.value: "Implicit",
    GrantType.CLIENT_CREDENTIALS.value: "Client Credentials",
    GrantType.REFRESH_TOKEN.value: "Refresh Token",
}


def app_url(client_id: str, action: str = "") -> str:
    return "/admin/apps/" + quote(client_id, safe="") + ("/" + action if action else "")


def offered_grants(session: Session) -> dict[str, list[str]]:
    """The grant types each platform may be given on this server (``grant_types_for``, less
    the implicit grant where the strict profile applies)."""
    strict = strict_because(session.ctx.admin.server_profile, None) is not None
    return {
        p.value: [g.value for g in grant_types_for(p) if not (strict and g is GrantType.IMPLICIT)]
        for p in Platform
    }


@dataclass
class AppForm:
    """What the Add and Edit forms show: the values typed (kept on an error) and the error."""

    name: str = ""
    platform: str = Platform.API_SERVICES.value
    redirect_uris: str = ""
    scopes: list[str] = field(default_factory=lambda: [s.value for s in API_SCOPES])
    grant_types: list[str] = field(default_factory=list)
    admin: bool = False
    error: AdminError | None = None

    @classmethod
    def of(cls, view: AppView) -> AppForm:
        app = view.app
        return cls(
            app.name,
            app.platform.value,
            "\n".join(app.redirect_uris),
            list(app.scopes),
            list(app.grant_types),
        )

    @classmethod
    def posted(cls, form: FormData) -> AppForm:
        return cls(
            text(form, "name"),
            text(form, "platform"),
            text(form, "redirect_uris"),
            texts(form, "scopes"),
            texts(form, "grant_types"),
            text(form, "admin") == "1",
        )

    @property
    def uris(self) -> list[str]:
        return [line.strip() for line in self.redirect_uris.splitlines() if line.strip()]


def _form_page(
    session: Session, form: AppForm, view: AppView | None = None, status: int = 200
) -> Response:
    offered = offered_grants(session)
    scopes = [s.value for s in API_SCOPES]
    if view is not None and view.app.is_admin:
        scopes.append(Scope.ADMIN.value)
    if view is None:
        grant_choices = [g.value for g in GrantType if any(g.value in o for o in offered.values())]
    else:
        grant_choices = offered[view.app.platform.value]
    error = form.error
    fields = {"name", "platform", "redirect_uris", "scopes", "grant_types", "admin"}
    return session.render(
        "console/app_form.html",
        {
            "form": form,
            "view": view,
            "platforms": PLATFORM_NAMES,
            "offered": offered,
            "scope_choices": scopes,
            "grant_choices": grant_choices,
            "grant_names": GRANT_NAMES,
            "errors": {error.field: error.message} if error and error.field in fields else {},
            "general_error": error.message if error and error.field not in fields else None,
            "action": app_url(view.app.client_id, "edit") if view else "/admin/apps/new",
        },
        status,
    )


async def app_list(request: Request) -> Response:
    return await list_page(
        request,
        "/admin/apps",
        "console/apps.html",
        Administration.apps,
        search_length=200,
        grant_names=GRANT_NAMES,
    )


async def app_new(request: Request) -> Response:
    """GET: the Add form. POST (Save): register; show a confidential app's secret this once."""
    if request.method == "GET":
        session = await admin_session(request)
        if isinstance(session, Response):
            return session
        return _form_page(session, AppForm())
    checked = await posted(request)
    if isinstance(checked, Response):
        return checked
    session, data = checked
    form = AppForm.posted(data)
    try:
        view, secret = await session.change(
            partial(
                session.ctx.admin.create_app,
                session.actor,
                name=form.name,
                platform=form.platform,
                redirect_uris=form.uris,
                # The box means the admin scope too, beside the API scopes checked (none checked:
                # every scope, admin included).
                scopes=form.scopes + ([Scope.ADMIN.value] if form.admin and form.scopes else []),
                grant_types=form.grant_types,
                is_admin=form.admin,
            )
        )
    except AdminError as exc:
        form.error = exc
        return _form_page(session, form, status=exc.status)
    if secret is None:
        return see_other(app_url(view.app.client_id) + "?done=app_created")
    return _secret_page(session, view, secret, created=True)


def _secret_page(session: Session, view: AppView, secret: str, *, created: bool) -> Response:
    return session.render(
        "console/secret.html", {"view": view, "secret": secret, "created": created}
    )


async def _view(session: Session, client_id: str) -> AppView | Response:
    try:
        return await session.read(partial(session.ctx.admin.app, client_id))
    except AdminError as exc:
        return session.failed(exc)


async def app_page(request: Request) -> Response:
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    view = await _view(session, request.path_params["client_id"])
    if isinstance(view, Response):
        return view
    consents = await session.read(partial(session.ctx.admin.consents, client_id=view.app.client_id))
    return session.render(
        "console/app.html", {"view": view, "consents": consents, "grant_names": GRANT_NAMES}
    )


async def app_edit(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, view, data = checked
    if data is None:
        return _form_page(session, AppForm.of(view), view)
    form = AppForm.posted(data)
    form.platform = view.app.platform.value
    try:
        await session.change(
            partial(
                session.ctx.admin.edit_app,
                session.actor,
                view.app.client_id,
                name=form.name,
                redirect_uris=form.uris,
                scopes=form.scopes,
                grant_types=form.grant_types,
            )
        )
    except AdminError as exc:
        form.error = exc
        return _form_page(session, form, view, status=exc.status)
    return see_other(app_url(view.app.client_id) + "?done=app_changed")


async def app_rotate(request: Request) -> Response:
    """GET: the confirmation. POST: a new secret, shown this once; the old one stops working."""
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, view, data = checked
    if data is None:
        return session.render("console/confirm.html", _confirm_rotate(view))
    try:
        secret = await session.change(
            partial(session.ctx.admin.rotate_secret, session.actor, view.app.client_id)
        )
    except AdminError as exc:
        return session.failed(exc)
    return _secret_page(session, view, secret, created=False)


def _confirm_rotate(view: AppView) -> dict[str, Any]:
    return {
        "title": f"Rotate the secret of {view.app.name}",
        "message": "A new client secret is made and shown once. The current secret stops "
        "working at once: update every copy of it. Tokens already issued keep working.",
        "action": app_url(view.app.client_id, "rotate"),
        "button": "Rotate secret",
        "cancel": app_url(view.app.client_id),
        "danger": False,
    }


async def app_revoke_tokens(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, view, _ = checked
    return await session.act(
        partial(session.ctx.admin.revoke_app_tokens, session.actor, view.app.client_id),
        app_url(view.app.client_id) + "?done=tokens_revoked",
    )


async def app_delete(request: Request) -> Response:
    """GET: a confirmation naming the app. POST: it goes, with its tokens, codes and consents."""
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, view, data = checked
    if data is None:
        return session.render(
            "console/confirm.html",
            {
                "title": f"Delete {view.app.name}",
                "message": f"The app {view.app.name} (client ID {view.app.client_id}) is "
                "deleted, and with it every token, code and consent it holds. Apps using this "
                "client ID stop working at once. This cannot be undone.",
                "action": app_url(view.app.client_id, "delete"),
                "button": "Delete",
                "cancel": app_url(view.app.client_id),
                "danger": True,
            },
        )
    return await session.act(
        partial(session.ctx.admin.delete_app, session.actor, view.app.client_id),
        "/admin/apps?done=app_deleted",
    )


async def _checked(
    request: Request,
) -> tuple[Session, AppView, FormData | None] | Response:
    """The administrator and the app of ``{client_id}``, and on a POST its checked form."""
    if request.method == "GET":
        session = await admin_session(request)
        if isinstance(session, Response):
            return session
        data: FormData | None = None
    else:
        checked = await posted(request)
        if isinstance(checked, Response):
            return checked
        session, data = checked
    view = await _view(session, request.path_params["client_id"])
    if isinstance(view, Response):
        return view
    return session, view, data
