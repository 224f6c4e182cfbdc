"""Our OAuth2Error subclasses and the fatal/redirectable split (STYLE §6)."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidClientError, OAuth2Error

# The protection space named in every WWW-Authenticate challenge: Basic at the protocol
# endpoints, Bearer at the API and the admin API.
REALM = "ninja-oauth"


class ClientAuthError(InvalidClientError):  # type: ignore[misc]
    """invalid_client whose 401 challenge names its realm: RFC 7617 §2 makes ``realm``
    required in a Basic challenge, which Authlib's own leaves out."""

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = OAuth2Error.get_headers(self)
        if self.status_code == 401:
            # Authlib's escaping of a quote in the description, kept.
            description = self.get_error_description().replace('"', "|")
            headers.append(
                (
                    "WWW-Authenticate",
                    f'Basic realm="{REALM}", error="{self.error}", '
                    f'error_description="{description}"',
                )
            )
        return headers


class FatalAuthorizeError(OAuth2Error):  # type: ignore[misc]
    """An authorize error that must never be redirected: unknown client, unregistered
    redirect_uri, wrong client_secret. Per RFC 6749 §4.1.2.1 the server "SHOULD inform the
    resource owner of the error and MUST NOT automatically redirect the user-agent"."""

    status_code = 400

    def __init__(self, error: str, description: str, retry_after: int | None = None) -> None:
        super().__init__(description=description)
        self.error = error
        self.retry_after = retry_after


class TooManyRequestsError(OAuth2Error):  # type: ignore[misc]
    """Too many failed authentications from one key: the caller must wait (DESIGN §6)."""

    error = "slow_down"
    status_code = 429

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(
            description=description
            or "Too many failed authentication attempts; retry after the delay in Retry-After."
        )
        self.retry_after = max(1, retry_after)

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        headers.append(("Retry-After", str(self.retry_after)))
        return headers


class StrictProfileError(OAuth2Error):  # type: ignore[misc]
    """A request the strict profile refuses (``profiles.py``): its RFC 6749 error code, and a
    description naming the profile and the fix."""

    def __init__(self, error: str, description: str, redirect_uri: str | None = None) -> None:
        super().__init__(description=description, redirect_uri=redirect_uri)
        self.error = error
