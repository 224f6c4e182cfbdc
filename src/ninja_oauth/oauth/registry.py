"""App registration rules: create, rotate the secret, delete (used by the CLI and admin pages).

The secret is returned once, in a NewApp, and stored only as a keyed digest.
"""

from __future__ import annotations

import dataclasses
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ninja_oauth.oauth import browser_urls
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
from ninja_oauth.oauth.scopes import API_SCOPES, Scope, join_scope

# Bounds that keep a registration small enough to read on every request.
MAX_REDIRECT_URIS = 20
MAX_REDIRECT_URI_LENGTH = 2000


class RegistrationError(ValueError):
    """A registration that breaks a rule; the message says which and how to fix it, and
    ``field`` names the field at fault (the admin API's 400 and the console's form say it)."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


# RFC 3986 §2: unreserved and reserved characters, and percent-encoded octets.
_URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")


def _check_redirect_uri(uri: str, platform: Platform) -> None:
    """Absolute, no fragment (RFC 6749 §3.1.2); https, except http on loopback/localhost
    (RFC 8252 §7.3) and private-use schemes for native apps (RFC 8252 §7.1)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise _uri_error(f"Redirect URI {uri!r} is not a valid URI.") from None
    if not parts.scheme:
        raise _uri_error(f"Redirect URI {uri!r} must be absolute (with a scheme).")
    if parts.fragment or "#" in uri:
        raise _uri_error(f"Redirect URI {uri!r} must not contain a fragment.")
    if parts.scheme == "https":
        if not parts.hostname:
            raise _uri_error(f"Redirect URI {uri!r} has no host.")
        return
    if parts.scheme == "http":
        if parts.hostname in ("127.0.0.1", "::1", "localhost"):
            return
        raise _uri_error(
            f"Redirect URI {uri!r} must use https (http is allowed only on 127.0.0.1, [::1] "
            "and localhost)."
        )
    if platform is Platform.NATIVE and "." in parts.scheme:
        # RFC 8252 §7.1: a private-use scheme in reverse-domain form, e.g. com.example.app:/cb
        return
    if platform is Platform.NATIVE:
        raise _uri_error(
            f"Redirect URI {uri!r}: a native app's custom scheme must be in reverse-domain form "
            "(e.g. com.example.app:/callback, RFC 8252 §7.1)."
        )
    raise _uri_error(f"Redirect URI {uri!r} must use https.")


def _check_as_a_browser_reads_it(uri: str) -> None:
    """Compared as written, followed as the browser reads it: "/x/../admin" would take the code,
    and this server's cookies, to "/admin", and an escaped host ("%EF%BC%91..." is a fullwidth
    "1") to another host (web/authorize.py's guard reads both as the browser does)."""
    parts = urlsplit(uri)
    if browser_urls.has_dot_segments(parts.path):
        raise _uri_error(
            f"Redirect URI {uri!r} has a '.' or '..' path segment, which the browser resolves "
            "before going there: register the URI it resolves to."
        )
    if "%" in parts.netloc:
        raise _uri_error(
            f"Redirect URI {uri!r}: write its host without %-escapes (the browser decodes them "
            "into another host)."
        )


def _uri_error(message: str) -> RegistrationError:
    return RegistrationError(message, "redirect_uris")


@dataclass(frozen=True, slots=True)
class AppSettings:
    """What an app's registration or edit sets, after the rules: one place for the CLI, the
    console and the admin API, so the three never disagree."""

    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]


def checked_settings(
    *,
    name: str,
    platform: Platform,
    redirect_uris: Sequence[str] = (),
    scopes: Sequence[str] = (),
    grant_types: Sequence[str] = (),
    strict: str | None = None,
    is_admin: bool = False,
    registered: frozenset[str] = frozenset(),
) -> AppSettings:
    """An app's settings as the rules accept them (empty scopes or grants: all it may have),
    or RegistrationError naming the field. ``strict`` is why the strict profile applies to
    the app (None: it does not): then the implicit grant is neither given nor accepted.
    ``registered``: the app's redirect URIs as they were, kept even where a later rule (RFC
    3986's characters) would refuse them, so that the app can still be renamed."""
    name = name.strip()
    if not name or len(name) > 200:
        raise RegistrationError("The app needs a name of 1 to 200 characters.", "name")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        # A control character would be printed raw by the CLI (a terminal escape).
        raise RegistrationError("The app's name may not hold control characters.", "name")
    if is_admin and platform is not Platform.API_SERVICES:
        raise RegistrationError(
            "An admin app is an API Services app: the admin scope is granted by "
            "client_credentials only, never through a browser.",
            "platform",
        )
    uris = list(dict.fromkeys(u.strip() for u in redirect_uris if u.strip()))
    if len(uris) > MAX_REDIRECT_URIS:
        raise _uri_error(f"An app may have at most {MAX_REDIRECT_URIS} redirect URIs.")
    for uri in uris:
        if len(uri) > MAX_REDIRECT_URI_LENGTH:
            raise _uri_error(
                f"A redirect URI may have at most {MAX_REDIRECT_URI_LENGTH} characters."
            )
        if uri not in registered and not _URI.fullmatch(uri):
            # Not a URI: a space, a control character, a character beyond ASCII (an IRI)
            # would be rewritten or refused on the way to the browser (Location is ASCII).
            raise _uri_error(
                f"Redirect URI {uri!r} is not a valid URI: percent-encode any character that "
                "is not allowed in a URI (RFC 3986), such as spaces and non-ASCII letters."
            )
        _check_redirect_uri(uri, platform)
        if uri not in registered:
            _check_as_a_browser_reads_it(uri)
    if needs_redirect_uri(platform) and not uris:
        raise _uri_error(f"A {platform.value} app needs at least one redirect URI.")
    valid_scopes = [x.value for x in API_SCOPES] + ([Scope.ADMIN.value] if is_admin else [])
    chosen_scopes = list(dict.fromkeys(scopes)) or valid_scopes
    bad = [x for x in chosen_scopes if x not in valid_scopes]
    if bad:
        raise RegistrationError(
            f"Unknown scope {bad[0]!r}: choose among {', '.join(valid_scopes)} "
            "(offline_access is asked for at authorization, not configured).",
            "scopes",
        )
    offered = grant_types_for(platform)
    if strict is not None:
        if GrantType.IMPLICIT in offered and GrantType.IMPLICIT.value in grant_types:
            raise RegistrationError(
                f"The implicit grant is off: {strict} (RFC 9700 section 2.1.2). Use "
                "authorization_code with PKCE (S256).",
                "grant_types",
            )
        offered = tuple(g for g in offered if g is not GrantType.IMPLICIT)
    chosen_grants = list(dict.fromkeys(grant_types)) or [g.value for g in offered]
    for grant in chosen_grants:
        if grant not in {g.value for g in offered}:
            raise RegistrationError(
                f"The grant {grant!r} is not available to {platform.value} apps; they may use "
                + ", ".join(g.value for g in offered)
                + ".",
                "grant_types",
            )
    if chosen_grants == [GrantType.REFRESH_TOKEN.value]:
        raise RegistrationError(
            "The refresh_token grant needs a grant that issues tokens.", "grant_types"
        )
    return AppSettings(
        name=name,
        redirect_uris=tuple(uris),
        scopes=tuple(join_scope(chosen_scopes).split()),
        grant_types=tuple(g.value for g in offered if g.value in chosen_grants),
    )


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
    is_admin: bool = False,
) -> NewApp:
    """Register an app; ``profile`` is its own (None: it follows the server's; the stricter of
    the two applies, ``profiles.py``). Where the strict profile applies, the implicit grant is
    neither given by default nor accepted."""
    checked = checked_settings(
        name=name,
        platform=platform,
        redirect_uris=redirect_uris,
        scopes=scopes,
        grant_types=grant_types,
        strict=strict_because(server_profile, profile),
        is_admin=is_admin,
    )
    secret = s.new_secret() if is_confidential(platform) else None
    app = App(
        client_id=s.new_client_id(),
        name=checked.name,
        platform=platform,
        redirect_uris=checked.redirect_uris,
        scopes=checked.scopes,
        grant_types=checked.grant_types,
        secret_digest=hasher.digest(secret, s.CLIENT_SECRET) if secret else None,
        created_at=int(time.time()),
        profile=profile,
        is_admin=is_admin,
    )
    repo.add(app)
    return NewApp(app, secret)


def edit_app(
    repo: AppRepository,
    app: App,
    *,
    name: str | None = None,
    redirect_uris: Sequence[str] | None = None,
    scopes: Sequence[str] | None = None,
    grant_types: Sequence[str] | None = None,
    server_profile: Profile = Profile.FAITHFUL,
) -> App:
    """Change what an administrator may change (None: keep it), by the registration's rules.
    Tokens already issued keep their scope until they expire or are revoked; a refresh issues
    only the scopes the app still has (grants/refresh_token.py)."""
    if scopes is not None and not scopes:
        raise RegistrationError("Choose at least one scope.", "scopes")
    if grant_types is not None and not grant_types:
        raise RegistrationError("Choose at least one grant type.", "grant_types")
    checked = checked_settings(
        name=app.name if name is None else name,
        platform=app.platform,
        redirect_uris=app.redirect_uris if redirect_uris is None else redirect_uris,
        scopes=app.scopes if scopes is None else scopes,
        grant_types=app.grant_types if grant_types is None else grant_types,
        # The strict profile judges grants being set: an app registered with the implicit
        # grant before the server turned strict can still be renamed (its implicit requests
        # are refused at the authorize endpoint all the same).
        strict=strict_because(server_profile, app.profile) if grant_types is not None else None,
        is_admin=app.is_admin,
        registered=frozenset(app.redirect_uris),
    )
    changed = dataclasses.replace(
        app,
        name=checked.name,
        redirect_uris=checked.redirect_uris,
        scopes=checked.scopes,
        grant_types=checked.grant_types,
    )
    if not repo.update(changed):
        raise RegistrationError(f"No app has the client_id {app.client_id!r}.", "client_id")
    return changed


def rotate_secret(repo: AppRepository, hasher: s.SecretHasher, client_id: str) -> NewApp:
    """A new secret for a confidential app; the old one stops working at once."""
    app = repo.get(client_id)
    if app is None:
        raise RegistrationError(f"No app has the client_id {client_id!r}.", "client_id")
    if not app.confidential:
        raise RegistrationError(
            f"{app.name} is a {app.platform.value} app: it has no secret to rotate.", "client_id"
        )
    secret = s.new_secret()
    repo.set_secret_digest(client_id, hasher.digest(secret, s.CLIENT_SECRET))
    return NewApp(app, secret)
