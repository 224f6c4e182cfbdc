"""Sealed values: the few secrets the server must read back rather than only check.

A webhook's custom header values are sent to its receiver, so unlike client secrets and tokens
(kept as keyed digests) they cannot be one-way; sealing them keeps a copy of the database from
giving them away. AES-256-GCM (the ``cryptography`` package, which Authlib already uses) under
a key derived from NINJA_OAUTH_SECRET_KEY for one purpose (``SecretHasher.subkey``), with a
random nonce per value. ``context`` (what the value belongs to) is authenticated, so a sealed
value copied to another row does not open. A new secret key leaves every sealed value
unreadable, as it leaves every digest unmatched.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The purpose (subkey) of webhooks' custom header values.
WEBHOOK_HEADERS = "webhook_headers"

_PREFIX = "v1."
_NONCE = 12


class SecretBox:
    """Seals and opens values under one 256-bit key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, value: str, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, value.encode(), context.encode())
        return _PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, sealed: str, context: str) -> str:
        """The value ``seal`` was given; ValueError if ``sealed`` was not sealed under this key
        and context (the key changed, the row was altered)."""
        try:
            if not sealed.startswith(_PREFIX):
                raise ValueError
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX) :] + "==")
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (ValueError, InvalidTag, binascii.Error):
            raise ValueError("not sealed under this secret key") from None
