"""Bounds on what an anonymous caller can make the server keep (README, "Limits"), as small
value objects that ``settings.py`` fills and the store and web layers receive."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class PendingLimits:
    """Sign-in requests waiting for login or consent: kept per browser and per address (older
    ones are dropped), and the largest one kept (bytes of its parameters)."""

    per_browser: int = 10
    per_address: int = 100
    max_bytes: int = 8192
