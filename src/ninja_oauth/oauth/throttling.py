"""Throttling of failed client authentications and logins, counted in the store (DESIGN §6).

Keys: (client_id or account, address) with the lower limit, and address alone with the higher,
so an attack on one app does not lock out other apps behind the same address.
"""

from __future__ import annotations

import functools
import hashlib

from ninja_oauth.oauth.config import ThrottleLimits
from ninja_oauth.oauth.ports import ThrottleRepository


def _key(kind: str, *parts: str) -> str:
    """A fixed-length key: whatever a caller sends as client_id or email (any length, any
    character) fits the column, and no account name is stored in clear."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return f"{kind}:{digest[:40]}"


class Throttle:
    def __init__(self, repo: ThrottleRepository, limits: ThrottleLimits) -> None:
        self._repo = repo
        self._limits = limits

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def client_keys(client_id: str | None, address: str) -> tuple[str, str]:
        # Two digests on every token request, the same ones for a client calling again: kept
        # for the most recent (client, address) pairs.
        return _key("client", client_id or "-", address), _key("client-addr", address)

    @staticmethod
    def login_keys(email: str, address: str) -> tuple[str, str]:
        return _key("login", email.strip().lower(), address), _key("login-addr", address)

    def wait(self, keys: tuple[str, str], now: int) -> int:
        """Seconds the caller must wait before trying again (0: go ahead)."""
        return self._repo.blocked_for(list(keys), now)

    def client_failed(self, keys: tuple[str, str], now: int) -> None:
        lim = self._limits
        self._repo.record_failure(keys[0], lim.client_auth_key, lim.window, lim.block, now)
        self._repo.record_failure(keys[1], lim.client_auth_address, lim.window, lim.block, now)

    def login_attempt(self, keys: tuple[str, str], now: int) -> int:
        """Count a login attempt before the password is checked, so concurrent guesses cannot
        all pass a check made before any of them is counted; the seconds to wait (0: go on).
        A successful login is forgiven by ``login_succeeded``."""
        wait = self.wait(keys, now)
        if wait:
            return wait
        lim = self._limits
        per_key = self._repo.record_failure(keys[0], lim.login_key, lim.window, lim.block, now)
        per_address = self._repo.record_failure(
            keys[1], lim.login_address, lim.window, lim.block, now
        )
        if per_key > lim.login_key or per_address > lim.login_address:
            return max(1, self.wait(keys, now))
        return 0

    def login_succeeded(self, keys: tuple[str, str]) -> None:
        self._repo.forget(keys[0])
        self._repo.forgive_one(keys[1])
