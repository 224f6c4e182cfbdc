"""A URL's host and path as a browser reads them before it picks the cookies to send along.

A redirect URI is compared with the registered ones exactly (RFC 6749 §3.1.2.3), but where the
browser then goes, and which cookies go with it, follows the WHATWG URL Standard: dot-segments
are resolved (``%2e`` counts as a dot, ``\\`` as a slash in http and https URLs), percent-escapes
in the host are decoded, an IPv4 address may be written as one number or in hex, and a final dot
names the same host. The sign-in cookies' guard (web/authorize.py) and the registration rules
(registry.py) read URIs this way. No library exposes the browser's reading: the standard
library gives RFC 3986's dot-segment removal (``urljoin``) and BSD's IPv4 forms (``inet_aton``),
which are the parts used here.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import unquote, urljoin, urlsplit

_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)
# Only such hosts may be IPv4 addresses in another spelling ("2130706433", "0x7f.1", "127.1").
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


def resolved_path(path: str) -> str:
    """``path`` with its dot-segments removed as a browser removes them."""
    path = _ENCODED_DOT.sub(".", path.replace("\\", "/")) or "/"
    return urlsplit(urljoin("http://host/", path)).path


def has_dot_segments(path: str) -> bool:
    """Whether ``path`` holds a ``.`` or ``..`` segment (``%2e`` read as a dot)."""
    segments = _ENCODED_DOT.sub(".", path.replace("\\", "/")).split("/")
    return any(segment in (".", "..") for segment in segments)


def host(hostname: str) -> str:
    """``hostname`` (as ``urlsplit`` gives it: lower case, no brackets) as the browser's cookie
    jar sees it: unescaped, without a final dot, an IPv4 address in dotted-decimal form."""
    name = unquote(hostname).lower().rstrip(".")
    if _NUMERIC_HOST.fullmatch(name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:  # not an address (a browser refuses such a URL altogether)
            return name
    return name
