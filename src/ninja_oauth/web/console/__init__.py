"""The administration console (``/admin``) and the account pages (``/account``): server-rendered
pages over the same service as the CLI and the admin API (``admin/service.py``).

Every page works without JavaScript; ``static/console.js`` only narrows the grant types to the
chosen platform and copies a secret to the clipboard.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ninja_oauth.web.console import account, apps, audit, consents, signin, users
from ninja_oauth.web.console.common import see_other

_GET, _POST, _BOTH = ["GET"], ["POST"], ["GET", "POST"]


async def _to_apps(request: Request) -> Response:
    """Administration opens on Apps → API → Client App IDs, as NinjaOne's does."""
    return see_other("/admin/apps")


def console_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for area in ("/admin", "/account"):
        routes += [
            Route(area + "/login", signin.signin, methods=_BOTH),
            Route(area + "/logout", signin.signout, methods=_BOTH),
        ]
    app = "/admin/apps/{client_id}"
    user = "/admin/users/{user_id:int}"
    routes += [
        Route("/admin", _to_apps, methods=_GET),
        Route("/admin/apps", apps.app_list, methods=_GET),
        Route("/admin/apps/new", apps.app_new, methods=_BOTH),
        Route(app, apps.app_page, methods=_GET),
        Route(app + "/edit", apps.app_edit, methods=_BOTH),
        Route(app + "/rotate", apps.app_rotate, methods=_BOTH),
        Route(app + "/revoke-tokens", apps.app_revoke_tokens, methods=_POST),
        Route(app + "/delete", apps.app_delete, methods=_BOTH),
        Route("/admin/users", users.user_list, methods=_GET),
        Route("/admin/users/new", users.user_new, methods=_BOTH),
        Route(user, users.user_page, methods=_GET),
        Route(user + "/change", users.user_change, methods=_POST),
        Route(user + "/password", users.user_password, methods=_POST),
        Route(user + "/revoke-tokens", users.user_revoke_tokens, methods=_POST),
        Route("/admin/consents", consents.consent_list, methods=_GET),
        Route("/admin/consents/{consent_id:int}/revoke", consents.consent_revoke, methods=_POST),
        Route("/admin/audit", audit.audit_page, methods=_GET),
        Route("/admin/audit.jsonl", audit.audit_export, methods=_GET),
        Route("/account", account.account_home, methods=_GET),
        Route("/account/apps", account.account_apps, methods=_GET),
        Route("/account/consents/{consent_id:int}/revoke", account.account_revoke, methods=_POST),
    ]
    return routes
