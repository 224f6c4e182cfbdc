"""Typed errors from the server's `error`, with its description and without secrets."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote_plus

import httpx
import pytest

from ninja_oauth.client import (
    AccessDenied,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    NetworkError,
    NinjaOAuth,
    OAuthError,
    ProtocolError,
    ServerError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
)
from ninja_oauth.client.errors import oauth_error

SECRET = "s3cr3t-client-secret-value"


def answering(status: int, body: object, headers: dict[str, str] | None = None) -> NinjaOAuth:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return NinjaOAuth.client_credentials(
        base_url="https://ninja.example",
        client_id="client-a",
        client_secret=SECRET,
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("invalid_request", InvalidRequest),
        ("invalid_client", InvalidClient),
        ("invalid_grant", InvalidGrant),
        ("unauthorized_client", UnauthorizedClient),
        ("unsupported_grant_type", UnsupportedGrantType),
        ("invalid_scope", InvalidScope),
        ("access_denied", AccessDenied),
        ("unsupported_response_type", UnsupportedResponseType),
        ("unsupported_token_type", UnsupportedTokenType),
        ("server_error", ServerError),
        ("temporarily_unavailable", TemporarilyUnavailable),
        ("invalid_token", InvalidToken),
        ("insufficient_scope", InsufficientScope),
    ],
)
def test_each_error_code_has_its_class(code: str, cls: type[OAuthError]) -> None:
    error = oauth_error(code, "why", status_code=400)

    assert type(error) is cls
    assert (error.error, error.description, error.status_code) == (code, "why", 400)
    assert str(error) == f"{code}: why (HTTP 400)"


def test_an_unknown_code_is_a_plain_oauth_error() -> None:
    error = oauth_error("slow_down")

    assert type(error) is OAuthError and str(error) == "slow_down"


def test_a_token_endpoint_error_carries_the_server_description() -> None:
    auth = answering(400, {"error": "invalid_scope", "error_description": "Unknown 'x'."})

    with pytest.raises(InvalidScope) as raised:
        auth.get_token()

    assert str(raised.value) == "invalid_scope: Unknown 'x'. (HTTP 400)"


def test_a_secret_echoed_by_the_server_is_masked_in_the_error() -> None:
    auth = answering(401, {"error": "invalid_client", "error_description": f"bad {SECRET}"})

    with pytest.raises(InvalidClient) as raised:
        auth.get_token()

    assert raised.value.description == "bad [redacted]"
    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (502, "<html>bad gateway</html>", "answered HTTP 502 without an OAuth error"),
        (200, {"token_type": "bearer"}, "the token response has no 'access_token'"),
        (200, {"access_token": "a", "token_type": "mac"}, "unsupported token_type 'mac'"),
        (200, {"access_token": "a", "expires_in": "soon"}, "'expires_in' in the token response"),
        (200, {"access_token": "a", "expires_in": "Infinity"}, "'expires_in' in the token "),
        (200, {"access_token": "a", "expires_in": "NaN"}, "'expires_in' in the token response"),
        (200, {"access_token": "a", "expires_in": True}, "'expires_in' in the token response"),
        (
            200,
            {"access_token": "a", "expires_in": 10**400},
            "'expires_in' in the token response is not a finite number",
        ),
        (200, {"access_token": "a\x1b]0;x\x07"}, "'access_token' in the token response holds"),
        (200, {"access_token": "a", "refresh_token": "r\n"}, "'refresh_token' in the token"),
        (200, {"access_token": "a", "scope": "monitoring\x1b[2J"}, "'scope' in the token "),
    ],
    ids=[
        "html-error",
        "no-access-token",
        "not-bearer",
        "bad-expires-in",
        "inf",
        "nan",
        "true",
        "huge-integer",
        "escape-in-token",
        "newline-in-refresh-token",
        "escape-in-scope",
    ],
)
def test_a_response_that_is_not_oauth_is_a_protocol_error(
    status: int, body: object, message: str
) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        answering(status, body).get_token()


def test_token_type_and_expires_in_are_read_leniently() -> None:
    token = answering(200, {"access_token": "a", "token_type": "bearer", "expires_in": "60"})

    issued = token.get_token()

    assert issued.token_type == "Bearer"
    assert issued.expires_at is not None and issued.expires_at - issued.issued_at == 60


def test_an_unreachable_server_is_a_network_error_naming_the_host() -> None:
    auth = NinjaOAuth.client_credentials(
        base_url="http://127.0.0.1:9", client_id="client-a", client_secret=SECRET
    )

    with pytest.raises(NetworkError) as raised:
        auth.get_token()

    assert str(raised.value).startswith("could not reach 127.0.0.1: ")


def test_the_auth_repr_names_no_secret() -> None:
    auth = answering(200, {})

    assert repr(auth) == (
        "NinjaOAuth(base_url='https://ninja.example', client_id='client-a', "
        "grant_type='client_credentials')"
    )


@pytest.mark.parametrize("secret", [SECRET, "s3cr3t/with+reserved:characters=="])
def test_a_server_echoing_the_basic_credentials_gets_them_redacted(secret: str) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        sent = f"bad client, auth={request.headers['authorization']}"
        return httpx.Response(401, json={"error": "invalid_client", "error_description": sent})

    auth = NinjaOAuth.client_credentials(
        base_url="https://ninja.example",
        client_id="client-a",
        client_secret=secret,
        auth_method="client_secret_basic",
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(InvalidClient) as raised:
        auth.get_token()
    credentials = base64.b64encode(f"client-a:{quote_plus(secret)}".encode()).decode()
    assert credentials not in str(raised.value) and "Basic " in str(raised.value)


def test_a_slow_down_says_how_long_to_wait() -> None:
    """The 429's Retry-After, which a CLI user never sees, is in the message and the error."""
    description = "Too many failed authentication attempts; retry after the delay in Retry-After."
    auth = answering(
        429, {"error": "slow_down", "error_description": description}, {"Retry-After": "54"}
    )

    with pytest.raises(OAuthError) as raised:
        auth.get_token()

    assert raised.value.retry_after == 54
    assert str(raised.value) == f"slow_down: {description} (HTTP 429); retry in 54 s"
