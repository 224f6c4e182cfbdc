"""PKCE (RFC 7636) verifier and S256 challenge, and the `state` value (RFC 6749 §10.12)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


def generate_code_verifier() -> str:
    """A fresh 43-character verifier.

    RFC 7636 §7.1: "a 32-octet sequence ... base64url-encoded to produce a 43-octet URL safe
    string to use as the code verifier".
    """
    return secrets.token_urlsafe(32)


def code_challenge_s256(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_state() -> str:
    """An unguessable `state` binding the callback to this client's request."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, repr=False)
class PKCE:
    """A verifier and its S256 challenge; `plain` is never used (RFC 9700 §2.1.1)."""

    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls) -> PKCE:
        verifier = generate_code_verifier()
        return cls(verifier=verifier, challenge=code_challenge_s256(verifier))

    def __repr__(self) -> str:
        return f"PKCE(challenge={self.challenge!r}, method={self.method!r})"
