"""The neutral result the web layer renders, and the NinjaOne redirect rules in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

# The documents: "you'll receive an HTTP 307 response" for both authorize flows.
AUTHORIZE_REDIRECT_STATUS = 307


@dataclass(frozen=True, slots=True)
class OAuthResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


def redirect_to_client(
    redirect_uri: str, params: list[tuple[str, str | None]], *, fragment: bool, issuer: str
) -> tuple[int, str, list[tuple[str, str]]]:
    """The authorize response (status, body, headers): a 307 to the client's redirect URI.

    ``iss`` is added to every authorization response, error responses included (RFC 9207 §2).
    The implicit grant puts its parameters "in the query string parameters" as the documents
    say, or in the fragment (RFC 6749 §4.2.2) when the client asks with response_mode=fragment.
    """
    pairs = [(k, v) for k, v in params if v is not None] + [("iss", issuer)]
    encoded = urlencode(pairs)
    # Added to the URI as registered, never rebuilt from its parts: urlunsplit drops an empty
    # authority ("com.example.app:///cb" became "com.example.app:/cb"), and the browser must go
    # to the registered URI itself (RFC 6749 §3.1.2). Registered URIs have no fragment.
    if fragment:
        location = f"{redirect_uri}#{encoded}"
    else:
        joint = "" if redirect_uri.endswith(("?", "&")) else "&" if "?" in redirect_uri else "?"
        location = redirect_uri + joint + encoded
    return AUTHORIZE_REDIRECT_STATUS, "", [("Location", location), ("Cache-Control", "no-store")]


# json.dumps builds an encoder on each call made with other than its default arguments: one,
# kept, serves every token response.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def json_response(
    status: int, body: Any, headers: list[tuple[str, str]] | None = None
) -> OAuthResponse:
    out = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
    ]
    for name, value in headers or []:
        if name.lower() not in ("content-type", "cache-control", "pragma"):
            out.append((name, value))
    return OAuthResponse(status, out, _COMPACT.encode(body).encode())
