"""The home page (``/``): what this server is, where to sign in and read the docs, and, when
the store holds demo data, one authorize link per demo app that a browser can follow.

Demo mode is read from the store, not from a flag: the demo apps' client IDs are derived from
the secret key (store/demo.py), so they exist only where `serve --demo` ran with this key, and
they stay usable, as do their links, until someone deletes them.

Each link is an authorization code request with PKCE (S256), for every platform that has a
redirect URI: public apps must send a challenge, and the strict profile asks it of all. A link
cannot carry a verifier kept by a client, so each view of the page draws a fresh one and shows
it beside its link, for the token request that finishes the flow (the page is ``no-store``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import GrantType, Platform
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.demo import DEMO_ADMIN_EMAIL, demo_apps
from ninja_oauth.web.context import context, templates

DEMO_SCOPE = "monitoring"


@dataclass(frozen=True, slots=True)
class DemoLink:
    """An authorize link for one demo app, and what finishes its flow at the token endpoint."""

    app: App
    url: str
    redirect_uri: str
    code_verifier: str


def _link(app: App) -> DemoLink:
    verifier = secrets.token_urlsafe(48)
    # RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))), no padding.
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    redirect_uri = app.redirect_uris[0]
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "scope": DEMO_SCOPE,
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return DemoLink(app, f"/ws/oauth/authorize?{query}", redirect_uri, verifier)


async def home(request: Request) -> Response:
    ctx = context(request)
    apps = await ctx.store.run(partial(demo_apps, ctx.repos, ctx.hasher), Writes.APPENDS)
    links = [
        _link(app)
        for app in apps
        if app.redirect_uris and app.allows_grant(GrantType.AUTHORIZATION_CODE)
    ]
    service = next((a for a in apps if a.platform is Platform.API_SERVICES), None)
    response = templates.TemplateResponse(
        request,
        "home.html",
        {
            "issuer": ctx.settings.issuer.rstrip("/"),
            "demo": bool(apps),
            "demo_admin": DEMO_ADMIN_EMAIL,
            "links": links,
            "service": service,
            "code_ttl": ctx.settings.code_ttl,
        },
    )
    # A demo link's verifier belongs to this one view of the page.
    response.headers["cache-control"] = "no-store"
    return response
