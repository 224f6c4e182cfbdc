"""Throttling of failed client authentications and logins, counted in the store (DESIGN §6).

Keys: (client_id or account, address) with the lower limit, and address alone with the higher,
so an attack on one app does not lock out other apps behind the same address.

A client that proves its secret from an address is not blocked by other callers' failures there
(a shared NAT, a proxy): the (client, address) pair then holds a *pass* that exempts it from the
address's block, never from its own (client, address) block. A caller spraying guesses over many
client ids holds no pass for any of them, so the address block still stops it.

Why a pass earned earlier rather than checking the secret of each blocked request and letting a
correct one through: the answer would then tell a blocked guesser whether a guess was right (a
token against a 429), so the address block would no longer limit the guessing at all, only
change its error code. A pass is read before the secret is checked and is earned only by an
earlier success, so being blocked or not says nothing about the secret being tried; the one
thing a guesser behind the same address can learn is that the app it names has been used from
there lately, and its guesses at that app are still limited by the (client, address) block.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from dataclasses import dataclass

from ninja_oauth.oauth.config import ThrottleLimits
from ninja_oauth.oauth.ports import ClientBlocks, Counted, ThrottleRepository

# How long a pass lasts after the client last proved its secret from the address: longer than a
# client that asks for an hour-long token once an hour, or a daily job, waits between requests.
# It is renewed by a success a day or more after it was earned: at most one write per (client,
# address) and day, and none at all on the other successes.
PASS_FOR = 7 * 24 * 3600
PASS_RENEWED_AFTER = 24 * 3600


@functools.lru_cache(maxsize=4096)
def limited_address(address: str) -> str:
    """The address as the limits count it (throttling, pending sign-ins): IPv4 as is, IPv6 by
    its /64, the block one subscriber gets, so rotating addresses inside it does not escape.
    The audit log keeps the address itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def _key(kind: str, *parts: str, address: str) -> str:
    """A fixed-length key: whatever a caller sends as client_id or email (any length, any
    character) fits the column, and no account name is stored in clear. The address counts
    as the limits see it (``limited_address``: an IPv6 one by its /64)."""
    text = "\x1f".join((*parts, limited_address(address)))
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    return f"{kind}:{digest[:40]}"


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A counted sign-in attempt: seconds to wait (0: check its password), and its count at
    the address (for ``login_succeeded``)."""

    wait: int
    address: Counted | None = None


class Throttle:
    def __init__(self, repo: ThrottleRepository, limits: ThrottleLimits) -> None:
        self._repo = repo
        self._limits = limits

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def client_keys(client_id: str | None, address: str) -> tuple[str, str]:
        # Two digests on every token request, the same ones for a client calling again: kept
        # for the most recent (client, address) pairs.
        by_client = _key("client", client_id or "-", address=address)
        return by_client, _key("client-addr", address=address)

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def pass_key(client_id: str | None, address: str) -> str:
        return _key("client-pass", client_id or "-", address=address)

    @staticmethod
    def login_keys(email: str, address: str) -> tuple[str, str]:
        by_account = _key("login", email.strip().lower(), address=address)
        return by_account, _key("login-addr", address=address)

    def wait(self, keys: tuple[str, str], now: int) -> int:
        """Seconds the caller must wait before trying again (0: go ahead)."""
        return self._repo.blocked_for(list(keys), now)

    def client_blocks(self, keys: tuple[str, str], pass_key: str) -> ClientBlocks:
        return self._repo.client_blocks(keys, pass_key)

    @staticmethod
    def client_wait(blocks: ClientBlocks, now: int) -> int:
        """Seconds a client authentication must wait (0: go ahead): the (client, address) block
        always applies; the address's block unless the pair holds a pass."""
        until = blocks.key_until
        if blocks.pass_until <= now:
            until = max(until, blocks.address_until)
        return max(0, until - now)

    def client_passed(self, pass_key: str, blocks: ClientBlocks, now: int) -> None:
        """The client proved its secret from this address: grant the pair a pass, or renew it
        when it was earned a day or more ago."""
        if blocks.passed_at <= now - PASS_RENEWED_AFTER:
            self._repo.grant_pass(pass_key, now, now + PASS_FOR)

    def client_failed(self, keys: tuple[str, str], now: int) -> None:
        lim = self._limits
        self._repo.record_failure(keys[0], lim.client_auth_key, lim.window, lim.block, now)
        self._repo.record_failure(keys[1], lim.client_auth_address, lim.window, lim.block, now)

    def login_attempt(self, keys: tuple[str, str], now: int) -> LoginAttempt:
        """Count a login attempt before the password is checked, so concurrent guesses cannot
        all pass a check made before any of them is counted; its ``wait`` is the seconds to
        wait (0: check the password). A successful login is forgiven by ``login_succeeded``.

        An attempt is checked when no block is in force as it is counted, whatever the count:
        the first attempt once a block is over is checked (its failure doubles the next block,
        as the count carries on), and an attempt that a concurrent one's block overtook is
        not."""
        wait = self.wait(keys, now)
        if wait:
            return LoginAttempt(wait)
        lim = self._limits
        per_key = self._repo.record_attempt(keys[0], lim.login_key, lim.window, lim.block, now)
        per_address = self._repo.record_attempt(
            keys[1], lim.login_address, lim.window, lim.block, now
        )
        if per_key.blocked_before > now or per_address.blocked_before > now:
            return LoginAttempt(max(1, self.wait(keys, now)))
        return LoginAttempt(0, per_address)

    def login_succeeded(self, keys: tuple[str, str], attempt: LoginAttempt) -> None:
        """The account's count is forgotten; the address's takes the attempt back, with the
        block it set (others at the address sign in as before)."""
        self._repo.forget(keys[0])
        self._repo.forgive_one(keys[1], attempt.address)
