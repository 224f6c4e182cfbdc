"""NinjaOne regions and the OAuth endpoint URLs of a server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class Region(StrEnum):
    """The NinjaOne regions the documents name: `https://{region}.ninjarmm.com`."""

    APP = "app"
    EU = "eu"
    OC = "oc"
    CA = "ca"
    US2 = "us2"

    @property
    def base_url(self) -> str:
        return f"https://{self.value}.ninjarmm.com"


def parse_region(value: Region | str) -> Region:
    """`Region` from its name (`eu`, `EU`); `ValueError` naming the choices otherwise."""
    try:
        return Region(value.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Region)
        raise ValueError(f"unknown region {value!r}: choose one of {choices}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(name: str, url: str, *, allow_insecure_http: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Not echoed: a user:password@ part is a secret, and the client's credentials go in
        # the requests, never in the URL.
        raise ValueError(f"{name} must not carry user:password@ credentials")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {url!r}")
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not 0-65535)
    except ValueError:
        # Without this, 99999 would reach the resolver, which takes it modulo 65536: the
        # client secret would go to whatever listens on port 34463.
        raise ValueError(f"{name} has an invalid port: {url!r}") from None
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must not have a query or fragment")
    # RFC 6749 §3.2: the token endpoint MUST use TLS. Plain http only for this machine.
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ValueError(f"{name} must use https (plain http is allowed only on loopback hosts)")
    return url


@dataclass(frozen=True)
class Endpoints:
    """Where a server's API and OAuth endpoints live."""

    base_url: str
    token_url: str
    authorization_url: str
    revocation_url: str

    @property
    def api_base_url(self) -> str:
        # The Public API is served from the region host itself: {base}/v2/...
        return self.base_url

    @classmethod
    def resolve(
        cls,
        *,
        region: Region | str | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        authorization_url: str | None = None,
        revocation_url: str | None = None,
        allow_insecure_http: bool = False,
    ) -> Endpoints:
        """The endpoints of `region` or of `base_url` (exactly one), with NinjaOne's paths."""
        if (region is None) == (base_url is None):
            raise ValueError("give exactly one of region or base_url")
        base = parse_region(region).base_url if region is not None else str(base_url)
        base = _check_url("base_url", base.rstrip("/"), allow_insecure_http=allow_insecure_http)
        urls = {
            "token_url": token_url or f"{base}/ws/oauth/token",
            "authorization_url": authorization_url or f"{base}/ws/oauth/authorize",
            "revocation_url": revocation_url or f"{base}/ws/oauth/revoke",
        }
        for name, url in urls.items():
            _check_url(name, url, allow_insecure_http=allow_insecure_http)
        return cls(base_url=base, **urls)
