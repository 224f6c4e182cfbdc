"""A fully read OAuth request: what the core is handed, whatever the web framework.

Authlib's OAuth2Request leaves ``args``, ``form`` and ``payload`` to framework integrations and
reads them synchronously; the web layer awaits the body first and builds one of these (STYLE §2).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError

# What OAuth2Request.__init__ is given as its URI: an https one passes its transport check at
# once; the real URI's check is made per origin (below) and the real URI then set.
_CHECKED = "https://checked.invalid/"


@functools.lru_cache(maxsize=64)
def _check_origin(origin: str) -> None:
    """Authlib's transport check (https, or http on loopback) of a scheme://host[:port]. It
    depends on nothing else, and Authlib would parse the whole URI again on every request."""
    InsecureTransportError.check(origin + "/")


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        # The first value of each parameter; repeats are refused by Authlib's checks.
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class ReadRequest(OAuth2Request):  # type: ignore[misc]
    """Query arguments, form body and headers, all already read."""

    # Set by the grants that continue a token family (code redemption, refresh); read by
    # token_row. Declared so that reading an unset one is a plain lookup, not an exception.
    grant_id: str | None = None
    refresh_scope: str | None = None
    # The client_id the request claims and its app, as read before authenticating it.
    claimed_app: tuple[str | None, Any] | None = None
    # The client's address, for the audit log (set by the endpoint).
    address: str | None = None
    # The token row the request issued, counted once committed (server.count_issued).
    issued_token: Any = None

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str] | Any,
        args: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        scheme, _, rest = uri.partition("://")
        _check_origin(scheme + "://" + rest.partition("/")[0])
        super().__init__(method=method, uri=_CHECKED, headers=headers)
        self.uri = uri
        self._args = dict(args)
        self._form = dict(form)
        # RFC 6749 §3.2: token-endpoint parameters travel in the body; the query of a POST is
        # kept only so that credentials sent there can be refused (§2.3.1).
        self.payload = _Payload(form if method == "POST" else args)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form
