"""The two profiles: ``faithful`` (every flow the documents describe) and ``strict`` (what the
OAuth 2.0 Security BCP, RFC 9700, advises against is off), and what each one offers.

A server runs one profile (NINJA_OAUTH_PROFILE); an app may have its own. The stricter of the
two applies, so an app can tighten its server's profile, never loosen it: an app marked
``faithful`` under a strict server is strict, and a strict app under a faithful server is strict.
"""

from __future__ import annotations

from enum import StrEnum

from ninja_oauth.oauth.platforms import GrantType


class Profile(StrEnum):
    FAITHFUL = "faithful"
    STRICT = "strict"


def strict_because(server: Profile, app: Profile | None) -> str | None:
    """Why the strict profile applies to a request (for its error description), or None when it
    does not: the server's profile first, then the app's own."""
    if server is Profile.STRICT:
        return "this server runs the strict profile"
    if app is Profile.STRICT:
        return "this app is registered with the strict profile"
    return None


# -- what a server advertises (RFC 8414 metadata) and enforces ----------------------------


def response_types(server: Profile) -> list[str]:
    # RFC 9700 §2.1.2: "clients SHOULD NOT use the implicit grant (response type "token")".
    return ["code"] if server is Profile.STRICT else ["code", "token"]


def grant_types(server: Profile) -> list[str]:
    return [
        g.value for g in GrantType if not (server is Profile.STRICT and g is GrantType.IMPLICIT)
    ]


def code_challenge_methods(server: Profile) -> list[str]:
    # RFC 9700 §2.1.1: "Authorization servers MUST support PKCE" and S256 is the method to use;
    # plain only protects against an attacker who cannot read the authorization request.
    return ["S256"] if server is Profile.STRICT else ["S256", "plain"]
