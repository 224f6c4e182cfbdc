"""Client ids, secrets, tokens and codes: generation, keyed digests and constant-time checks.

Client secrets and tokens are 256-bit random values, so a keyed SHA-256 (HMAC) is as strong as a
slow password hash against a stolen database, and costs microseconds instead of the tens of
milliseconds that would cap the token endpoint at a few requests per second (issue 3, item 3).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import time

_TIME_DIGITS = 14
_TIMED_LENGTH = _TIME_DIGITS + 43  # the time, then token_urlsafe(32)
_HEX = re.compile("[0-9a-f]+")


def new_client_id() -> str:
    """192 random bits, URL-safe. Never starting with "-": the id is an argument of the
    commands (``apps show CLIENT_ID``), where it would be read as an option (one id in 64)."""
    while (client_id := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return client_id


def new_secret() -> str:
    """A 256-bit client secret, token or code."""
    return secrets.token_urlsafe(32)


def new_access_token() -> str:
    """An access token: 256 random bits (base64url), after the time of issue in microseconds
    (14 hex digits). The time is not a secret (the response's expires_in says as much); leading
    with it puts each new token's key at the end of its index (SecretHasher.access_key)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_urlsafe(32)}"


def new_grant_id() -> str:
    """A grant (token family) id: not a secret, so it leads with the time in microseconds and
    ends in 64 random bits. New ids then land at the end of their index instead of on a random
    page, which roughly halves the page writes of each token insert on SQLite."""
    return f"{time.time_ns() // 1000:016x}{secrets.token_hex(8)}"


class SecretHasher:
    """Keyed digests of every secret the store keeps (the key is NINJA_OAUTH_SECRET_KEY)."""

    __slots__ = ("_key", "_keyed")

    def __init__(self, key: bytes) -> None:
        self._key = key
        # Per purpose, an HMAC that has taken in the key and the purpose label: a digest copies
        # it and adds the value (the same HMAC as of the whole message), which spares OpenSSL
        # the key schedule and the algorithm lookup that hmac.digest pays on every call.
        self._keyed: dict[str, hmac.HMAC] = {}

    def __repr__(self) -> str:
        return "SecretHasher(<key hidden>)"

    def digest(self, value: str, purpose: str = "") -> str:
        # The purpose label keeps a client secret's digest from ever matching a token's.
        keyed = self._keyed.get(purpose)
        if keyed is None:
            keyed = self._keyed[purpose] = hmac.new(self._key, (purpose + ":").encode(), "sha256")
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    def access_key(self, token: str) -> str:
        """What the store keeps and looks up for an access token. A token from
        ``new_access_token`` keeps its time of issue in front of its digest (cut to 200 bits,
        within the column's 64 characters), so new keys land at the end of the index rather
        than on a random page: on SQLite that halves the pages each token insert writes and
        leaves the checkpoints little to copy. Any other string (a token issued before this
        format, or a forgery) is looked up by its plain digest, and a forged time only leads
        to a key that matches nothing."""
        head = token[:_TIME_DIGITS]
        if len(token) == _TIMED_LENGTH and _HEX.fullmatch(head):
            return head + self.digest(token, ACCESS_TOKEN)[: 64 - _TIME_DIGITS]
        return self.digest(token, ACCESS_TOKEN)

    def verify(self, value: str, expected_digest: str | None, purpose: str = "") -> bool:
        if expected_digest is None:
            return False
        return hmac.compare_digest(self.digest(value, purpose), expected_digest)

    def subkey(self, purpose: str) -> bytes:
        """A 256-bit key for one ``purpose``, derived from this key (HMAC-SHA256 of a key that
        is itself uniformly random: HKDF's expand step), for what the core does not do itself
        (sealing webhook header values, ninja_oauth/sealed.py)."""
        return hmac.digest(self._key, b"subkey:" + purpose.encode(), "sha256")

    def derive(self, label: str) -> str:
        """A stable secret derived from the key (the demo credentials, DESIGN §6)."""
        raw = hmac.digest(self._key, b"derive:" + label.encode(), "sha256")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Purposes, so digests of different kinds never collide.
CLIENT_SECRET = "client_secret"
ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
CODE = "code"
