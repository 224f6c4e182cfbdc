"""Typed SDK errors: one class per RFC 6749 §5.2 / RFC 6750 §3.1 error code, plus the client's own.

An `OAuthError` carries the server's `error` and `error_description` unchanged, except that any
secret or token the SDK knows of is masked first: errors end up in logs and terminals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

_REDACTED = "[redacted]"


class NinjaOAuthError(Exception):
    """Base of every error the ninja-oauth client raises."""


class OAuthError(NinjaOAuthError):
    """An error answered by the authorization server (RFC 6749 §5.2, §4.1.2.1)."""

    code: ClassVar[str] = ""

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        status_code: int | None = None,
        hint: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        self.hint = hint
        # The seconds the server's Retry-After asked to wait (a 429 slow_down), if it said.
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.error
        if self.description:
            text += f": {self.description}"
        if self.status_code is not None:
            text += f" (HTTP {self.status_code})"
        if self.retry_after is not None:
            text += f"; retry in {self.retry_after} s"
        if self.hint:
            text += f". {self.hint}"
        return text


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClient(OAuthError):
    code = "invalid_client"


class InvalidGrant(OAuthError):
    code = "invalid_grant"


class UnauthorizedClient(OAuthError):
    code = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"


class InvalidScope(OAuthError):
    code = "invalid_scope"


class AccessDenied(OAuthError):
    code = "access_denied"


class UnsupportedResponseType(OAuthError):
    code = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    code = "unsupported_token_type"  # RFC 7009 §2.2.1


class ServerError(OAuthError):
    code = "server_error"


class TemporarilyUnavailable(OAuthError):
    code = "temporarily_unavailable"


class InvalidToken(OAuthError):
    code = "invalid_token"  # RFC 6750 §3.1


class InsufficientScope(OAuthError):
    code = "insufficient_scope"  # RFC 6750 §3.1


class StateMismatch(NinjaOAuthError):
    """The callback's `state` is not the one sent: a possible CSRF (RFC 6749 §10.12)."""


class IssuerMismatch(NinjaOAuthError):
    """The callback's `iss` names another server than the one asked: a possible mix-up
    attack (RFC 9207 §2.4)."""


class LoginRequired(NinjaOAuthError):
    """There is no usable token and none can be obtained without the user logging in."""


class LoginTimeout(NinjaOAuthError):
    """The browser did not come back to the loopback redirect URI in time."""


class ProtocolError(NinjaOAuthError):
    """The server answered something that is not an OAuth 2.0 response."""


class NetworkError(NinjaOAuthError):
    """The server could not be reached (connection, TLS or timeout error)."""


_BY_CODE: dict[str, type[OAuthError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        InvalidClient,
        InvalidGrant,
        UnauthorizedClient,
        UnsupportedGrantType,
        InvalidScope,
        AccessDenied,
        UnsupportedResponseType,
        UnsupportedTokenType,
        ServerError,
        TemporarilyUnavailable,
        InvalidToken,
        InsufficientScope,
    )
}


# Shorter strings are no secret worth the name, and masking them would garble every message.
_MIN_SECRET_LENGTH = 6


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every known secret or token replaced, longest first."""
    known = (s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def oauth_error(
    error: str,
    description: str | None = None,
    *,
    status_code: int | None = None,
    secrets: Iterable[str | None] = (),
    hint: str | None = None,
    retry_after: int | None = None,
) -> OAuthError:
    """The typed error for the server's `error` code (`OAuthError` itself for unknown codes)."""
    known = list(secrets)
    cls = _BY_CODE.get(error, OAuthError)
    return cls(
        redact(error, known),
        redact(description, known) if description else None,
        status_code=status_code,
        hint=hint,
        retry_after=retry_after,
    )
