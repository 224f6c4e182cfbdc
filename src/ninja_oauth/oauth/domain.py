"""The documents' nouns as frozen values: apps, users, codes, token records, access grants."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ninja_oauth.oauth.platforms import GrantType, Platform, is_confidential
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.scopes import Scope


def _without_loopback_port(uri: str) -> str | None:
    """``uri`` with its port removed if it is an http loopback IP URI with nothing else unusual
    (no userinfo, no fragment); None otherwise."""
    if "#" in uri or "@" in uri:
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1"):
        return None
    host = "[::1]" if parts.hostname == "::1" else "127.0.0.1"
    if parts.netloc not in (host, f"{host}:{port}"):
        return None
    return "http://" + host + uri[len("http://") + len(parts.netloc) :]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def web_origin(url: str) -> str | None:
    """The origin of an http(s) URL as a browser writes it in ``Origin`` (RFC 6454): scheme and
    host in lower case, the port only when it is not the scheme's default; None for anything
    else (``null``, a custom scheme)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        shown += f":{port}"
    return f"{parts.scheme}://{shown}"


@dataclass(frozen=True, slots=True)
class App:
    """A registered client application ("Client App ID" in the documents)."""

    client_id: str
    name: str
    platform: Platform
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    secret_digest: str | None = field(default=None, repr=False)
    created_at: int = 0
    # The app's own profile; None follows the server's. The stricter of the two applies.
    profile: Profile | None = None
    # An admin app may be configured with, and granted, the admin scope (client_credentials).
    is_admin: bool = False

    @property
    def confidential(self) -> bool:
        return is_confidential(self.platform)

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def allows_redirect_uri(self, uri: str) -> bool:
        """Exact string match (RFC 9700 §4.1.3), plus RFC 8252 §7.3 for native apps.

        "The authorization server MUST allow any port to be specified at the time of the
        request for loopback IP redirect URIs" — only the port may differ.
        """
        if uri in self.redirect_uris:
            return True
        if self.platform is not Platform.NATIVE:
            return False
        asked = _without_loopback_port(uri)
        return asked is not None and any(
            _without_loopback_port(registered) == asked for registered in self.redirect_uris
        )

    def reads_from_browser(self, origin: str) -> bool:
        """Whether a page of ``origin`` (a request's ``Origin``) may read this app's answers at
        the token and revocation endpoints (CORS): a single-page app calls them from its own
        pages, the origins of its redirect URIs. A server or a native app calls them without
        a browser, and a page of theirs is not let in."""
        if self.platform is not Platform.SPA:
            return False
        asked = web_origin(origin)
        return asked is not None and any(web_origin(uri) == asked for uri in self.redirect_uris)

    def offline_access_allowed(self) -> bool:
        # DESIGN §6: an app with the refresh_token grant may ask for offline_access.
        return GrantType.REFRESH_TOKEN in self.grant_types

    def redirect_uris_json(self) -> str:
        return json.dumps(list(self.redirect_uris))


@dataclass(frozen=True, slots=True)
class NewApp:
    """An app just registered or re-keyed: the only time its secret exists in clear."""

    app: App
    client_secret: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    is_admin: bool = False
    # A disabled user cannot sign in, and their tokens were revoked when they were disabled.
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """An issued code, as stored (the code itself is only ever held as a digest)."""

    client_id: str
    user_id: int
    redirect_uri: str
    scope: str
    grant_id: str
    expires_at: int
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """The family facts behind a refresh token that was just rotated."""

    client_id: str
    user_id: int | None
    scope: str  # the family's original scope (RFC 6749 §6)
    grant_id: str

    # Authlib's TokenMixin subset used by the refresh grant
    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: object) -> bool:
        return getattr(client, "client_id", None) == self.client_id


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token row to store: digests only."""

    access_digest: str
    refresh_digest: str | None
    client_id: str
    user_id: int | None
    scope: str
    refresh_scope: str | None
    grant_id: str
    grant_type: str
    issued_at: int
    access_expires_at: int
    refresh_expires_at: int | None


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What a valid bearer token lets its holder do (the resource server's view)."""

    token_id: int
    client_id: str
    user_id: int | None
    scopes: frozenset[str]
    expires_at: int

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as introspection (RFC 7662) and revocation (RFC 7009) see it."""

    token_id: int
    kind: str  # "access_token" or "refresh_token"
    client_id: str
    user_id: int | None
    scope: str
    grant_id: str
    issued_at: int
    expires_at: int
    active: bool

    # Authlib's TokenMixin, as its revocation and introspection endpoints use it
    def check_client(self, client: object) -> bool:
        return getattr(client, "client_id", None) == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return not self.active

    def is_revoked(self) -> bool:
        return not self.active
