"""Application platforms and the grant types each one offers (DESIGN §2)."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    API_SERVICES = "api_services"
    WEB = "web"
    NATIVE = "native"
    SPA = "spa"


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    IMPLICIT = "implicit"
    CLIENT_CREDENTIALS = "client_credentials"
    REFRESH_TOKEN = "refresh_token"


# "Allowed Grant Types ... are available based on the application platform" (documents).
_GRANTS: dict[Platform, tuple[GrantType, ...]] = {
    Platform.API_SERVICES: (GrantType.CLIENT_CREDENTIALS, GrantType.REFRESH_TOKEN),
    Platform.WEB: (GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN),
    Platform.NATIVE: (GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN),
    Platform.SPA: (GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.REFRESH_TOKEN),
}


def grant_types_for(platform: Platform) -> tuple[GrantType, ...]:
    """The grant types a platform may be given."""
    return _GRANTS[platform]


def is_confidential(platform: Platform) -> bool:
    """API Services and Web apps keep a secret; Native and SPA apps cannot (documents)."""
    return platform in (Platform.API_SERVICES, Platform.WEB)


def needs_redirect_uri(platform: Platform) -> bool:
    """Redirect URIs "can be left empty" only for machine-to-machine apps (documents)."""
    return platform is not Platform.API_SERVICES
