"""The account page (``/account/apps``): a user's own consents, in the consent page's words,
each revocable by the user; any user may sign in to it (its own cookie, ``Area.ACCOUNT``)."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.web.console.auth import Area
from ninja_oauth.web.console.common import account_session, posted, see_other


async def account_home(request: Request) -> Response:
    return see_other("/account/apps")


async def account_apps(request: Request) -> Response:
    session = await account_session(request)
    if isinstance(session, Response):
        return session
    consents = await session.read(
        partial(session.ctx.admin.consents, user_id=session.signed.user.id)
    )
    return session.render("console/account.html", {"consents": consents})


async def account_revoke(request: Request) -> Response:
    """Revoke one of the user's own consents (``owner``: never another user's)."""
    checked = await posted(request, Area.ACCOUNT)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    return await session.act(
        partial(
            session.ctx.admin.revoke_consent,
            session.actor,
            request.path_params["consent_id"],
            owner=session.signed.user.id,
        ),
        "/account/apps?done=consent_revoked",
    )
