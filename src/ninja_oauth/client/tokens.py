"""The token a client holds: access token, expiry, refresh token and scope."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ninja_oauth.client.errors import ProtocolError

# RFC 6749 Appendix A: tokens are VSCHARs (printable ASCII), a scope NQCHARs and spaces.
_VSCHARS = re.compile(r"[\x20-\x7e]*")
_SCOPE_CHARS = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def _optional_str(
    payload: Mapping[str, Any], key: str, allowed: re.Pattern[str] = _VSCHARS
) -> str | None:
    """``payload[key]``, a string of the characters RFC 6749 allows there (no control
    character: it would reach a header, a file, a terminal), or None when absent."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"'{key}' in the token response is not a string")
    if not allowed.fullmatch(value):
        raise ProtocolError(f"'{key}' in the token response holds characters RFC 6749 forbids")
    return value


def _expires_in(payload: Mapping[str, Any]) -> float | None:
    value = payload.get("expires_in")
    if value is None:
        return None
    # Some servers send the number as a string; RFC 6749 §5.1 means seconds either way.
    try:
        if isinstance(value, bool):  # JSON true is not 1 second
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ProtocolError("'expires_in' in the token response is not a number") from None
    except OverflowError:  # an integer of hundreds of digits
        raise ProtocolError("'expires_in' in the token response is not a finite number") from None
    if not math.isfinite(seconds):  # Infinity or NaN: a token that would never expire
        raise ProtocolError("'expires_in' in the token response is not a finite number")
    if seconds < 0:
        raise ProtocolError("'expires_in' in the token response is negative")
    return seconds


@dataclass(frozen=True, repr=False)
class Token:
    """An access token response (RFC 6749 §5.1) with absolute times; `repr` masks the tokens."""

    access_token: str
    issued_at: float
    expires_at: float | None = None
    refresh_token: str | None = None
    scope: str | None = None
    token_type: str = "Bearer"
    # What a service token was asked for ("" the server's default; None: not known), so that a
    # cached one serves only a program asking for the same (TokenManager).
    requested_scope: str | None = None

    @classmethod
    def from_response(
        cls,
        payload: Mapping[str, Any],
        *,
        now: float,
        requested_scope: str | None = None,
        previous_refresh_token: str | None = None,
    ) -> Token:
        """Read a token response; `ProtocolError` when it is not one."""
        access_token = _optional_str(payload, "access_token")
        if not access_token:
            raise ProtocolError("the token response has no 'access_token'")
        token_type = _optional_str(payload, "token_type") or "Bearer"
        if token_type.lower() != "bearer":
            raise ProtocolError(f"unsupported token_type {token_type!r}: only bearer is")
        expires_in = _expires_in(payload)
        return cls(
            access_token=access_token,
            issued_at=now,
            expires_at=None if expires_in is None else now + expires_in,
            # RFC 6749 §6: without a new refresh token the client keeps using the old one.
            refresh_token=_optional_str(payload, "refresh_token") or previous_refresh_token,
            # RFC 6749 §5.1: an omitted scope is the one requested.
            scope=_optional_str(payload, "scope", _SCOPE_CHARS) or requested_scope,
            token_type="Bearer",
        )

    def expires_in(self, now: float) -> float | None:
        """Seconds left, or None when the server did not say."""
        return None if self.expires_at is None else self.expires_at - now

    def is_expiring(self, now: float, leeway: float) -> bool:
        """True once `now` is within the renewal margin of the expiry.

        The margin is `leeway`, capped at half the lifetime so that a short-lived token is still
        used for a while rather than renewed on every call.
        """
        if self.expires_at is None:
            return False
        margin = min(leeway, (self.expires_at - self.issued_at) / 2)
        return now >= self.expires_at - margin

    def with_refresh_token(self, refresh_token: str | None) -> Token:
        return replace(self, refresh_token=refresh_token)

    def to_dict(self) -> dict[str, Any]:
        """The form stored in the token cache."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            **({} if self.requested_scope is None else {"requested_scope": self.requested_scope}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        access_token = data.get("access_token")
        issued_at = data.get("issued_at")
        expires_at = data.get("expires_at")
        if not isinstance(access_token, str) or not isinstance(issued_at, int | float):
            raise ValueError("not a cached token")
        if not _VSCHARS.fullmatch(access_token):  # it goes in a header: no control character
            raise ValueError("not a cached token")
        if expires_at is not None and not isinstance(expires_at, int | float):
            raise ValueError("not a cached token")
        return cls(
            access_token=access_token,
            issued_at=float(issued_at),
            expires_at=None if expires_at is None else float(expires_at),
            refresh_token=_optional_str(data, "refresh_token"),
            scope=_optional_str(data, "scope"),
            requested_scope=_optional_str(data, "requested_scope", _SCOPE_CHARS),
        )

    def to_response(self, now: float) -> dict[str, Any]:
        """The token as a token endpoint answers it (what `ninja-oauth token --json` prints)."""
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type}
        expires_in = self.expires_in(now)
        if expires_in is not None:
            body["expires_in"] = max(0, int(expires_in))
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.scope is not None:
            body["scope"] = self.scope
        return body

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', expires_at={self.expires_at!r}, "
            f"refresh_token={'***' if self.refresh_token else None!r}, scope={self.scope!r})"
        )
