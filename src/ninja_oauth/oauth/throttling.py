"""Throttling of failed client authentications and logins, counted in the store (DESIGN §6).

Keys: (client_id or account, address) with the lower limit, and address alone with the higher,
so an attack on one app does not lock out other apps behind the same address.
"""

from __future__ import annotations

from ninja_oauth.oauth.config import ThrottleLimits
from ninja_oauth.oauth.ports import ThrottleRepository


class Throttle:
    def __init__(self, repo: ThrottleRepository, limits: ThrottleLimits) -> None:
        self._repo = repo
        self._limits = limits

    @staticmethod
    def client_keys(client_id: str | None, address: str) -> tuple[str, str]:
        return f"client:{client_id or '-'}|{address}", f"client-addr:{address}"

    @staticmethod
    def login_keys(email: str, address: str) -> tuple[str, str]:
        return f"login:{email.strip().lower()}|{address}", f"login-addr:{address}"

    def wait(self, keys: tuple[str, str], now: int) -> int:
        """Seconds the caller must wait before trying again (0: go ahead)."""
        return self._repo.blocked_for(list(keys), now)

    def client_failed(self, keys: tuple[str, str], now: int) -> None:
        lim = self._limits
        self._repo.record_failure(keys[0], lim.client_auth_key, lim.window, lim.block, now)
        self._repo.record_failure(keys[1], lim.client_auth_address, lim.window, lim.block, now)

    def login_failed(self, keys: tuple[str, str], now: int) -> None:
        lim = self._limits
        self._repo.record_failure(keys[0], lim.login_key, lim.window, lim.block, now)
        self._repo.record_failure(keys[1], lim.login_address, lim.window, lim.block, now)
