"""Demo admin and one app per platform for `serve --demo` (DESIGN §6).

The demo client IDs, secrets and password are derived from the secret key (HMAC), so they can
be printed on every start, and again by `demo-data --show`, while only their digests are
stored. The same derivation finds the demo apps in the store (``demo_apps``): apps with these
IDs exist only where `serve --demo` ran with this key, which is how the home page knows it
serves demo data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform, grant_types_for, is_confidential
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.scopes import API_SCOPES
from ninja_oauth.passwords import hash_password, verify_password

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
    # Each demo app and its secret: None for a public app, and for one whose secret was
    # rotated since (the derived secret no longer applies).
    apps: list[tuple[App, str | None]]
    # False once the admin's password was changed: the derived one no longer signs in.
    admin_password_current: bool = True


def demo_client_id(hasher: s.SecretHasher, platform: Platform) -> str:
    return "demo-" + platform.value.replace("_", "-") + "-" + hasher.derive("id:" + platform)[:10]


def _demo_secret(hasher: s.SecretHasher, platform: Platform) -> str | None:
    return hasher.derive("secret:" + platform) if is_confidential(platform) else None


def _demo_password(hasher: s.SecretHasher) -> str:
    return hasher.derive("demo-admin-password")[:20]


def ensure_demo(repos: Repositories, hasher: s.SecretHasher) -> DemoCredentials:
    """Create what is missing of the demo data (idempotent); its credentials."""
    if repos.users.find_by_email(DEMO_ADMIN_EMAIL) is None:
        repos.users.add(DEMO_ADMIN_EMAIL, hash_password(_demo_password(hasher)), is_admin=True)
    for platform in Platform:
        client_id = demo_client_id(hasher, platform)
        if repos.apps.get(client_id) is None:
            secret = _demo_secret(hasher, platform)
            repos.apps.add(
                App(
                    client_id=client_id,
                    name=_NAMES[platform],
                    platform=platform,
                    redirect_uris=_REDIRECTS[platform],
                    scopes=tuple(x.value for x in API_SCOPES),
                    grant_types=tuple(g.value for g in grant_types_for(platform)),
                    secret_digest=hasher.digest(secret, s.CLIENT_SECRET) if secret else None,
                    created_at=int(time.time()),
                )
            )
    found = demo_credentials(repos, hasher)
    assert found is not None  # just created
    return found


def demo_apps(repos: Repositories, hasher: s.SecretHasher) -> list[App]:
    """The demo apps in the store, one per platform at most; none if no demo data is there."""
    apps = (repos.apps.get(demo_client_id(hasher, platform)) for platform in Platform)
    return [app for app in apps if app is not None]


def demo_credentials(repos: Repositories, hasher: s.SecretHasher) -> DemoCredentials | None:
    """The demo credentials, re-derived from the key and checked against the stored digests
    (nothing is written); None when the store holds no demo app."""
    apps: list[tuple[App, str | None]] = []
    for app in demo_apps(repos, hasher):
        secret = _demo_secret(hasher, app.platform)
        if secret is not None and not hasher.verify(secret, app.secret_digest, s.CLIENT_SECRET):
            secret = None  # rotated since: the derived secret no longer applies
        apps.append((app, secret))
    if not apps:
        return None
    password = _demo_password(hasher)
    admin = repos.users.find_by_email(DEMO_ADMIN_EMAIL)
    current = admin is not None and verify_password(admin[1], password)
    return DemoCredentials(DEMO_ADMIN_EMAIL, password, apps, current)
