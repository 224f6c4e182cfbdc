"""The protocol core on fakes, driven with plain Authlib requests: no HTTP, no SQL.

``Core`` builds the server exactly as ``web`` does (``build_authorization_server(CoreContext)``)
and offers helpers that read like the flows: ``register_app``, ``authorize``, ``approve``,
``exchange``, ``refresh``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ninja_oauth.oauth.config import Issuer, Lifetimes, Policy, ThrottleLimits
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import AccessGrant, NewApp, User
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.registry import register_app
from ninja_oauth.oauth.requests import ReadRequest
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.oauth.server import ConsentRequest, build_authorization_server
from tests.oauth.fakes import FakeClock, FakeRepositories

ISSUER = "https://auth.example"
TOKEN_URL = ISSUER + "/ws/oauth/token"
AUTHORIZE_URL = ISSUER + "/ws/oauth/authorize"
ADDRESS = "203.0.113.7"

DEFAULT_REDIRECT_URIS: dict[Platform, tuple[str, ...]] = {
    Platform.API_SERVICES: (),
    Platform.WEB: ("https://client.example/callback",),
    Platform.NATIVE: ("http://127.0.0.1/callback",),
    Platform.SPA: ("https://spa.example/callback",),
}

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)


class PlainRequest(ReadRequest):  # type: ignore[misc]
    """The core's ReadRequest, built from keyword arguments."""

    def __init__(
        self,
        method: str,
        url: str,
        *,
        args: Params | None = None,
        form: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        arg_pairs, form_pairs = _pairs(args), _pairs(form)
        uri = url + ("?" + urlencode(arg_pairs) if arg_pairs else "")
        super().__init__(method, uri, dict(headers or {}), arg_pairs, form_pairs)


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def split_location(response: OAuthResponse) -> tuple[str, dict[str, str], dict[str, str]]:
    """(the URI before '?', query params, fragment params) of a redirect."""
    location = response.location
    assert location is not None, f"no Location in {response.headers}"
    parts = urlsplit(location)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return base, dict(parse_qsl(parts.query)), dict(parse_qsl(parts.fragment))


def assert_oauth_error(
    response: OAuthResponse, status: int, error: str, description: str | None = None
) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body)
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    if description is not None:
        assert body["error_description"] == description, body
    assert ("Cache-Control", "no-store") in response.headers
    return body


class Core:
    """The authorization server on fakes, with a clock the test controls."""

    def __init__(
        self,
        *,
        lifetimes: Lifetimes | None = None,
        limits: ThrottleLimits | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.fakes = FakeRepositories()
        self.hasher = SecretHasher(b"k" * 32)
        self.ctx = CoreContext(
            repos=self.fakes.as_ports(),
            hasher=self.hasher,
            lifetimes=lifetimes or Lifetimes(),
            issuer=Issuer(ISSUER),
            limits=limits or ThrottleLimits(),
            policy=policy or Policy(),
            clock=self.clock,
        )
        self.server = build_authorization_server(self.ctx)
        self.user: User = self.fakes.users.add("alice@example.com", "argon2-hash", False)

    def use_policy(self, policy: Policy) -> None:
        """Serve from now on with another policy, over the same data (a restarted server)."""
        self.ctx = dataclasses.replace(self.ctx, policy=policy)
        self.server = build_authorization_server(self.ctx)

    # -- registry -----------------------------------------------------------------------

    def register_app(
        self,
        platform: Platform | str,
        *,
        redirect_uris: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        grant_types: Iterable[str] = (),
        profile: Profile | None = None,
    ) -> NewApp:
        platform = Platform(platform)
        uris = DEFAULT_REDIRECT_URIS[platform] if redirect_uris is None else tuple(redirect_uris)
        return register_app(
            self.fakes.apps,
            self.hasher,
            name=f"{platform.value} app",
            platform=platform,
            redirect_uris=uris,
            scopes=tuple(scopes),
            grant_types=tuple(grant_types),
            profile=profile,
        )

    # -- token endpoint -------------------------------------------------------------------

    def token(
        self,
        form: Params,
        *,
        headers: Mapping[str, str] | None = None,
        args: Params | None = None,
        address: str = ADDRESS,
    ) -> OAuthResponse:
        request = PlainRequest("POST", TOKEN_URL, args=args, form=form, headers=headers)
        return self.server.token_endpoint(request, address)

    def client_form(self, app: NewApp) -> dict[str, str]:
        """client_secret_post for confidential apps, client_id alone for public ones."""
        form = {"client_id": app.app.client_id}
        if app.client_secret is not None:
            form["client_secret"] = app.client_secret
        return form

    def exchange(
        self,
        app: NewApp,
        code: str,
        *,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
        **extra: str,
    ) -> OAuthResponse:
        form = {"grant_type": "authorization_code", "code": code, **self.client_form(app)}
        form["redirect_uri"] = redirect_uri or app.app.redirect_uris[0]
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        form.update(extra)
        return self.token(form)

    def refresh(self, app: NewApp, refresh_token: str, **extra: str) -> OAuthResponse:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        form.update(self.client_form(app))
        form.update(extra)
        return self.token(form)

    # -- authorize endpoint ---------------------------------------------------------------

    def authorize(
        self, params: Params, *, address: str = ADDRESS
    ) -> ConsentRequest | OAuthResponse:
        request = PlainRequest("GET", AUTHORIZE_URL, args=params)
        return self.server.validate_authorize(request, address)

    def consent(self, params: Params) -> ConsentRequest:
        result = self.authorize(params)
        assert isinstance(result, ConsentRequest), result
        return result

    def approve(self, consent: ConsentRequest, *, deny: bool = False) -> OAuthResponse:
        return self.server.complete_authorize(consent, None if deny else self.user)

    def code_params(self, app: NewApp, **params: str) -> dict[str, str]:
        base = {
            "response_type": "code",
            "client_id": app.app.client_id,
            "redirect_uri": app.app.redirect_uris[0],
            "state": "xyz",
        }
        base.update(params)
        return base

    def authorize_code(self, app: NewApp, **params: str) -> str:
        """Authorize and approve; the code from the 307."""
        response = self.approve(self.consent(self.code_params(app, **params)))
        assert response.status == 307
        _, query, _ = split_location(response)
        return query["code"]

    def login(self, app: NewApp, scope: str = "monitoring offline_access") -> dict[str, Any]:
        """The whole code flow (PKCE S256): the token response body."""
        verifier, challenge = pkce_pair()
        code = self.authorize_code(
            app, scope=scope, code_challenge=challenge, code_challenge_method="S256"
        )
        response = self.exchange(app, code, code_verifier=verifier)
        assert response.status == 200, response.body
        body: dict[str, Any] = response.json()
        return body

    def access(self, access_token: str) -> AccessGrant | None:
        """The resource server's view of a bearer token (None once revoked)."""
        return self.fakes.tokens.find_access(self.hasher.access_key(access_token))
