"""A clock for the SDK (`NinjaOAuth(clock=...)`) that moves only when the test says so."""

from __future__ import annotations

import time


class FakeClock:
    """Unix time in seconds, starting at ``at`` (default: now, whole seconds) and moved by
    `advance`. Whole-second starts keep the sums exact, so a test can stand on a boundary."""

    def __init__(self, at: float | None = None) -> None:
        self.now = float(int(time.time())) if at is None else at

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
