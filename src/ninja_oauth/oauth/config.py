"""Small value objects the protocol core needs from the settings (built by ``settings.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from ninja_oauth.oauth.profiles import Profile


@dataclass(frozen=True, slots=True)
class Lifetimes:
    access_token: int = 3600
    code: int = 60
    refresh_token: int = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Issuer:
    url: str

    def endpoint(self, path: str) -> str:
        return self.url + path


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    client_auth_key: int = 10
    client_auth_address: int = 50
    login_key: int = 5
    login_address: int = 30
    window: int = 300
    block: int = 60


@dataclass(frozen=True, slots=True)
class Policy:
    """Server-wide choices the core enforces: the profile (``profiles.py``) and which apps are
    resource servers, allowed to introspect other apps' access tokens (RFC 7662 §4)."""

    profile: Profile = Profile.FAITHFUL
    introspection_resource_servers: frozenset[str] = frozenset()
