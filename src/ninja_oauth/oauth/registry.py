"""App registration rules: create, rotate the secret, delete (used by the CLI and admin pages).

The secret is returned once, in a NewApp, and stored only as a keyed digest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.domain import App, NewApp
from ninja_oauth.oauth.platforms import (
    GrantType,
    Platform,
    grant_types_for,
    is_confidential,
    needs_redirect_uri,
)
from ninja_oauth.oauth.ports import AppRepository
from ninja_oauth.oauth.profiles import Profile, strict_because
from ninja_oauth.oauth.scopes import API_SCOPES, join_scope


class RegistrationError(ValueError):
    """A registration that breaks a rule; the message says which and how to fix it."""


def _check_redirect_uri(uri: str, platform: Platform) -> None:
    """Absolute, no fragment (RFC 6749 §3.1.2); https, except http on loopback/localhost
    (RFC 8252 §7.3) and private-use schemes for native apps (RFC 8252 §7.1)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise RegistrationError(f"Redirect URI {uri!r} is not a valid URI.") from None
    if not parts.scheme:
        raise RegistrationError(f"Redirect URI {uri!r} must be absolute (with a scheme).")
    if parts.fragment or "#" in uri:
        raise RegistrationError(f"Redirect URI {uri!r} must not contain a fragment.")
    if parts.scheme == "https":
        if not parts.hostname:
            raise RegistrationError(f"Redirect URI {uri!r} has no host.")
        return
    if parts.scheme == "http":
        if parts.hostname in ("127.0.0.1", "::1", "localhost"):
            return
        raise RegistrationError(
            f"Redirect URI {uri!r} must use https (http is allowed only on 127.0.0.1, [::1] "
            "and localhost)."
        )
    if platform is Platform.NATIVE and "." in parts.scheme:
        # RFC 8252 §7.1: a private-use scheme in reverse-domain form, e.g. com.example.app:/cb
        return
    if platform is Platform.NATIVE:
        raise RegistrationError(
            f"Redirect URI {uri!r}: a native app's custom scheme must be in reverse-domain form "
            "(e.g. com.example.app:/callback, RFC 8252 §7.1)."
        )
    raise RegistrationError(f"Redirect URI {uri!r} must use https.")


def register_app(
    repo: AppRepository,
    hasher: s.SecretHasher,
    *,
    name: str,
    platform: Platform,
    redirect_uris: Sequence[str] = (),
    scopes: Sequence[str] = (),
    grant_types: Sequence[str] = (),
    profile: Profile | None = None,
    server_profile: Profile = Profile.FAITHFUL,
) -> NewApp:
    """Register an app; ``profile`` is its own (None: it follows the server's; the stricter of
    the two applies, ``profiles.py``). Where the strict profile applies, the implicit grant is
    neither given by default nor accepted."""
    name = name.strip()
    if not name or len(name) > 200:
        raise RegistrationError("The app needs a name of 1 to 200 characters.")
    uris = list(dict.fromkeys(redirect_uris))
    for uri in uris:
        _check_redirect_uri(uri, platform)
    if needs_redirect_uri(platform) and not uris:
        raise RegistrationError(f"A {platform.value} app needs at least one redirect URI.")
    valid_scopes = {x.value for x in API_SCOPES}
    chosen_scopes = list(dict.fromkeys(scopes)) or sorted(valid_scopes)
    bad = [x for x in chosen_scopes if x not in valid_scopes]
    if bad:
        raise RegistrationError(
            f"Unknown scope {bad[0]!r}: choose among monitoring, management, control "
            "(offline_access is asked for at authorization, not configured)."
        )
    offered = grant_types_for(platform)
    strict = strict_because(server_profile, profile)
    if strict is not None:
        if GrantType.IMPLICIT in offered and GrantType.IMPLICIT.value in grant_types:
            raise RegistrationError(
                f"The implicit grant is off: {strict} (RFC 9700 section 2.1.2). Use "
                "authorization_code with PKCE (S256)."
            )
        offered = tuple(g for g in offered if g is not GrantType.IMPLICIT)
    chosen_grants = list(dict.fromkeys(grant_types)) or [g.value for g in offered]
    for grant in chosen_grants:
        if grant not in {g.value for g in offered}:
            raise RegistrationError(
                f"The grant {grant!r} is not available to {platform.value} apps; they may use "
                + ", ".join(g.value for g in offered)
                + "."
            )
    if chosen_grants == [GrantType.REFRESH_TOKEN.value]:
        raise RegistrationError("The refresh_token grant needs a grant that issues tokens.")
    secret = s.new_secret() if is_confidential(platform) else None
    app = App(
        client_id=s.new_client_id(),
        name=name,
        platform=platform,
        redirect_uris=tuple(uris),
        scopes=tuple(join_scope(chosen_scopes).split()),
        grant_types=tuple(g.value for g in offered if g.value in chosen_grants),
        secret_digest=hasher.digest(secret, s.CLIENT_SECRET) if secret else None,
        created_at=int(time.time()),
        profile=profile,
    )
    repo.add(app)
    return NewApp(app, secret)


def rotate_secret(repo: AppRepository, hasher: s.SecretHasher, client_id: str) -> NewApp:
    """A new secret for a confidential app; the old one stops working at once."""
    app = repo.get(client_id)
    if app is None:
        raise RegistrationError(f"No app has the client_id {client_id!r}.")
    if not app.confidential:
        raise RegistrationError(
            f"{app.name} is a {app.platform.value} app: it has no secret to rotate."
        )
    secret = s.new_secret()
    repo.set_secret_digest(client_id, hasher.digest(secret, s.CLIENT_SECRET))
    return NewApp(app, secret)
