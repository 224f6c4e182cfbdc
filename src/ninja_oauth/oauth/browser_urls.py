"""A URL's path as a browser reads it before it picks the cookies to send along.

A redirect URI is compared with the registered ones exactly (RFC 6749 §3.1.2.3), but where the
browser then goes, and which cookies go with it, follows the WHATWG URL Standard: dot-segments
are resolved (``%2e`` counts as a dot, ``\\`` as a slash in http and https URLs). The sign-in
cookies' guard (web/authorize.py, which also reads the host as the browser does) and the
registration rules (registry.py) read paths this way, with RFC 3986's dot-segment removal as
the standard library gives it (``urljoin``).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)


def resolved_path(path: str) -> str:
    """``path`` with its dot-segments removed as a browser removes them."""
    path = _ENCODED_DOT.sub(".", path.replace("\\", "/")) or "/"
    return urlsplit(urljoin("http://host/", path)).path


def has_dot_segments(path: str) -> bool:
    """Whether ``path`` holds a ``.`` or ``..`` segment (``%2e`` read as a dot)."""
    segments = _ENCODED_DOT.sub(".", path.replace("\\", "/")).split("/")
    return any(segment in (".", "..") for segment in segments)
