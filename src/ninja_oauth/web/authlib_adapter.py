"""Starlette request → Authlib OAuth2Request (fully read), OAuthResponse → Starlette response.

Authlib reads ``request.form`` synchronously, so the body is awaited here first (STYLE §2).
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import unquote_plus, urlencode

from authlib.oauth2.rfc6749 import OAuth2Request
from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.oauth.requests import ReadRequest
from ninja_oauth.oauth.responses import OAuthResponse


def _uri(issuer: str, request: Request, query: str) -> str:
    # Built on the configured issuer, not the Host header: Authlib refuses plain-http URIs
    # that are not loopback (RFC 6749 §3.1 requires TLS), and the issuer is the public name.
    # The path as the app sees it, as Starlette's request.url.path (without building a URL).
    path: str = request.scope["path"]
    return issuer + path + (("?" + query) if query else "")


# A token, revocation or introspection request is a few hundred bytes.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100


class FormTooLarge(Exception):
    """The body of a protocol request holds more than MAX_FORM_FIELDS fields."""


def _form_items(body: bytes) -> list[tuple[str, str]]:
    """The form-urlencoded body, as ``urllib.parse.parse_qsl`` reads it with blank values kept
    and bad escapes replaced (fields split on '&', empty ones skipped, a name without '=' has
    an empty value, '+' is a space, %XX escapes are UTF-8), which reads as Starlette's form
    parser does at a quarter of its cost. By hand for the fields that need no decoding (a token
    request's usually all do not): parse_qsl calls its decoding on each name and value
    regardless, a fifth of this function's cost on the token path. Its size is bounded as it
    is read (``web/bodies.py``); its number of fields here."""
    text = body.decode("latin-1")
    if text.count("&") >= MAX_FORM_FIELDS:  # parse_qsl's count: one field more than '&'s
        raise FormTooLarge
    items = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name = unquote_plus(name, errors="replace")
            value = unquote_plus(value, errors="replace")
        items.append((name, value))
    return items


def oauth_request_of(request: Request, issuer: str, body: bytes = b"") -> ReadRequest:
    """The request as Authlib reads it, with ``body`` (already read) as its form.
    Raises FormTooLarge for a form of too many fields."""
    form = _form_items(body) if body else []
    args: list[tuple[str, str]] = []
    query = ""
    if request.scope["query_string"]:
        args = list(request.query_params.multi_items())
        query = request.scope["query_string"].decode("latin-1")
    return ReadRequest(request.method, _uri(issuer, request, query), request.headers, args, form)


def query_oauth_request(request: Request, issuer: str, params: dict[str, str]) -> OAuth2Request:
    """An authorize request rebuilt from stored parameters (after login or consent)."""
    args = list(params.items())
    return ReadRequest("GET", _uri(issuer, request, urlencode(args)), request.headers, args, [])


def to_starlette(result: OAuthResponse) -> Response:
    response = Response(content=result.body, status_code=result.status)
    # Appended raw (names are distinct, values ASCII): MutableHeaders' item assignment scans
    # and rebuilds the list for each header.
    response.raw_headers.extend(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in result.headers
    )
    return response


@functools.lru_cache(maxsize=4096)
def _normalised(host: str) -> str:
    """One spelling per address: IPv4-mapped IPv6 unwrapped, IPv6 compressed."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The socket peer, or the first untrusted hop of X-Forwarded-For behind trusted proxies:
    the address the audit log records (the limits count it by its /64 if it is IPv6:
    ``oauth.throttling.limited_address``)."""
    return _normalised(_peer(request, trusted_proxies))


def _peer(request: Request, trusted_proxies: list[str]) -> str:
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or peer not in trusted_proxies:
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer
