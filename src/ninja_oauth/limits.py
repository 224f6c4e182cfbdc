"""Bounds on what an anonymous caller can make the server keep (README, "Limits"), as small
value objects that ``settings.py`` fills and the store and web layers receive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingLimits:
    """Sign-in requests waiting for login or consent: kept per browser and per address (older
    ones are dropped), and the largest one kept (bytes of its parameters)."""

    per_browser: int = 10
    per_address: int = 100
    max_bytes: int = 8192
