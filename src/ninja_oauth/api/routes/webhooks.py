"""The calling app's webhook: PUT and DELETE /v2/webhook (scope: management; issue 14).

One webhook per app. Every activity the API records afterwards that the webhook's filter
takes is POSTed to its URL by the delivery worker (``web/webhook_delivery.py``), with the
app's custom headers, which are never shown or logged.

Where a webhook may point (``WebhookTargets``): a request the server sends for a client is a
server-side request forgery waiting to happen, so the URL must be http(s) on a loopback host or
on a host the operator listed (``NINJA_OAUTH_WEBHOOK_ALLOWED_HOSTS``), and never a link-local
or cloud metadata address, listed or not. The worker checks the resolved addresses again at
each delivery: a name's DNS answer can change after registration.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection
from starlette.requests import Request

from ninja_oauth.api.bodies import Id
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import BearerError, invalid_field
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.schemas import ApiModel
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.sealed import SecretBox
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import webhooks as webhook_sql

writes = APIRouter(tags=["webhooks"], route_class=GuardedRoute)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# -- where a webhook may point -----------------------------------------------------------------

SETTING = "NINJA_OAUTH_WEBHOOK_ALLOWED_HOSTS"
_LOOPBACK_NAMES = frozenset({"localhost"})
# Cloud instance metadata services: they hand out the host's credentials to whoever asks.
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack...
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure's wire server
        "192.0.0.192",  # Oracle Cloud
    )
)
# inet_aton's other IPv4 spellings (2852039166, 0xa9.0xfe.0xa9.0xfe, 0251.254.169.254), which
# resolvers accept and ipaddress does not.
_IPV4_OTHER = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")


def normalize_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling a resolver accepts; else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _IPV4_OTHER.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _unwrapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 (2002::/16) or NAT64 (64:ff9b::/96) address reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def never_allowed(address: IPAddress) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10), unspecified (0.0.0.0, ::) and cloud metadata
    addresses, also when reached through an IPv4-mapped, 6to4 or NAT64 address."""
    plain = _unwrapped(address)
    embedded = _embedded_ipv4(plain)
    if embedded is not None and never_allowed(embedded):
        return True
    return (
        plain.is_link_local
        or plain.is_unspecified
        or plain in METADATA_ADDRESSES
        or address in METADATA_ADDRESSES
    )


def _internal(address: IPAddress) -> bool:
    """An address inside a private network (or reserved): a listed *name* resolving to one is
    refused unless the operator listed that address itself (DNS can be made to answer it)."""
    plain = _unwrapped(address)
    embedded = _embedded_ipv4(plain)
    if embedded is not None:
        plain = embedded
    return plain.is_private or plain.is_reserved or plain.is_multicast or plain.is_loopback


def is_loopback(address: IPAddress) -> bool:
    return _unwrapped(address).is_loopback


@dataclass(frozen=True)
class WebhookTargets:
    """Where webhooks may point: loopback, plus the operator's ``allowed_hosts`` (names or
    addresses), never link-local or metadata addresses."""

    allowed_hosts: frozenset[str] = frozenset()
    # NINJA_OAUTH_WEBHOOK_ALLOW_LOOPBACK: loopback targets (local development); turn it off
    # where other services listen on the server's own loopback.
    allow_loopback: bool = True

    @classmethod
    def of(
        cls, hosts: list[str] | tuple[str, ...] | frozenset[str], allow_loopback: bool = True
    ) -> WebhookTargets:
        return cls(frozenset(normalize_host(h) for h in hosts if h.strip()), allow_loopback)

    def listed(self, host: str) -> bool:
        return normalize_host(host) in self.allowed_hosts

    def url_refusal(self, url: str) -> str | None:
        """Why ``url`` may not be a webhook (the problem, for a 400 naming ``url``), or None."""
        # Parsed by httpx, as the worker parses it to send the request: one reading of it.
        # Imported here, as the worker imports it: a server that has no webhooks never loads it.
        import httpx

        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            return "not a valid URL"
        if parsed.scheme not in ("http", "https"):
            return "must be an http or https URL"
        host = normalize_host(parsed.host)
        if not host:
            return "must name a host"
        if parsed.port is not None and not 0 < parsed.port < 65536:
            return "the port must be between 1 and 65535"
        if parsed.userinfo:
            return "must not carry a user name or password: send credentials as a custom header"
        if host in METADATA_NAMES:
            return f"{host} is a cloud metadata service: never allowed"
        literal = ip_literal(host)
        if literal is not None:
            if never_allowed(literal):
                return f"{literal} is a link-local or cloud metadata address: never allowed"
            if (is_loopback(literal) and self.allow_loopback) or host in self.allowed_hosts:
                return None
            if str(literal) in self.allowed_hosts:
                return None
        elif (host in _LOOPBACK_NAMES and self.allow_loopback) or host in self.allowed_hosts:
            return None
        return (
            f"host {host} is not {'loopback and not ' if self.allow_loopback else ''}in {SETTING}"
        )

    def addresses_refusal(self, host: str, addresses: list[IPAddress]) -> str | None:
        """At delivery: why the host's resolved ``addresses`` may not be called, or None."""
        if not addresses:
            return "the host has no address"
        for address in addresses:
            if never_allowed(address):
                return f"{address} is a link-local or cloud metadata address"
        if self.listed(host) and ip_literal(host) is None:
            # A listed name: its addresses must be public ones, or listed themselves (or
            # loopback, where loopback is allowed): whoever controls its DNS chooses them.
            for address in addresses:
                own = str(_unwrapped(address)) in self.allowed_hosts
                loopback = is_loopback(address) and self.allow_loopback
                if _internal(address) and not (own or loopback):
                    return f"{host} resolves to the internal address {address}: list it too"
            return None
        if self.listed(host):
            return None
        for address in addresses:
            if not (is_loopback(address) and self.allow_loopback):
                return f"{address} is not an allowed address and the host is not in {SETTING}"
        return None


async def get_targets(request: Request) -> WebhookTargets:
    targets: WebhookTargets = request.app.state.webhook_targets
    return targets


TargetsDep = Annotated[WebhookTargets, Depends(get_targets)]

# -- the request body ----------------------------------------------------------------------------

_TOKEN = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"  # RFC 9110 §5.6.2: a header field name
# Set by the server on every delivery (or by HTTP itself): an app's header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "host", "content-length", "content-type", "transfer-encoding", "connection",
        "keep-alive", "te", "trailer", "upgrade", "expect", "proxy-authorization",
        "proxy-connection",
    }
)  # fmt: skip


def _header_name(name: str) -> str:
    if name.lower() in RESERVED_HEADERS:
        raise PydanticCustomError("reserved_header", "{name} is set by the server", {"name": name})
    return name


def _header_value(value: str) -> str:
    # Checked without quoting the value in the error: it is often a secret.
    if not all(c == "\t" or " " <= c <= "~" for c in value):
        raise PydanticCustomError(
            "header_value", "must be printable ASCII, without line breaks or control characters"
        )
    return value


class HTTPHeader(ApiModel):
    """The spec's HTTPHeader: a custom header sent with every delivery (i.e. Authorization)."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=100, pattern=_TOKEN),
        AfterValidator(_header_name),
    ]
    value: Annotated[str, StringConstraints(max_length=4000), AfterValidator(_header_value)]

    def __repr__(self) -> str:  # the value is a credential more often than not
        return f"HTTPHeader(name={self.name!r}, value='***')"


_Code = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_*]+$")]


class WebhookConfiguration(ApiModel):
    """The spec's WebhookConfiguration. ``activities`` maps an activity type to the status
    codes wanted (an empty list or "*": all of that type); absent or empty, every activity."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    activities: Annotated[
        dict[_Code, Annotated[list[_Code], Field(max_length=200)]] | None, Field(max_length=100)
    ] = None
    expand: Annotated[list[_Code], Field(max_length=20)] = []
    headers: Annotated[list[HTTPHeader], Field(max_length=20)] = []
    organization_ids: Annotated[list[Id] | None, Field(max_length=1000)] = None


# -- the operations --------------------------------------------------------------------------------


class AdminOnly(BearerError):
    """The spec's 403 on PUT /v2/webhook (only system administrators configure webhooks; the
    app must have monitoring), answered as RFC 6750 §3.1 answers a token that does not enable
    the request: ``insufficient_scope``, with WWW-Authenticate."""

    def __init__(self, description: str) -> None:
        super().__init__(403, "insufficient_scope", description)
        self.args = (description,)


def header_context(client_id: str, name: str) -> str:
    """What a sealed header value belongs to: it opens only on its app's row, under its name."""
    return f"{client_id}\n{name.lower()}"


def configure(store: Store, body: WebhookConfiguration, who: AccessGrant, box: SecretBox) -> None:
    with store.transaction() as conn:
        _check_caller(conn, who)
        if not webhook_sql.app_reads(conn, who.client_id):
            # Deliveries carry the activities GET /v2/activities serves with monitoring.
            raise AdminOnly(
                "Deliveries carry activities, which need the monitoring scope: configure the "
                "app with it first."
            )
        names = [h.name.lower() for h in body.headers]
        if len(set(names)) != len(names):
            raise invalid_field("headers", "a header name is given twice")
        webhook_sql.put_webhook(
            conn,
            who.client_id,
            url=body.url,
            activity_filter={
                "activities": body.activities,
                "organizationIds": sorted(set(body.organization_ids))
                if body.organization_ids is not None
                else None,
                "expand": body.expand,
            },
            headers=[
                {"name": h.name, "value": box.seal(h.value, header_context(who.client_id, h.name))}
                for h in body.headers
            ],
            now=int(time.time()),
        )


def remove(store: Store, who: AccessGrant) -> None:
    with store.transaction() as conn:
        _check_caller(conn, who)
        webhook_sql.delete_webhook(conn, who.client_id)


def _check_caller(conn: Connection, who: AccessGrant) -> None:
    """A user's token acts as the user: an administrator's only. An app's own token
    (client_credentials) is the app's, whose webhook this is."""
    if who.user_id is not None and not webhook_sql.user_is_admin(conn, who.user_id):
        raise AdminOnly("Only system administrators can configure webhooks.")


@writes.put("/v2/webhook", status_code=204, response_class=Response)
async def configure_webhook(
    request: Request,
    store: StoreDep,
    access: ManagementDep,
    targets: TargetsDep,
    body: Annotated[WebhookConfiguration, Body()],
) -> Response:
    """Create or replace the calling app's webhook: activities its filter takes are POSTed to
    `url` as JSON (the items of GET /v2/activities), with the custom `headers` (scope:
    management). The URL must be http(s) on loopback or on a host the operator allowed."""
    problem = targets.url_refusal(body.url)
    if problem is not None:
        raise invalid_field("url", problem)
    box: SecretBox = request.app.state.webhook_headers
    await store.run(partial(configure, store, body, access, box), Writes.CHANGES)
    return Response(status_code=204)


@writes.delete("/v2/webhook", status_code=204, response_class=Response)
async def disable_webhook(store: StoreDep, access: ManagementDep) -> Response:
    """Remove the calling app's webhook; nothing more is delivered to it, including what was
    still waiting (scope: management). Answers 204 when there was none."""
    await store.run(partial(remove, store, access), Writes.CHANGES)
    return Response(status_code=204)
