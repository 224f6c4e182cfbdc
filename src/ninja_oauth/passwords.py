"""User passwords: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).

argon2-cffi's defaults (RFC 9106's first recommendation) take 64 MiB per check: thirty failed
sign-ins at once took a server from 110 MB to 1.39 GB (issue 12, finding 7). OWASP's
Password Storage Cheat Sheet gives m = 19 MiB, t = 2, p = 1 as an equivalent-strength choice
that trades memory for passes; the web layer also bounds how many checks run at once
(``NINJA_OAUTH_PASSWORD_HASH_CONCURRENCY``). Hashes made with other parameters still verify
(the parameters are in the hash) and are re-hashed at the next successful sign-in.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MEMORY_KIB = 19 * 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=MEMORY_KIB, parallelism=1, type=Type.ID)


@cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so both answers take the same time."""
    return _hasher.hash("ninja-oauth: no such account")


MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for a hash made with other parameters than today's (re-hash it at sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
