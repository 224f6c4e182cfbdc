"""Administration → Consents: every remembered consent, by app and by user, each revocable;
and the revocation the app and user pages share."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.web.console.auth import Area
from ninja_oauth.web.console.common import (
    admin_session,
    back_path,
    posted,
    text,
    with_done,
)


async def consent_list(request: Request) -> Response:
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    client_id = request.query_params.get("client_id", "").strip()[:200]
    email = request.query_params.get("user", "").strip()[:320]
    admin = session.ctx.admin
    user_id: int | None = None
    unknown_user = False
    if email:
        user_id = await session.read(partial(admin.admin.user_id_of, email))
        unknown_user = user_id is None
    consents = (
        []
        if unknown_user
        else await session.read(partial(admin.consents, client_id=client_id, user_id=user_id))
    )
    return session.render(
        "console/consents.html",
        {
            "consents": consents,
            "client_id": client_id,
            "user": email,
            "unknown_user": unknown_user,
        },
    )


async def consent_revoke(request: Request) -> Response:
    """Revoke one consent: the tokens and codes it allowed stop working at once. The form's
    ``back`` names the console page to return to (the consents, an app's or a user's page)."""
    checked = await posted(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    consent_id: int = request.path_params["consent_id"]
    back = back_path(Area.ADMIN, text(form, "back"), "/admin/consents")
    return await session.act(
        partial(session.ctx.admin.revoke_consent, session.actor, consent_id),
        with_done(back, "consent_revoked"),
    )
