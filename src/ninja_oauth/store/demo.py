"""Demo admin and one app per platform for `serve --demo` (DESIGN §6).

The demo secrets and password are derived from the secret key (HMAC), so they can be printed on
every start while only their digests are stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform, grant_types_for, is_confidential
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.scopes import API_SCOPES
from ninja_oauth.passwords import hash_password

DEMO_ADMIN_EMAIL = "admin@ninja-oauth.local"

_REDIRECTS: dict[Platform, tuple[str, ...]] = {
    Platform.API_SERVICES: (),
    Platform.WEB: ("http://127.0.0.1:8000/callback", "http://localhost:8000/callback"),
    Platform.NATIVE: ("http://127.0.0.1/callback",),
    Platform.SPA: ("http://localhost:3000/callback", "http://127.0.0.1:3000/callback"),
}
_NAMES = {
    Platform.API_SERVICES: "Demo API Services app",
    Platform.WEB: "Demo Web app",
    Platform.NATIVE: "Demo Native app",
    Platform.SPA: "Demo Single-Page app",
}


@dataclass(frozen=True)
class DemoCredentials:
    admin_email: str
    admin_password: str
    apps: list[tuple[App, str | None]]


def ensure_demo(repos: Repositories, hasher: s.SecretHasher) -> DemoCredentials:
    password = hasher.derive("demo-admin-password")[:20]
    if repos.users.find_by_email(DEMO_ADMIN_EMAIL) is None:
        repos.users.add(DEMO_ADMIN_EMAIL, hash_password(password), is_admin=True)
    apps: list[tuple[App, str | None]] = []
    for platform in Platform:
        client_id = (
            "demo-" + platform.value.replace("_", "-") + "-" + hasher.derive("id:" + platform)[:10]
        )
        secret = hasher.derive("secret:" + platform) if is_confidential(platform) else None
        app = repos.apps.get(client_id)
        if app is None:
            app = App(
                client_id=client_id,
                name=_NAMES[platform],
                platform=platform,
                redirect_uris=_REDIRECTS[platform],
                scopes=tuple(x.value for x in API_SCOPES),
                grant_types=tuple(g.value for g in grant_types_for(platform)),
                secret_digest=hasher.digest(secret, s.CLIENT_SECRET) if secret else None,
                created_at=int(time.time()),
            )
            repos.apps.add(app)
        elif secret is not None and not hasher.verify(secret, app.secret_digest, s.CLIENT_SECRET):
            secret = None  # rotated since: the derived secret no longer applies
        apps.append((app, secret))
    return DemoCredentials(DEMO_ADMIN_EMAIL, password, apps)
