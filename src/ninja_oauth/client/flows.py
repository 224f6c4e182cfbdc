"""The OAuth 2.0 messages: token, revocation and authorization requests, and their answers.

Everything here builds an `httpx.Request` or reads an `httpx.Response`; sending is the caller's,
so the same code serves the sync and the async client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from ninja_oauth.client.errors import IssuerMismatch, ProtocolError, StateMismatch, oauth_error
from ninja_oauth.client.pkce import PKCE, generate_state
from ninja_oauth.client.tokens import Token

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic", "none"]


def join_scopes(scopes: Sequence[str] | str | None) -> str | None:
    """The space-delimited `scope` parameter (RFC 6749 §3.3), or None to let the server choose."""
    if scopes is None:
        return None
    given = [scopes] if isinstance(scopes, str) else scopes
    items = [scope for item in given for scope in item.split()]  # "a b" is two scopes
    return " ".join(dict.fromkeys(items)) or None


@dataclass(frozen=True, repr=False)
class ClientIdentity:
    """A client ID, its secret (None for a public app) and how it authenticates (RFC 6749 §2.3)."""

    client_id: str
    client_secret: str | None = None
    # NinjaOne's documents send the credentials as form fields, so that is the default.
    auth_method: ClientAuthMethod = "client_secret_post"

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id is required")
        if self.auth_method != "none" and self.client_secret is None:
            object.__setattr__(self, "auth_method", "none")

    def _basic(self, secret: str) -> str:
        # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
        pair = f"{quote_plus(self.client_id)}:{quote_plus(secret)}"
        return base64.b64encode(pair.encode()).decode()

    def authenticate(self, form: dict[str, str], headers: dict[str, str]) -> None:
        """Add the client authentication to a token or revocation request."""
        if self.auth_method == "client_secret_basic" and self.client_secret is not None:
            headers["Authorization"] = "Basic " + self._basic(self.client_secret)
            return
        form["client_id"] = self.client_id
        if self.auth_method == "client_secret_post" and self.client_secret is not None:
            form["client_secret"] = self.client_secret

    def secret_forms(self) -> list[str]:
        """Every form in which a request carries the secret: as it is, form-urlencoded, and
        inside the Basic credentials; an error message that echoes one is redacted."""
        secret = self.client_secret
        if secret is None:
            return []
        return [secret, quote_plus(secret), self._basic(secret)]

    def __repr__(self) -> str:
        return f"ClientIdentity(client_id={self.client_id!r}, auth_method={self.auth_method!r})"


def _form_request(
    url: str, client: ClientIdentity, params: Mapping[str, str | None]
) -> httpx.Request:
    form = {key: value for key, value in params.items() if value is not None}
    headers = {"Accept": "application/json"}
    client.authenticate(form, headers)
    return httpx.Request("POST", url, data=form, headers=headers)


def metadata_url(base_url: str) -> str:
    """Where a server publishes its authorization server metadata (RFC 8414 §3)."""
    return base_url.rstrip("/") + "/.well-known/oauth-authorization-server"


def token_request(
    url: str, client: ClientIdentity, params: Mapping[str, str | None]
) -> httpx.Request:
    """POST to the token endpoint (RFC 6749 §4.1.3, §4.4.2, §6)."""
    return _form_request(url, client, params)


def revocation_request(
    url: str, client: ClientIdentity, token: str, token_type_hint: str
) -> httpx.Request:
    """POST to the revocation endpoint (RFC 7009 §2.1)."""
    return _form_request(url, client, {"token": token, "token_type_hint": token_type_hint})


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _retry_after(response: httpx.Response) -> int | None:
    """Retry-After in seconds (RFC 9110 §10.2.3), when it is a number of them."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None


def raise_for_oauth_error(
    response: httpx.Response, *, secrets: Iterable[str | None], hint: str | None = None
) -> None:
    """Raise the typed error for an error answer (RFC 6749 §5.2); return on 2xx."""
    if response.is_success:
        return
    body = _json_body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        raise oauth_error(
            body["error"],
            description if isinstance(description, str) else None,
            status_code=response.status_code,
            secrets=secrets,
            hint=hint,
            retry_after=_retry_after(response),
        )
    raise ProtocolError(
        f"{response.request.url.copy_with(query=None)} answered HTTP {response.status_code} "
        "without an OAuth error"
    )


def parse_token_response(
    response: httpx.Response,
    *,
    now: float,
    secrets: Iterable[str | None],
    requested_scope: str | None = None,
    previous_refresh_token: str | None = None,
    hint: str | None = None,
) -> Token:
    """The token of a token-endpoint answer, or its typed error."""
    raise_for_oauth_error(response, secrets=secrets, hint=hint)
    body = _json_body(response)
    if not isinstance(body, dict):
        raise ProtocolError("the token endpoint did not answer a JSON object")
    return Token.from_response(
        body,
        now=now,
        requested_scope=requested_scope,
        previous_refresh_token=previous_refresh_token,
    )


@dataclass(frozen=True, repr=False)
class AuthorizationRequest:
    """An authorization request sent through the browser, and what the callback is checked with.

    A server app keeps it in the user's session between the redirect and the callback.
    """

    url: str
    state: str
    redirect_uri: str
    scope: str | None = None
    code_verifier: str | None = None
    # The issuer the callback's `iss` must name (RFC 9207); by default the authorization
    # endpoint's origin.
    issuer: str | None = None

    def __repr__(self) -> str:
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r}, scope={self.scope!r})"


def authorization_request(
    authorization_url: str,
    client_id: str,
    *,
    redirect_uri: str,
    scope: str | None,
    pkce: bool,
    state: str | None = None,
    extra: Mapping[str, str] | None = None,
    issuer: str | None = None,
) -> AuthorizationRequest:
    """Build the `response_type=code` request URL (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
    state = state or generate_state()
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scope:
        params["scope"] = scope
    challenge = PKCE.generate() if pkce else None
    if challenge is not None:
        params["code_challenge"] = challenge.challenge
        params["code_challenge_method"] = challenge.method
    params.update(extra or {})
    parts = urlsplit(authorization_url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return AuthorizationRequest(
        url=urlunsplit(parts._replace(query=query)),
        state=state,
        redirect_uri=redirect_uri,
        scope=scope,
        code_verifier=challenge.verifier if challenge else None,
        issuer=issuer,
    )


def callback_params(callback: str | Mapping[str, str]) -> dict[str, str]:
    """The parameters of a redirect back to the client: a full URL, a query string, or a dict."""
    if not isinstance(callback, str):
        return dict(callback)
    query = urlsplit(callback).query if "://" in callback else callback.lstrip("?")
    return dict(parse_qsl(query, keep_blank_values=True))


def code_from_callback(callback: str | Mapping[str, str], request: AuthorizationRequest) -> str:
    """The `code` of an authorization response, after the state check (RFC 6749 §4.1.2)."""
    params = callback_params(callback)
    # The state is checked first: an error redirect with a foreign state is not ours to report.
    if params.get("state") != request.state:
        raise StateMismatch("the callback's state does not match the request: log in again")
    issuer = params.get("iss")
    parts = urlsplit(request.url)
    expected = request.issuer or f"{parts.scheme}://{parts.netloc}"
    if issuer is not None and _same_issuer(issuer) != _same_issuer(expected):
        # RFC 9207 §2.4: a response naming another issuer is refused, error or code. A server
        # that sends no `iss` (NinjaOne's regions) is not held to it.
        raise IssuerMismatch(
            f"the callback names the issuer {issuer!r}, not {expected!r}: if that is the "
            "server you meant, give its exact value as issuer= (login --issuer from the CLI); "
            "else log in again"
        )
    if "error" in params:
        raise oauth_error(params["error"], params.get("error_description") or None)
    code = params.get("code")
    if not code:
        raise ProtocolError("the callback has neither 'code' nor 'error'")
    return code


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_issuer(url: str) -> str:
    """An issuer URL compared as RFC 9207 §2.4 asks (simple string comparison) once the
    spellings that name the same URL are made one: scheme and host case, a default port, a
    trailing slash. Anything that is not an absolute http(s) URL compares as itself."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return url
    scheme = parts.scheme.lower()
    netloc = parts.hostname.lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def code_exchange_params(code: str, request: AuthorizationRequest) -> dict[str, str | None]:
    """Parameters of the code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }
